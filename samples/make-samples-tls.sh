#!/bin/bash
# Regenerate the TLS sample captures and their key logs in samples/tls/.
#
#   sudo samples/make-samples-tls.sh        # writes samples/tls/*.pcap, *.keylog
#   OUT=/some/dir sudo -E samples/make-samples-tls.sh
#
# A private Dovecot (lib.sh: own config in a temp dir, self-signed
# certificate made with openssl, Maildirs re-seeded before every scenario)
# listens for STARTTLS on $PORT and for implicit TLS on $IMAPS_PORT.  Each
# scenario is one capture (tcpdump on lo, both ports) and the NSS key log
# its client wrote: curl through SSLKEYLOGFILE, Python through
# ssl.SSLContext.keylog_filename (clients/tls_imaplib.py,
# clients/tls_compress.py).  The server accepts every TLS version from 1.0
# and every suite OpenSSL has at security level 0, so that the client's
# options alone pick the version and the suite; each scenario checks with
# tshark what its handshakes negotiated and fails if it is not what it
# asked for.  imap-login runs as one long-lived process (service_count =
# 0), so that the ticket keys that sealed a first connection's ticket are
# still there for a second one: session resumption works.
# One capture holds an IMAPS session and an HTTPS exchange (openssl s_server
# -www on $HTTPS_PORT, curl with SSLKEYLOGFILE) under one key log: read
# without --tls-ports, the first is IMAP found inside TLS on another port,
# the second a TLS flow that is not IMAP.
# Environment: OUT (default samples/tls/), PORT (default 10144), IMAPS_PORT
# (default 10993), HTTPS_PORT (default 10443), ONLY (a glob: only the
# scenarios it matches), KEEP_LOGS=/dir.  Needs root.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PORT=${PORT:-10144}
IMAPS_PORT=${IMAPS_PORT:-10993}
HTTPS_PORT=${HTTPS_PORT:-10443}
OUT=${OUT:-$HERE/tls}
# log/die, install_needed, capture, cleanup trap, dovecot_*; sets CLIENTS, PY
. "$HERE/lib.sh"
export IMAPS_PORT

seed() { dovecot_seed; }     # run by capture before every scenario
require_root "tcpdump on lo, dovecot"
dovecot_need
need_cmd curl curl
need_cmd tshark tshark
need_cmd editcap wireshark-common
install_needed
dovecot_check
check_port_free
PORT=$IMAPS_PORT check_port_free
PORT=$HTTPS_PORT check_port_free
dovecot_setup imaptrace-samples-tls
mkdir -p "$OUT"
# a named finite-field group for the DHE suites: nothing to generate
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$WORK/dh.pem"
sed -i -e "/^  inet_listener imaps {/,/}/s/port = 0/port = $IMAPS_PORT/" \
    -e 's/^service imap-login {$/&\n  service_count = 0\n  process_limit = 1/' \
    "$WORK/dovecot.conf"
cat >> "$WORK/dovecot.conf" <<CONF
ssl_min_protocol = TLSv1
ssl_cipher_list = ALL:@SECLEVEL=0
ssl_dh = <$WORK/dh.pem
CONF
dovecot_start
PORT=$IMAPS_PORT wait_listening "dovecot (implicit TLS)"

# tls_capture NAME WANT CMD...: NAME.pcap while CMD runs (in clients/) with
# KEYLOG=$OUT/NAME.keylog, then checks with tshark that the capture's
# ServerHellos say WANT (a regular expression over "supported_version
# version suite", tshark's hex).
tls_capture() {
    local name=$1 want=$2 got; shift 2
    # shellcheck disable=SC2053
    [ -z "${ONLY:-}" ] || [[ $name == $ONLY ]] || return 0
    KEYLOG=$OUT/$name.keylog
    rm -f "$KEYLOG"
    # capture's tcpdump filter is "tcp port $PORT": every port for the call
    PORT="$PORT or tcp port $IMAPS_PORT or tcp port $HTTPS_PORT" capture "$name.pcap" "$@"
    [ -f "$KEYLOG" ] || die "$name: no key log written"
    got=$(tshark -r "$OUT/$name.pcap" -d "tcp.port==$PORT,imap" -d "tcp.port==$IMAPS_PORT,tls" \
          -Y 'tls.handshake.type == 2' -T fields -e tls.handshake.extensions.supported_version \
          -e tls.handshake.version -e tls.handshake.ciphersuite 2>/dev/null | sort -u | tr '\t\n' ' ;')
    log "  negotiated: $got"
    echo "$got" | grep -Eq "$want" || die "$name: expected /$want/"
}

CURL=(curl -sS --fail --max-time 30 -k -u alice:wonderland
      --resolve "localhost:$PORT:127.0.0.1" --resolve "localhost:$IMAPS_PORT:127.0.0.1")
IMAPS=imaps://localhost:$IMAPS_PORT
STARTTLS=imap://localhost:$PORT

