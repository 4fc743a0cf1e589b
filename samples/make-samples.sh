#!/bin/bash
# Regenerate the bundled real-traffic IMAP captures in samples/.
#
#   sudo samples/make-samples.sh            # writes samples/*.pcap
#   OUT=/some/dir sudo -E samples/make-samples.sh
#
# Starts a private Dovecot (Debian's dovecot-imapd) on 127.0.0.1/::1 port
# $PORT with its own config in a temp dir, seeds deterministic Maildirs,
# and for every scenario captures loopback traffic with tcpdump while a
# client (curl, mbsync, Python imaplib or a raw Python socket client) runs.
# Everything (dovecot, tcpdump, temp dir) is torn down on exit, even on
# failure.  Needs root (tcpdump on lo, dovecot privilege separation).
# Environment: OUT (default samples/), PORT (default 10143), KEEP_LOGS=/dir
# (keep client transcripts, tcpdump stderr and the Dovecot log).
# The Dovecot setup, tcpdump capture and cleanup live in lib.sh (shared with
# make-samples-clients.sh and make-samples-cyrus.sh).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-10143}
# shared helpers: log/die, install_needed, capture (tcpdump), cleanup trap,
# dovecot_instance, dovecot_seed; sets CLIENTS, OUT, PY, IMAP_PORT
. "$HERE/lib.sh"

seed() { dovecot_seed; }     # run by capture before every scenario
# root check, packages (dovecot-imapd, tcpdump, ... and these clients),
# private Dovecot on $PORT in /tmp/imaptrace-samples.XXXXXX, cleanup trap
dovecot_instance imaptrace-samples curl:curl mbsync:isync

# --- scenarios --------------------------------------------------------------
URL=imap://127.0.0.1:$PORT
# curl 7.88 has no way to force the LOGIN command ("AUTH=+LOGIN" needs a
# newer curl): with AUTH=PLAIN advertised it uses AUTHENTICATE PLAIN + SASL-IR.
CURL=(curl -sS --fail --max-time 30 -u alice:wonderland)

curl_session() {
    "${CURL[@]}" "$URL/INBOX;UID=1"      # AUTHENTICATE PLAIN, SELECT INBOX, UID FETCH 1 BODY[]
    "${CURL[@]}" "$URL/"                 # AUTHENTICATE PLAIN, LIST "" *
}

mbsync_session() {
    local d=$WORK/mbsync
    rm -rf "$d"; mkdir -p "$d/maildir"
    cat > "$d/mbsyncrc" <<RC
IMAPAccount alice
Host 127.0.0.1
Port $PORT
User alice
Pass wonderland
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account alice

MaildirStore local
Path $d/maildir/
Inbox $d/maildir/INBOX
SubFolders Verbatim

Channel alice
Far :remote:
Near :local:
Patterns *
Create Near
Sync Pull
Expunge None
SyncState *
# keep the >1 MB message out of this capture
MaxSize 100k
RC
    mbsync -V -c "$d/mbsyncrc" alice
}

capture dovecot-curl-login.pcap          curl_session
capture dovecot-imaplib-session.pcap     $PY imaplib_session.py
capture dovecot-imaplib-failures.pcap    $PY imaplib_failures.py
rm -f "$OUT/dovecot-starttls.keylog"
capture dovecot-starttls.pcap            env IMAPTRACE_KEYLOG="$OUT/dovecot-starttls.keylog" $PY starttls.py
capture dovecot-authenticate-plain.pcap  $PY authenticate.py
capture dovecot-idle.pcap                $PY idle.py
capture dovecot-compress.pcap            mbsync_session
capture dovecot-compress-raw.pcap        $PY compress.py
capture dovecot-pipelining.pcap          $PY pipelining.py
capture dovecot-ipv6.pcap                $PY ipv6.py
capture dovecot-large-fetch.pcap         $PY large_fetch.py

if grep -E ' (Error|Fatal|Panic):' "$WORK/dovecot.log" >&2; then
    log "WARNING: dovecot logged errors (see above)"
fi
keep_logs

if have_tshark; then
    $PY "$CLIENTS/verify_pcaps.py" --port "$PORT" "$OUT"/dovecot-*.pcap >&2 \
        || die "capture verification failed"
fi

log "versions:"
{
    /usr/sbin/dovecot --version | sed 's/^/dovecot /'
    curl --version | head -1
    $PY --version
    mbsync --version
    tcpdump --version 2>&1 | head -1
} >&2
log "captures in $OUT:"
(cd "$OUT" && ls -l dovecot-*.pcap dovecot-*.keylog) >&2
