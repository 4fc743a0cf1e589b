#!/bin/sh
# Every session event carries the Community ID v1 of its flow: computed
# again here, independently of the C code, on every sample and with two
# seeds; a seed out of range is a usage error.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cap in samples/*.pcap; do
	name=$(basename "$cap" .pcap)
	for seed in 0 4242; do
		if ! "$IMAPTRACE" -q -F ndjson --community-id-seed "$seed" "$cap" \
			>"$tmp/out" 2>"$tmp/err"; then
			echo "FAIL $name seed $seed: exit status $? ($(cat "$tmp/err"))"
		elif msg=$(/usr/bin/python3 tests/e2e/community_id.py "$seed" "$tmp/out"); then
			echo "ok $name seed $seed: community_id computed independently"
		else
			echo "FAIL $name seed $seed: $(echo "$msg" | head -n 5)"
		fi
	done
done
for seed in -1 65536 abc ""; do
	"$IMAPTRACE" -q --community-id-seed "$seed" samples/dovecot-curl-login.pcap \
		>/dev/null 2>"$tmp/err"
	st=$?
	if [ "$st" -eq 2 ] && grep -q "community-id-seed" "$tmp/err"; then
		echo "ok bad seed '$seed': usage error"
	else
		echo "FAIL bad seed '$seed': exit status $st, $(cat "$tmp/err")"
	fi
done
