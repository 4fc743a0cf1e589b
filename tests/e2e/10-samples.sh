#!/bin/sh
# End to end on the real captures in samples/: the output validates
# against the JSON Schema and matches the committed golden NDJSON.  Their
# findings are checked against samples/findings.tsv by 20-findings.sh.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cap in samples/*.pcap; do
	name=$(basename "$cap" .pcap)
	out="$tmp/$name.ndjson"
	if ! "$IMAPTRACE" -q -F ndjson "$cap" >"$out" 2>"$tmp/err"; then
		echo "FAIL $name: exit status $? ($(cat "$tmp/err"))"
		continue
	fi
	if msg=$(/usr/bin/python3 tests/e2e/validate.py "$out"); then
		echo "ok $name: schema"
	else
		echo "FAIL $name: $msg"
	fi
	golden="tests/golden/$name.ndjson"
	if [ ! -f "$golden" ]; then
		echo "FAIL $name: no golden output (run tests/update-golden.sh)"
	elif cmp -s "$golden" "$out"; then
		echo "ok $name: matches golden output"
	else
		echo "FAIL $name: differs from $golden:"
		diff "$golden" "$out" | head -n 10
	fi
done
