#!/bin/sh
# --threads 2 runs the engine and the output on a second thread; what is
# written must be byte for byte what one thread writes, in every format,
# on every real sample and every crafted capture (broken ones included).
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in samples/*.pcap tests/captures/*.pcap tests/captures/*.pcapng tests/captures/*.gz; do
	[ -f "$f" ] || continue
	for fmt in ndjson json text; do
		"$IMAPTRACE" -q --threads 1 -F "$fmt" "$f" >"$tmp/one" 2>"$tmp/one.err"
		s1=$?
		"$IMAPTRACE" -q --threads 2 -F "$fmt" "$f" >"$tmp/two" 2>"$tmp/two.err"
		s2=$?
		if [ "$s1" = "$s2" ] && cmp -s "$tmp/one" "$tmp/two" &&
		   cmp -s "$tmp/one.err" "$tmp/two.err"; then
			echo "ok threads $(basename "$f") $fmt: same output, exit $s1"
		else
			echo "FAIL threads $(basename "$f") $fmt: exit $s1 vs $s2"
			diff "$tmp/one" "$tmp/two" | head -n 5
		fi
	done
done
# Several files read as one, and the summary selection.
"$IMAPTRACE" -q --threads 1 --summary -F ndjson samples/dovecot-idle.pcap samples/dovecot-pipelining.pcap >"$tmp/one"
"$IMAPTRACE" -q --threads 2 --summary -F ndjson samples/dovecot-idle.pcap samples/dovecot-pipelining.pcap >"$tmp/two"
if cmp -s "$tmp/one" "$tmp/two"; then
	echo "ok threads two files --summary: same output"
else
	echo "FAIL threads two files --summary"
fi
"$IMAPTRACE" --threads 3 samples/dovecot-idle.pcap >/dev/null 2>&1
[ $? = 2 ] && echo "ok threads --threads 3 is usage" || echo "FAIL threads --threads 3 is usage"
