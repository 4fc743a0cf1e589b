#!/bin/bash
# Dovecot captures with more real clients (fetchmail, offlineimap), kept out
# of make-samples.sh so that its captures (which have golden outputs) stay
# exactly as they are.
#
#   sudo samples/make-samples-clients.sh     # writes samples/dovecot-{fetchmail,offlineimap}.pcap
#   OUT=/some/dir sudo -E samples/make-samples-clients.sh
#
# The Dovecot setup (private config in a temp dir, users, Maildirs seeded by
# clients/seed_maildir.py before every scenario, tcpdump helper, cleanup
# trap) is a copy of make-samples.sh's; keep the two in step.  Needs root.
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
command -v fetchmail   >/dev/null || need+=(fetchmail)
command -v offlineimap >/dev/null || need+=(offlineimap3)
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
WORK=$(mktemp -d /tmp/imaptrace-samples-clients.XXXXXX)
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

mkdir -p "$WORK"/{run,state,mail,home,cap,log,fetchmail,offlineimap}
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

# fetchmail: LOGIN (auth password), no TLS although STARTTLS is offered
# (sslproto ''), keep the mail on the server, skip the 1 MB message (limit),
# deliver to a local mbox via mda.
fetchmail_session() {
    local d=$WORK/fetchmail
    rm -rf "$d"; mkdir -p "$d"
    cat > "$d/fetchmailrc" <<RC
set no syslog
set no bouncemail
poll 127.0.0.1 service $PORT protocol IMAP auth password
  user alice password wonderland is root here
  keep fetchall limit 100000 sslproto ''
  mda "/bin/sh -c 'cat >> $d/mbox'"
RC
    chmod 600 "$d/fetchmailrc"
    HOME=$d fetchmail -v --nodetach -f "$d/fetchmailrc" -i "$d/fetchids"
}

# offlineimap (offlineimap3): one-shot, read-only pull of alice into a
# local Maildir, no TLS; it authenticates with AUTHENTICATE PLAIN (no
# SASL-IR).  maxsize keeps the 1 MB message out of the capture.
offlineimap_session() {
    local d=$WORK/offlineimap
    rm -rf "$d"; mkdir -p "$d/maildir"
    cat > "$d/offlineimaprc" <<RC
[general]
accounts = alice
metadata = $d/meta
ui = basic
maxsyncaccounts = 1

[Account alice]
localrepository = local
remoterepository = remote
maxsize = 100000

[Repository local]
type = Maildir
localfolders = $d/maildir

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = $PORT
remoteuser = alice
remotepass = wonderland
ssl = no
starttls = no
readonly = True
maxconnections = 1
holdconnectionopen = no
RC
    offlineimap -c "$d/offlineimaprc" -o -u basic
}

capture dovecot-fetchmail.pcap    fetchmail_session
capture dovecot-offlineimap.pcap  offlineimap_session

if grep -E ' (Error|Fatal|Panic):' "$WORK/dovecot.log" >&2; then
    log "WARNING: dovecot logged errors (see above)"
fi
if [ -n "${KEEP_LOGS:-}" ]; then
    mkdir -p "$KEEP_LOGS" && cp -r "$WORK/log" "$WORK/dovecot.log" "$KEEP_LOGS/"
fi

if command -v tshark >/dev/null; then
    log "verifying captures (tshark)"
    $PY "$CLIENTS/verify_pcaps.py" --port "$PORT" "$OUT"/dovecot-fetchmail.pcap "$OUT"/dovecot-offlineimap.pcap >&2 \
        || die "capture verification failed"
else
    log "tshark not installed: skipping clients/verify_pcaps.py"
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
