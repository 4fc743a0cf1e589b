# shellcheck shell=bash
# Shared code of the sample-capture scripts (make-samples.sh,
# make-samples-clients.sh, make-samples-cyrus.sh).  Sourced, not run:
#
#   HERE=$(cd "$(dirname "$0")" && pwd)
#   PORT=${PORT:-10143}
#   . "$HERE/lib.sh"
#
# Expects HERE (the samples/ directory) and PORT to be set, and `set -euo
# pipefail` in the caller.  Sets CLIENTS, OUT (default: samples/ itself),
# PY, exports IMAP_PORT (read by clients/common.py) and
# PYTHONDONTWRITEBYTECODE.  The script defines `seed`, which `capture`
# runs before every scenario (dovecot_seed for the Dovecot scripts).
# Bash only (arrays).

CLIENTS=$HERE/clients
OUT=${OUT:-$HERE}
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
export IMAP_PORT=$PORT
TCPDUMP_PID=
SERVER_PID=
SERVER_LOG=
SERVER_LABEL=
need=()

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# require_root WHY
require_root() {
    [ "$(id -u)" = 0 ] || die "must run as root ($1)"
}

# --- dependencies -----------------------------------------------------------
# need_cmd CMD PACKAGE: queue PACKAGE for install_needed when CMD is missing.
need_cmd() {
    command -v "$1" >/dev/null || need+=("$2")
}

