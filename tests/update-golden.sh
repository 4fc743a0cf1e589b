#!/bin/sh
# Rewrites tests/golden/ from the current imaptrace.  Review the diff:
# every change in it is a change of the output contract or a fix.
cd "$(dirname "$0")/.." || exit 2
mkdir -p tests/golden
for cap in samples/*.pcap; do
	./imaptrace -q -F ndjson "$cap" >"tests/golden/$(basename "$cap" .pcap).ndjson"
done
# The text format is checked on one sample.
./imaptrace -q -F text samples/dovecot-imaplib-session.pcap >tests/golden/dovecot-imaplib-session.txt
git diff --stat -- tests/golden
