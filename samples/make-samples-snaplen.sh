#!/bin/bash
# A capture taken with a small snapshot length, as capture appliances and
# `tcpdump -s 128` make them:
#
#   sudo samples/make-samples-snaplen.sh    # writes samples/dovecot-snaplen-128.pcap
#
# Starts the private Dovecot of lib.sh on $PORT (default 10143) and runs the
# imaplib session of make-samples.sh (clients/imaplib_session.py) while
# tcpdump keeps the first 128 bytes of each packet (Ethernet, IP and TCP
# headers included: about 60 bytes of IMAP).  Every packet longer than that
# is cut; imaptrace reports truncated-packet and pairs each command whose
# tagged result starts inside the kept bytes.  Environment as
# make-samples.sh (OUT, KEEP_LOGS, PORT).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-10143}
SNAPLEN=128
. "$HERE/lib.sh"

seed() { dovecot_seed; }
dovecot_instance imaptrace-snaplen

capture dovecot-snaplen-128.pcap $PY imaplib_session.py
log "done: $OUT/dovecot-snaplen-128.pcap"
