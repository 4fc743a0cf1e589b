#!/bin/sh
# Rewrites tests/golden/ from the current imaptrace.  Review the diff:
# every change in it is a change of the output contract or a fix.
cd "$(dirname "$0")/.." || exit 2
mkdir -p tests/golden
for cap in samples/*.pcap; do
	./imaptrace -q -F ndjson "$cap" >"tests/golden/$(basename "$cap" .pcap).ndjson"
done
git diff --stat -- tests/golden