# install_needed: add what every script needs (tcpdump, openssl, python3) to
# the packages queued in the array `need`, and apt-get install them all.
install_needed() {
    need_cmd tcpdump tcpdump
    need_cmd openssl openssl
    [ -x $PY ] || need+=(python3)
    if [ ${#need[@]} -gt 0 ]; then
        log "installing: ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}"
        # a package may have started its system server (dovecot on 143,
        # cyrus); the private instance does not use it
    fi
}

check_port_free() {
    if ss -Hltn "sport = :$PORT" | grep -q .; then
        die "port $PORT already in use (stale instance? try: ss -ltnp 'sport = :$PORT')"
    fi
}

# wait_listening WHAT: wait up to 10 s for a listener on $PORT.
wait_listening() {
    for _ in $(seq 100); do
        ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1
    done
    ss -Hltn "sport = :$PORT" | grep -q . || die "$1 did not start listening"
}

# --- work directory and cleanup ---------------------------------------------
# make_work PREFIX LOGFILE LABEL: WORK=/tmp/PREFIX.XXXXXX (0755, so that the
# server's unprivileged processes can traverse it) and the cleanup trap.
# LOGFILE (relative to WORK) is the server log whose tail is shown on failure.
make_work() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    chmod 755 "$WORK"
    SERVER_LOG=$WORK/$2
    SERVER_LABEL=$3
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# On exit, even on failure: stop tcpdump, stop the server whose master pid
# is in $WORK/run/master.pid (or SERVER_PID; TERM, then KILL after 5 s),
# show the end of the server log if the script failed, delete WORK.
cleanup() {
    local rc=$? pid
    set +e
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
    pid=$SERVER_PID
    [ -f "$WORK/run/master.pid" ] && pid=$(cat "$WORK/run/master.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"       # the master takes its children down with it
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    if [ $rc -ne 0 ] && [ -f "$SERVER_LOG" ]; then
        echo "---- last $SERVER_LABEL log lines ----" >&2; tail -n 20 "$SERVER_LOG" >&2
    fi
    rm -rf "$WORK"
    exit $rc
}

# make_cert SUBJECTALTNAME: self-signed $WORK/cert.pem and key.pem (0600).
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
        -addext "subjectAltName=$1" \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    chmod 600 "$WORK/key.pem"
}

# keep_logs: with KEEP_LOGS=/dir, copy the client transcripts, tcpdump
# stderr and the server log there.
keep_logs() {
    if [ -n "${KEEP_LOGS:-}" ]; then
        mkdir -p "$KEEP_LOGS" && cp -r "$WORK/log" "$SERVER_LOG" "$KEEP_LOGS/"
    fi
}

# have_tshark: true (and says so) when the captures can be verified.
have_tshark() {
    if command -v tshark >/dev/null; then
        log "verifying captures (tshark)"
    else
        log "tshark not installed: skipping clients/verify_pcaps.py"
        return 1
    fi
}

# --- capture ----------------------------------------------------------------
# tcpdump_start FILE ERRFILE: capture "tcp port $PORT" on lo into FILE in
# the background (TCPDUMP_PID) and return once tcpdump is listening.
# Whole packets, or the first $SNAPLEN bytes of each when SNAPLEN is set.
# --immediate-mode and the 64 MB buffer are needed (see README.md).
tcpdump_start() {
    tcpdump -i lo -s "${SNAPLEN:-0}" -B 65536 -U --immediate-mode -n -Z root \
        -w "$1" "tcp port $PORT" 2>"$2" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do grep -q "listening on" "$2" && break; sleep 0.1; done
    grep -q "listening on" "$2" || die "tcpdump did not start: $(cat "$2")"
}

# tcpdump_stop ERRFILE: stop tcpdump; sets DROPPED to the kernel drops it
# reported and succeeds only if that is 0.
tcpdump_stop() {
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true; TCPDUMP_PID=
    DROPPED=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$1")
    [ "${DROPPED:-x}" = 0 ]
}

# capture NAME CMD...  : seed fresh mail, tcpdump on lo, run CMD (in
# clients/), stop tcpdump, move the capture to $OUT/NAME.  A run whose
# tcpdump reports kernel drops is retried (loopback bursts of a 1 MB FETCH
# can overflow a small capture buffer).
capture() {
    local name=$1; shift
    local tmp=$WORK/cap/$name err=$WORK/log/$name.tcpdump.err attempt
    log "scenario $name"
    for attempt in 1 2 3; do
        seed
        tcpdump_start "$tmp" "$err"
        if ! ( cd "$CLIENTS" && "$@" ) >"$WORK/log/$name.client.log" 2>&1; then
            cat "$WORK/log/$name.client.log" >&2
            die "client for $name failed"
        fi
        sleep 1       # let the final FIN/ACKs through
        tcpdump_stop "$err" && break
        log "  tcpdump reported '${DROPPED:-?}' kernel drops, retrying ($attempt)"
        DROPPED=x
    done
    [ "$DROPPED" = 0 ] || die "$name: tcpdump kept dropping packets"
    [ -s "$tmp" ] || die "$name: empty capture"
    mv -f "$tmp" "$OUT/$name"
}

# --- private Dovecot (make-samples.sh, make-samples-clients.sh) --------------
MAIL_USER=mail     # existing system user owning the test maildirs (uid 8 on Debian)

# dovecot_need: queue dovecot-imapd for install_needed if it is missing.
dovecot_need() {
    [ -x /usr/sbin/dovecot ] && [ -e /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
}

# dovecot_check: after installing; sets MUID/MGID of $MAIL_USER.
dovecot_check() {
    [ -e /usr/lib/dovecot/modules/lib30_imap_zlib_plugin.so ] \
        || log "WARNING: imap_zlib plugin missing, COMPRESS=DEFLATE will not be offered"
    id "$MAIL_USER" >/dev/null 2>&1 || die "system user $MAIL_USER missing"
    id dovenull >/dev/null 2>&1 && id dovecot >/dev/null 2>&1 \
        || die "dovecot/dovenull users missing (reinstall dovecot-core)"
    MUID=$(id -u $MAIL_USER); MGID=$(id -g $MAIL_USER)
}

# dovecot_setup PREFIX: work dir /tmp/PREFIX.XXXXXX with cleanup trap,
# certificate, passwd-file users alice/wonderland and bob/builder, and a
# private dovecot.conf listening on 127.0.0.1 and ::1 port $PORT.
dovecot_setup() {
    make_work "$1" dovecot.log dovecot
    mkdir -p "$WORK"/{run,state,mail,home,cap,log}
    make_cert "DNS:localhost,IP:127.0.0.1,IP:::1"

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
}

# dovecot_seed: fresh deterministic Maildirs for alice and bob
# (clients/seed_maildir.py).
dovecot_seed() {
    rm -rf "${WORK:?}/mail" "${WORK:?}/home"
    mkdir -p "$WORK/mail" "$WORK/home/alice" "$WORK/home/bob"
    for u in alice bob; do
        (cd "$CLIENTS" && $PY seed_maildir.py "$WORK/mail/$u" "$u")
    done
    chown -R "$MUID:$MGID" "$WORK/mail" "$WORK/home"
}

# dovecot_start: seed, start the private dovecot, wait for its listener.
dovecot_start() {
    dovecot_seed
    log "starting dovecot ($(/usr/sbin/dovecot --version)) on port $PORT"
    /usr/sbin/dovecot -c "$WORK/dovecot.conf"
    # the daemonized master writes its pid file after the command returns
    for _ in $(seq 100); do [ -s "$WORK/run/master.pid" ] && break; sleep 0.1; done
    SERVER_PID=$(cat "$WORK/run/master.pid")
    wait_listening dovecot
}

# dovecot_instance PREFIX CMD:PACKAGE...: everything up to a listening
# private Dovecot: root check, install dovecot-imapd, tcpdump, openssl,
# python3 and the clients' packages (CMD missing -> PACKAGE), check users
# and the port, dovecot_setup PREFIX, dovecot_start.
dovecot_instance() {
    local prefix=$1 cp; shift
    require_root "tcpdump on lo, dovecot"
    dovecot_need
    for cp in "$@"; do need_cmd "${cp%%:*}" "${cp#*:}"; done
    install_needed
    dovecot_check
    check_port_free
    dovecot_setup "$prefix"
    dovecot_start
}

# --- client sessions shared by the Dovecot and Cyrus scripts ----------------
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
