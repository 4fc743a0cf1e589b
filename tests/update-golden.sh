#!/bin/sh
# Rewrites tests/golden/ from the current imaptrace.  Review the diff:
# every change in it is a change of the output contract or a fix.
cd "$(dirname "$0")/.." || exit 2
mkdir -p tests/golden
for cap in samples/*.pcap; do
	./imaptrace -q -F ndjson "$cap" >"tests/golden/$(basename "$cap" .pcap).ndjson"
done
# The TLS samples, each read with its key log (tests/e2e/11-tls.sh).
mkdir -p tests/golden/tls
for cap in samples/tls/*.pcap; do
	name=$(basename "$cap" .pcap)
	./imaptrace -q -F ndjson --tls-ports 10993 -p 10144 --keylog "samples/tls/$name.keylog" \
		"$cap" >"tests/golden/tls/$name.ndjson"
done
# Implicit TLS on a port that is not a --tls-ports one, beside HTTPS.
./imaptrace -q -F ndjson --keylog samples/tls/imaplib-curl-tls13-imaps-https.keylog \
	samples/tls/imaplib-curl-tls13-imaps-https.pcap \
	>tests/golden/tls/imaplib-curl-tls13-imaps-https.otherport.ndjson
# Transaction records are checked on a few samples.
for name in dovecot-pipelining dovecot-imaplib-failures dovecot-idle; do
	./imaptrace -q -F ndjson --transactions "samples/$name.pcap" \
		>"tests/golden/$name.transactions.ndjson"
done
# The ecs format is checked on two samples, events and transactions.
for name in dovecot-imaplib-failures dovecot-pipelining; do
	./imaptrace -q -F ecs "samples/$name.pcap" >"tests/golden/$name.ecs.ndjson"
	./imaptrace -q -F ecs --transactions "samples/$name.pcap" \
		>"tests/golden/$name.transactions.ecs.ndjson"
done
# The text format is checked on one sample.
./imaptrace -q -F text samples/dovecot-imaplib-session.pcap >tests/golden/dovecot-imaplib-session.txt
git diff --stat -- tests/golden
