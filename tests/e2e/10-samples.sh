#!/bin/sh
# End to end on the real captures in samples/: the output validates
# against the JSON Schema and matches the committed golden NDJSON.  Their
# findings are checked against samples/findings.tsv by 20-findings.sh.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
. tests/helpers/golden.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cap in samples/*.pcap; do
	name=$(basename "$cap" .pcap)
	out="$tmp/$name.ndjson"
	if ! "$IMAPTRACE" -q -F ndjson "$cap" >"$out" 2>"$tmp/err"; then
		echo "FAIL $name: exit status $? ($(cat "$tmp/err"))"
		continue
	fi
	check_output "$name" "$out" "tests/golden/$name.ndjson"
done
