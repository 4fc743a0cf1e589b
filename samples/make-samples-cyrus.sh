#!/bin/bash
# Regenerate the Cyrus IMAP sample captures in samples/ (cyrus-*.pcap).
#
#   sudo samples/make-samples-cyrus.sh            # writes samples/cyrus-*.pcap
#   OUT=/some/dir sudo -E samples/make-samples-cyrus.sh
#
# Starts a private Cyrus imapd (Debian's cyrus-imapd) on 127.0.0.1 port
# $PORT (default 11143) with its own imapd.conf, cyrus.conf, spool, config
# directory and sasldb in a temp dir (nothing under /etc or /var/lib/cyrus
# is used or changed), re-seeds the users' mailboxes before every scenario
# (clients/cyrus_seed.py, over IMAP as the Cyrus admin, before tcpdump
# starts) and captures each scenario into its own file with tcpdump on lo.
# Clients: Python imaplib (the same scripts as the Dovecot captures),
# fetchmail and offlineimap.  Everything (master, tcpdump, temp dir) is torn
# down on exit, even on failure.  Needs root (tcpdump on lo; Cyrus's master
# switches to the `cyrus` user itself).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=$HERE/clients
OUT=${OUT:-$HERE}
PORT=${PORT:-11143}
PY=/usr/bin/python3
CYRBIN=/usr/lib/cyrus/bin
export PYTHONDONTWRITEBYTECODE=1
ADMIN=cyrus                       # Cyrus admin (sasldb user), only used to seed
ADMIN_PW=seed-only-admin-password # never appears in a capture
REALM=imap.example.org            # servername = default SASL realm

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump on lo, cyrus master)"

