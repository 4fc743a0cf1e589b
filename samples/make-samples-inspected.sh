#!/bin/bash
# The capture a TLS-inspecting appliance gives of a STARTTLS session:
#
#   sudo samples/make-samples-inspected.sh   # writes samples/dovecot-inspected-starttls.pcap
#
# Starts the private Dovecot of lib.sh on $PORT (default 10146), and
# clients/inspected.py: an appliance in two halves on loopback (the client
# does STARTTLS with its front on $FRONT_PORT, its back does STARTTLS with
# Dovecot) joined by a plaintext leg on $LEG_PORT (default 10143, one of
# the sample ports tshark is told are IMAP), where the session is
# plaintext after the STARTTLS OK.  tcpdump captures that leg only.
# Environment as make-samples.sh (OUT, KEEP_LOGS), plus LEG_PORT and
# FRONT_PORT.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-10146}
LEG_PORT=${LEG_PORT:-10143}
FRONT_PORT=${FRONT_PORT:-10147}
. "$HERE/lib.sh"

seed() { dovecot_seed; }
dovecot_instance imaptrace-inspected

export LEG_PORT FRONT_PORT APPLIANCE_CERT="$WORK/cert.pem" APPLIANCE_KEY="$WORK/key.pem"
# capture filters on $PORT: here, the leg.
PORT=$LEG_PORT capture dovecot-inspected-starttls.pcap $PY inspected.py
log "done: $OUT/dovecot-inspected-starttls.pcap"
