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
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=$HERE/clients
OUT=${OUT:-$HERE}
PORT=${PORT:-10143}
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
MAIL_USER=mail     # existing system user owning the test maildirs (uid 8 on Debian)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump on lo, dovecot)"

# --- 1. dependencies --------------------------------------------------------
need=()
[ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v curl    >/dev/null || need+=(curl)
command -v mbsync  >/dev/null || need+=(isync)
command -v openssl >/dev/null || need+=(openssl)
[ -x $PY ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
    # the package may have started the system dovecot on 143; we don't need it
fi
[ -e /usr/lib/dovecot/modules/lib30_imap_zlib_plugin.so ] \
    || log "WARNING: imap_zlib plugin missing, COMPRESS=DEFLATE will not be offered"
id "$MAIL_USER" >/dev/null 2>&1 || die "system user $MAIL_USER missing"
id dovenull >/dev/null 2>&1 && id dovecot >/dev/null 2>&1 \
    || die "dovecot/dovenull users missing (reinstall dovecot-core)"
MUID=$(id -u $MAIL_USER); MGID=$(id -g $MAIL_USER)

if ss -Hltn "sport = :$PORT" | grep -q .; then
    die "port $PORT already in use (stale instance? try: ss -ltnp 'sport = :$PORT')"
fi

# --- 2. private dovecot -----------------------------------------------------
WORK=$(mktemp -d /tmp/imaptrace-samples.XXXXXX)
chmod 755 "$WORK"      # dovecot's unprivileged processes must traverse it
TCPDUMP_PID=
DOVECOT_PID=

cleanup() {
    local rc=$?
    set +e
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
    if [ -f "$WORK/run/master.pid" ]; then DOVECOT_PID=$(cat "$WORK/run/master.pid"); fi
    if [ -n "$DOVECOT_PID" ] && kill -0 "$DOVECOT_PID" 2>/dev/null; then
        kill -TERM "$DOVECOT_PID"
        for _ in $(seq 50); do kill -0 "$DOVECOT_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$DOVECOT_PID" 2>/dev/null && kill -KILL "$DOVECOT_PID"
    fi
    if [ $rc -ne 0 ] && [ -f "$WORK/dovecot.log" ]; then
        echo "---- last dovecot log lines ----" >&2; tail -n 20 "$WORK/dovecot.log" >&2
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{run,state,mail,home,cap,log}
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
chmod 600 "$WORK/key.pem"

cat > "$WORK/users" <<USERS
alice:{PLAIN}wonderland:$MUID:$MGID::$WORK/home/alice::
bob:{PLAIN}builder:$MUID:$MGID::$WORK/home/bob::
USERS
chmod 644 "$WORK/users"

cat > "$WORK/dovecot.conf" <<CONF
# private instance for imaptrace sample captures - not the system config
protocols = imap
listen = 127.0.0.1, ::1
base_dir = $WORK/run
state_dir = $WORK/state
log_path = $WORK/dovecot.log
info_log_path = $WORK/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
default_internal_group = dovecot
first_valid_uid = $MUID
first_valid_gid = $MGID
auth_mechanisms = plain login
disable_plaintext_auth = no
ssl = yes
ssl_cert = <$WORK/cert.pem
ssl_key = <$WORK/key.pem
mail_location = maildir:$WORK/mail/%u
mail_plugins = \$mail_plugins zlib
# Dovecot would otherwise add the master's hostname to some responses
hostname = imap.example.org
passdb {
  driver = passwd-file
  args = scheme=PLAIN $WORK/users
}
userdb {
  driver = passwd-file
  args = $WORK/users
}
service imap-login {
  inet_listener imap {
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
protocol imap {
  mail_plugins = \$mail_plugins imap_zlib
}
CONF

seed() {
    rm -rf "$WORK/mail" "$WORK/home"
    mkdir -p "$WORK/mail" "$WORK/home/alice" "$WORK/home/bob"
    for u in alice bob; do
        (cd "$CLIENTS" && $PY seed_maildir.py "$WORK/mail/$u" "$u")
    done
    chown -R "$MUID:$MGID" "$WORK/mail" "$WORK/home"
}

seed
log "starting dovecot ($(/usr/sbin/dovecot --version)) on port $PORT"
/usr/sbin/dovecot -c "$WORK/dovecot.conf"
DOVECOT_PID=$(cat "$WORK/run/master.pid")
for _ in $(seq 100); do
    ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1
done
ss -Hltn "sport = :$PORT" | grep -q . || die "dovecot did not start listening"

# --- 3. capture helper ------------------------------------------------------
# capture NAME CMD...  : fresh maildirs, tcpdump on lo, run CMD, stop tcpdump.
# A run whose tcpdump reports kernel drops is retried (loopback bursts of a
# 1 MB FETCH can overflow a small capture buffer).
capture() {
    local name=$1; shift
    local tmp=$WORK/cap/$name err=$WORK/log/$name.tcpdump.err attempt dropped
    log "scenario $name"
    for attempt in 1 2 3; do
        seed
        tcpdump -i lo -s 0 -B 65536 -U --immediate-mode -n -Z root \
            -w "$tmp" "tcp port $PORT" 2>"$err" &
        TCPDUMP_PID=$!
        for _ in $(seq 100); do grep -q "listening on" "$err" && break; sleep 0.1; done
        grep -q "listening on" "$err" || die "tcpdump did not start: $(cat "$err")"
        if ! ( cd "$CLIENTS" && "$@" ) >"$WORK/log/$name.client.log" 2>&1; then
            cat "$WORK/log/$name.client.log" >&2
            die "client for $name failed"
        fi
        sleep 1       # let the final FIN/ACKs through
        kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true; TCPDUMP_PID=
        dropped=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$err")
        [ "${dropped:-x}" = 0 ] && break
        log "  tcpdump reported '${dropped:-?}' kernel drops, retrying ($attempt)"
        dropped=x
    done
    [ "$dropped" = 0 ] || die "$name: tcpdump kept dropping packets"
    [ -s "$tmp" ] || die "$name: empty capture"
    mv -f "$tmp" "$OUT/$name"
}

export IMAP_PORT=$PORT
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
if [ -n "${KEEP_LOGS:-}" ]; then
    mkdir -p "$KEEP_LOGS" && cp -r "$WORK/log" "$WORK/dovecot.log" "$KEEP_LOGS/"
fi

if command -v tshark >/dev/null; then
    log "verifying captures (tshark)"
    $PY "$CLIENTS/verify_pcaps.py" --port "$PORT" "$OUT"/dovecot-*.pcap >&2 \
        || die "capture verification failed"
else
    log "tshark not installed: skipping clients/verify_pcaps.py"
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