# --- 1. dependencies --------------------------------------------------------
need=()
[ -x $CYRBIN/master ] && [ -x $CYRBIN/imapd ] || need+=(cyrus-imapd)
command -v saslpasswd2 >/dev/null || need+=(sasl2-bin)
ls /usr/lib/*/sasl2/libsasldb.so >/dev/null 2>&1 || need+=(libsasl2-modules-db)
command -v tcpdump    >/dev/null || need+=(tcpdump)
command -v fetchmail  >/dev/null || need+=(fetchmail)
command -v offlineimap >/dev/null || need+=(offlineimap3)
command -v openssl    >/dev/null || need+=(openssl)
[ -x $PY ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    log "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}"
    # (policy-rc.d usually keeps the system cyrus from starting; we don't use it)
fi
id cyrus >/dev/null 2>&1 || die "system user cyrus missing (reinstall cyrus-common)"

if ss -Hltn "sport = :$PORT" | grep -q .; then
    die "port $PORT already in use (stale instance? try: ss -ltnp 'sport = :$PORT')"
fi

# --- 2. private cyrus -------------------------------------------------------
WORK=$(mktemp -d /tmp/imaptrace-cyrus.XXXXXX)
chmod 755 "$WORK"      # the cyrus user must traverse it
TCPDUMP_PID=

cleanup() {
    local rc=$?
    set +e
    if [ -n "$TCPDUMP_PID" ]; then kill -INT "$TCPDUMP_PID" 2>/dev/null; wait "$TCPDUMP_PID" 2>/dev/null; fi
    local pid=
    [ -f "$WORK/run/master.pid" ] && pid=$(cat "$WORK/run/master.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"       # master takes its children down with it
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    if [ $rc -ne 0 ] && [ -f "$WORK/master.log" ]; then
        echo "---- last cyrus master log lines ----" >&2; tail -n 20 "$WORK/master.log" >&2
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$WORK"/{run,spool,sieve,socket,cap,log,fetchmail,offlineimap} "$WORK"/lib/{db,proc,socket,log,msg,user,quota,sieve}
openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

cat > "$WORK/imapd.conf" <<CONF
# private instance for imaptrace sample captures - not the system config
configdirectory: $WORK/lib
defaultpartition: default
partition-default: $WORK/spool
sievedir: $WORK/sieve
idlesocket: $WORK/socket/idle
lmtpsocket: $WORK/socket/lmtp
notifysocket: $WORK/socket/notify
# the greeting and SESSIONIDs carry this instead of the machine's hostname
servername: $REALM
admins: $ADMIN
# cleartext LOGIN / AUTHENTICATE PLAIN without TLS, as in the Dovecot samples
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $WORK/sasldb2
sasl_mech_list: PLAIN LOGIN
# STARTTLS is offered (and not used by these clients)
tls_server_cert: $WORK/cert.pem
tls_server_key: $WORK/key.pem
# so that re-seeding can delete and recreate the users at once
delete_mode: immediate
expunge_mode: immediate
CONF

# master does not hand its -C on to the services: every cmd names it
cat > "$WORK/cyrus.conf" <<CONF
START {
  recover cmd="ctl_cyrusdb -C $WORK/imapd.conf -r"
}
SERVICES {
  imap cmd="imapd -C $WORK/imapd.conf" listen="127.0.0.1:$PORT" prefork=0
}
EVENTS {
}
CONF

for up in "alice:wonderland" "bob:builder" "$ADMIN:$ADMIN_PW"; do
    printf '%s' "${up#*:}" | saslpasswd2 -f "$WORK/sasldb2" -u "$REALM" -c -p "${up%%:*}"
done
chown -R cyrus:mail "$WORK"/{run,lib,spool,sieve,socket,sasldb2,key.pem,cert.pem,imapd.conf,cyrus.conf}
chmod 600 "$WORK/key.pem" "$WORK/sasldb2"

export IMAP_PORT=$PORT

seed() {
    (cd "$CLIENTS" && $PY cyrus_seed.py "$ADMIN" "$ADMIN_PW" alice bob) \
        || die "seeding the mailboxes failed"
}

log "starting cyrus master ($(dpkg-query -W -f='${Version}' cyrus-imapd)) on port $PORT"
# (Cyrus logs to syslog; master's own stdout/stderr go to master.log)
$CYRBIN/master -C "$WORK/imapd.conf" -M "$WORK/cyrus.conf" -p "$WORK/run/master.pid" \
    -L "$WORK/master.log" -d
for _ in $(seq 100); do
    ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.1
done
ss -Hltn "sport = :$PORT" | grep -q . || die "cyrus did not start listening"
seed

# --- 3. capture helper ------------------------------------------------------
# capture NAME CMD...  : fresh mailboxes, tcpdump on lo, run CMD, stop tcpdump.
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

# fetchmail: LOGIN (auth password), no TLS (sslproto ''), keep the mail on
# the server, skip the 1 MB message (limit), deliver to a local mbox via mda.
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
# local Maildir, no TLS; it authenticates with AUTHENTICATE PLAIN.
# maxsize keeps the 1 MB message out of the capture.
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

capture cyrus-imaplib-session.pcap   $PY imaplib_session.py
capture cyrus-imaplib-failures.pcap  $PY imaplib_failures.py
capture cyrus-fetchmail.pcap         fetchmail_session
capture cyrus-offlineimap.pcap       offlineimap_session
capture cyrus-fetch-parts.pcap       $PY cyrus_fetch_parts.py

if [ -n "${KEEP_LOGS:-}" ]; then
    mkdir -p "$KEEP_LOGS" && cp -r "$WORK/log" "$WORK/master.log" "$KEEP_LOGS/"
fi

if command -v tshark >/dev/null; then
    log "verifying captures (tshark)"
    # clients/verify_pcaps.py, except that its tagged-LOGOUT check expects
    # Dovecot's "OK Logout completed."; Cyrus answers "<tag> OK Completed".
    (cd "$CLIENTS" && $PY - "$PORT" "$OUT"/cyrus-*.pcap) >&2 <<'VERIFY' \
        || die "capture verification failed"
import re, sys
import verify_pcaps as v
port, bad = int(sys.argv[1]), 0
for path in sys.argv[2:]:
    streams = {}
    for sid, d, syn, fin, rst, payload in v.segments(path, port):
        streams.setdefault(sid, []).append((d, syn, fin, rst, payload))
    issues = []
    for sid, segs in sorted(streams.items()):
        p, info, _ = v.check_stream(segs)
        c2s = b"".join(s[4] for s in segs if s[0] == "C")
        s2c = b"".join(s[4] for s in segs if s[0] == "S")
        m = re.search(rb"^(\S+) LOGOUT\r\n", c2s, re.M | re.I)
        if m and re.search(rb"^" + re.escape(m.group(1)) + rb" OK ", s2c, re.M):
            p = [x for x in p if x != "no tagged LOGOUT OK"]
        issues += ["stream %d: %s" % (sid, x) for x in p]
    bad += bool(issues)
    print("%s %-34s %d stream(s)%s" % ("FAIL" if issues else "OK  ", path.rsplit("/", 1)[-1],
          len(streams), "".join("\n     " + x for x in issues)))
sys.exit(1 if bad else 0)
VERIFY
else
    log "tshark not installed: skipping clients/verify_pcaps.py"
fi

log "versions:"
{
    echo "cyrus-imapd $(dpkg-query -W -f='${Version}' cyrus-imapd)"
    fetchmail -V 2>/dev/null | sed -n 1p
    offlineimap --version 2>/dev/null | sed 's/^/offlineimap /'
    $PY --version
    tcpdump --version 2>&1 | sed -n 1p
} >&2 || true
log "captures in $OUT:"
(cd "$OUT" && ls -l cyrus-*.pcap) >&2
