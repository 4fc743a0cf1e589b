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
# Environment: OUT (default samples/), PORT (default 11143), KEEP_LOGS=/dir.
# The tcpdump capture helper, cleanup trap and the fetchmail/offlineimap
# sessions come from lib.sh (shared with the Dovecot scripts).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-11143}
# shared helpers: log/die, install_needed, capture (tcpdump), cleanup trap,
# fetchmail_session, offlineimap_session; sets CLIENTS, OUT, PY, IMAP_PORT
. "$HERE/lib.sh"
CYRBIN=/usr/lib/cyrus/bin
ADMIN=cyrus                       # Cyrus admin (sasldb user), only used to seed
ADMIN_PW=seed-only-admin-password # never appears in a capture
REALM=imap.example.org            # servername = default SASL realm

require_root "tcpdump on lo, cyrus master"

# --- 1. dependencies --------------------------------------------------------
[ -x $CYRBIN/master ] && [ -x $CYRBIN/imapd ] || need+=(cyrus-imapd)
need_cmd saslpasswd2 sasl2-bin
ls /usr/lib/*/sasl2/libsasldb.so >/dev/null 2>&1 || need+=(libsasl2-modules-db)
need_cmd fetchmail   fetchmail
need_cmd offlineimap offlineimap3
install_needed
id cyrus >/dev/null 2>&1 || die "system user cyrus missing (reinstall cyrus-common)"

check_port_free

# --- 2. private cyrus -------------------------------------------------------
# work dir (0755: the cyrus user must traverse it) and cleanup trap
make_work imaptrace-cyrus master.log "cyrus master"
mkdir -p "$WORK"/{run,spool,sieve,socket,cap,log,fetchmail,offlineimap} "$WORK"/lib/{db,proc,socket,log,msg,user,quota,sieve}
make_cert "DNS:localhost,IP:127.0.0.1"

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

seed() {
    (cd "$CLIENTS" && $PY cyrus_seed.py "$ADMIN" "$ADMIN_PW" alice bob) \
        || die "seeding the mailboxes failed"
}

log "starting cyrus master ($(dpkg-query -W -f='${Version}' cyrus-imapd)) on port $PORT"
# (Cyrus logs to syslog; master's own stdout/stderr go to master.log)
$CYRBIN/master -C "$WORK/imapd.conf" -M "$WORK/cyrus.conf" -p "$WORK/run/master.pid" \
    -L "$WORK/master.log" -d
wait_listening cyrus
seed

# --- 3. scenarios (capture, fetchmail/offlineimap sessions in lib.sh) ------
capture cyrus-imaplib-session.pcap   $PY imaplib_session.py
capture cyrus-imaplib-failures.pcap  $PY imaplib_failures.py
capture cyrus-fetchmail.pcap         fetchmail_session
capture cyrus-offlineimap.pcap       offlineimap_session
capture cyrus-fetch-parts.pcap       $PY cyrus_fetch_parts.py

keep_logs

if have_tshark; then
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