# curl_tls URL ARGS...: CAPABILITY, [STARTTLS,] AUTHENTICATE PLAIN (SASL-IR),
# SELECT INBOX, UID FETCH 1 BODY[], LOGOUT; the key log through SSLKEYLOGFILE.
curl_tls() {
    local url=$1; shift
    SSLKEYLOGFILE=$KEYLOG "${CURL[@]}" "$@" "$url/INBOX;UID=1"
}
# imaplib_tls ARGS...: clients/tls_imaplib.py with its key log.
imaplib_tls() { IMAPTRACE_KEYLOG=$KEYLOG $PY tls_imaplib.py "$@"; }
# partial_keys: two implicit-TLS sessions, only the first one's keys logged.
# tls_compress: clients/tls_compress.py (COMPRESS inside TLS) with its key log.
tls_compress() { IMAPTRACE_KEYLOG=$KEYLOG $PY tls_compress.py; }
partial_keys() { imaplib_tls && imaplib_tls --no-keylog; }
# imaps_and_https: an imaplib IMAPS session, then curl fetching / over HTTPS
# from openssl s_server -www (the Dovecot's certificate), one key log.
imaps_and_https() {
    local pid rc=0
    imaplib_tls || return 1
    openssl s_server -www -quiet -accept "$HTTPS_PORT" -cert "$WORK/cert.pem" \
        -key "$WORK/key.pem" </dev/null >/dev/null 2>&1 &
    pid=$!
    PORT=$HTTPS_PORT wait_listening "openssl s_server"
    SSLKEYLOGFILE=$KEYLOG curl -sS --fail --max-time 30 -k -o /dev/null \
        --resolve "localhost:$HTTPS_PORT:127.0.0.1" "https://localhost:$HTTPS_PORT/" || rc=1
    kill "$pid"; wait "$pid" 2>/dev/null
    return $rc
}

# --- TLS 1.3: the three suites; implicit TLS and STARTTLS; PSK resumption ---
tls_capture curl-tls13-aes128gcm-imaps    '0x0304 .*0x1301' curl_tls "$IMAPS" --tls13-ciphers TLS_AES_128_GCM_SHA256
tls_capture curl-tls13-aes256gcm-starttls '0x0304 .*0x1302' curl_tls "$STARTTLS" --ssl-reqd --tls13-ciphers TLS_AES_256_GCM_SHA384
tls_capture curl-tls13-chacha20-imaps     '0x0304 .*0x1303' curl_tls "$IMAPS" --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256
tls_capture imaplib-tls13-starttls        '0x0304 '         imaplib_tls --starttls
tls_capture imaplib-tls13-resumed-imaps   '0x0304 '         imaplib_tls --resume
# --- TLS 1.2: GCM (SHA-256 and SHA-384 PRF), ChaCha20, CBC EtM and MtE -----
tls_capture curl-tls12-ecdhe-aes128gcm-imaps      '0x0303 0xc02f' curl_tls "$IMAPS" --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256
tls_capture curl-tls12-ecdhe-chacha20-starttls    '0x0303 0xcca8' curl_tls "$STARTTLS" --ssl-reqd --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305
tls_capture imaplib-tls12-dhe-aes256gcm-imaps     '0x0303 0x009f' imaplib_tls --max 1.2 --ciphers DHE-RSA-AES256-GCM-SHA384
tls_capture imaplib-tls12-ecdhe-aes256cbc-sha384-etm-imaps '0x0303 0xc028' imaplib_tls --max 1.2 --ciphers ECDHE-RSA-AES256-SHA384
tls_capture imaplib-tls12-ecdhe-aes128cbc-sha1-mte-starttls '0x0303 0xc013' imaplib_tls --starttls --max 1.2 --no-etm --ciphers ECDHE-RSA-AES128-SHA
tls_capture imaplib-tls12-rsa-aes256cbc-sha256-imaps '0x0303 0x003d' imaplib_tls --max 1.2 --ciphers AES256-SHA256:@SECLEVEL=0
tls_capture imaplib-tls12-resumed-imaps           '0x0303 0xc030' imaplib_tls --max 1.2 --resume --ciphers ECDHE-RSA-AES256-GCM-SHA384
# --- TLS 1.0 (a finding: older than 1.2), CBC with an IV chained across records
tls_capture imaplib-tls10-ecdhe-aes128cbc-sha-imaps '0x0301 0xc013' imaplib_tls --min 1.0 --max 1.0 --ciphers ECDHE-RSA-AES128-SHA:@SECLEVEL=0
# --- COMPRESS=DEFLATE inside TLS; a capture where only some keys are logged -
tls_capture rawimap-tls13-compress-imaps  '0x0304 ' tls_compress
tls_capture imaplib-tls13-partial-keys-imaps '0x0304 ' partial_keys
# --- implicit TLS on a port not given to --tls-ports, beside HTTPS ---------
tls_capture imaplib-curl-tls13-imaps-https '0x0304 ' imaps_and_https

# The keys inside the capture (pcapng Decryption Secrets Block).
[ -n "${ONLY:-}" ] ||
editcap --inject-secrets "tls,$OUT/curl-tls13-aes128gcm-imaps.keylog" \
    "$OUT/curl-tls13-aes128gcm-imaps.pcap" "$OUT/curl-tls13-aes128gcm-imaps-dsb.pcapng"

if grep -E ' (Error|Fatal|Panic):' "$WORK/dovecot.log" >&2; then
    log "WARNING: dovecot logged errors (see above)"
fi
keep_logs
log "versions:"
{
    /usr/sbin/dovecot --version | sed 's/^/dovecot /'
    curl --version | head -1
    $PY -c 'import ssl, sys; print("Python", sys.version.split()[0], ssl.OPENSSL_VERSION)'
    tcpdump --version 2>&1 | head -1
    editcap --version | head -1
} >&2
log "captures in $OUT:"
(cd "$OUT" && ls -l) >&2
