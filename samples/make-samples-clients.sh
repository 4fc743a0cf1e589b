#!/bin/bash
# Dovecot captures with more real clients (fetchmail, offlineimap), kept out
# of make-samples.sh so that its captures (which have golden outputs) stay
# exactly as they are.
#
#   sudo samples/make-samples-clients.sh     # writes samples/dovecot-{fetchmail,offlineimap}.pcap
#   OUT=/some/dir sudo -E samples/make-samples-clients.sh
#
# The Dovecot setup (private config in a temp dir, users, Maildirs seeded by
# clients/seed_maildir.py before every scenario), the tcpdump helper, the
# cleanup trap and the fetchmail/offlineimap sessions come from lib.sh, shared
# with make-samples.sh (and make-samples-cyrus.sh).  Needs root.
# Environment: OUT (default samples/), PORT (default 10143), KEEP_LOGS=/dir.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-10143}
# shared helpers: log/die, install_needed, capture (tcpdump), cleanup trap,
# dovecot_instance, dovecot_seed, fetchmail_session, offlineimap_session;
# sets CLIENTS, OUT, PY, IMAP_PORT
. "$HERE/lib.sh"

seed() { dovecot_seed; }     # run by capture before every scenario
# root check, packages (dovecot-imapd, tcpdump, ... and these clients),
# private Dovecot on $PORT in /tmp/imaptrace-samples-clients.XXXXXX, cleanup trap
dovecot_instance imaptrace-samples-clients fetchmail:fetchmail offlineimap:offlineimap3

# --- scenarios (fetchmail_session, offlineimap_session: lib.sh) -------------
capture dovecot-fetchmail.pcap    fetchmail_session
capture dovecot-offlineimap.pcap  offlineimap_session

if grep -E ' (Error|Fatal|Panic):' "$WORK/dovecot.log" >&2; then
    log "WARNING: dovecot logged errors (see above)"
fi
keep_logs

if have_tshark; then
    $PY "$CLIENTS/verify_pcaps.py" --port "$PORT" "$OUT"/dovecot-fetchmail.pcap "$OUT"/dovecot-offlineimap.pcap >&2 \
        || die "capture verification failed"
fi

log "versions:"
{
    /usr/sbin/dovecot --version | sed 's/^/dovecot /'
    fetchmail -V 2>/dev/null | sed -n 1p
    offlineimap --version 2>/dev/null | sed 's/^/offlineimap /'
    tcpdump --version 2>&1 | sed -n 1p
} >&2 || true
log "captures in $OUT:"
(cd "$OUT" && ls -l dovecot-fetchmail.pcap dovecot-offlineimap.pcap) >&2
