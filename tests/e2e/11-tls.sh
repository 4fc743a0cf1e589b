#!/bin/sh
# End to end inside TLS: every samples/tls capture read with its key log
# validates against the schema, matches its golden NDJSON, has a result
# for each command the client sent, and is decrypted; a capture without
# its keys gives the handshake's facts only; the partial-keys capture is
# decrypted in part; secrets inside TLS stay redacted in every format and
# key material never appears, --show-secrets included; key log problems
# are reported.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
. tests/helpers/golden.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The samples' servers listen on 10993 (IMAPS) and 10144 (STARTTLS).
run() { "$IMAPTRACE" -q --tls-ports 10993 -p 10144 "$@"; }

# check.py FILE: prints what is wrong with a decrypted session's events.
cat >"$tmp/check.py" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
want_decrypted = sys.argv[2]     # "all", "some" or "none"
sessions = {}
for e in evs:
    sessions.setdefault(e.get("session"), []).append(e)
bad = []
decrypted = 0
for sid, se in sessions.items():
    tls = [e for e in se if e["type"] == "tls"]
    end = [e for e in se if e["type"] == "session_end"]
    if len(tls) != 1 or len(end) != 1:
        bad.append("session %s: %d tls and %d session_end events" % (sid, len(tls), len(end)))
        continue
    t = tls[0]
    for k in ("version", "cipher_suite", "resumed", "decrypted"):
        if k not in t:
            bad.append("session %s: tls event without %s" % (sid, k))
    if end[0].get("decrypted") != t.get("decrypted"):
        bad.append("session %s: session_end.decrypted differs from the tls event" % sid)
    if not t.get("decrypted"):
        if t.get("reason") != "no-key":
            bad.append("session %s: not decrypted, reason %s" % (sid, t.get("reason")))
        if any(e["type"] == "command" for e in se):
            bad.append("session %s: commands from a session not decrypted" % sid)
        continue
    decrypted += 1
    cmds = {e["tag"] for e in se if e["type"] == "command"}
    results = {e["tag"] for e in se if e["type"] == "result"}
    if not cmds:
        bad.append("session %s: decrypted but no command" % sid)
    for tag in sorted(cmds - results):
        bad.append("session %s: command %s has no result" % (sid, tag))
    for e in se:
        if e["type"] in ("command", "result", "greeting") and "offset" in e:
            after_tls = e["frame"] >= t["frame"] or "after_tag" not in t
            if after_tls and e.get("layer") != "tls":
                bad.append("session %s: %s of frame %d not marked layer tls" %
                           (sid, e["type"], e["frame"]))
                break
n = len(sessions)
if want_decrypted == "all" and decrypted != n:
    bad.append("%d of %d sessions decrypted" % (decrypted, n))
if want_decrypted == "some" and not 0 < decrypted < n:
    bad.append("%d of %d sessions decrypted, expected some" % (decrypted, n))
if want_decrypted == "none" and decrypted != 0:
    bad.append("%d sessions decrypted, expected none" % decrypted)
print("; ".join(bad[:5]))
sys.exit(1 if bad else 0)
EOF

for cap in samples/tls/*.pcap; do
	name=$(basename "$cap" .pcap)
	out="$tmp/$name.ndjson"
	if ! run -F ndjson --keylog "samples/tls/$name.keylog" "$cap" >"$out" 2>"$tmp/err"; then
		echo "FAIL tls $name: exit status ($(cat "$tmp/err"))"
		continue
	fi
	check_output "tls $name" "$out" "tests/golden/tls/$name.ndjson"
	case $name in *partial-keys*) want=some ;; *) want=all ;; esac
	if msg=$(/usr/bin/python3 "$tmp/check.py" "$out" $want); then
		echo "ok tls $name: decrypted ($want), a result for every command, marked"
	else
		echo "FAIL tls $name: $msg"
	fi
done

# Implicit TLS on a port not given to --tls-ports (10993 read with the
# default 993), beside an HTTPS flow with its keys on 10443: the IMAPS
# flow is a session recognised by its decrypted greeting, the same events
# as on a TLS port but port_guess; the HTTPS flow, decrypted too, is
# ignored (no event, counted in ignored_flows); without keys neither is
# a session.
name=imaplib-curl-tls13-imaps-https
cap=samples/tls/$name.pcap
"$IMAPTRACE" -q -F ndjson --keylog "samples/tls/$name.keylog" "$cap" >"$tmp/other.ndjson"
check_output "tls other port" "$tmp/other.ndjson" "tests/golden/tls/$name.otherport.ndjson"
sed 's/"port_guess":"tls-content-greeting"/"port_guess":"tls-port"/' "$tmp/other.ndjson" >"$tmp/other-as-port.ndjson"
if [ "$(grep -c '"type":"session_start"' "$tmp/other.ndjson")" -eq 1 ] &&
   grep -q '"server":"127.0.0.1:10993".*"port_guess":"tls-content-greeting"' "$tmp/other.ndjson" &&
   ! grep -q '10443' "$tmp/other.ndjson" &&
   cmp -s "$tmp/other-as-port.ndjson" "tests/golden/tls/$name.ndjson"; then
	echo "ok tls other port: IMAPS found by its decrypted greeting, as on a TLS port; HTTPS left alone"
else
	echo "FAIL tls other port: not the TLS port's events, or HTTPS not ignored"
fi
totals() { /usr/bin/python3 -c 'import json, sys; t = json.load(sys.stdin)["totals"]; print(t["sessions"], t["ignored_flows"])'; }
got=$("$IMAPTRACE" -q -F json --keylog "samples/tls/$name.keylog" "$cap" | totals)
nokey=$("$IMAPTRACE" -q -F json --keylog samples/tls/curl-tls13-chacha20-imaps.keylog "$cap" | totals)
if [ "$got" = "1 1" ] && [ "$nokey" = "0 2" ]; then
	echo "ok tls other port: 1 session and 1 ignored flow with keys, 0 and 2 without"
else
	echo "FAIL tls other port: sessions, ignored flows: '$got' with keys, '$nokey' without"
fi
# Without its keys (another capture's key log): the handshake's facts,
# decrypted false with the reason, nothing parsed.
cap=samples/tls/curl-tls13-aes128gcm-imaps.pcap
run -F ndjson --keylog samples/tls/curl-tls13-chacha20-imaps.keylog "$cap" >"$tmp/nokey.ndjson"
if msg=$(/usr/bin/python3 "$tmp/check.py" "$tmp/nokey.ndjson" none) &&
   grep -q '"type":"tls".*"version":"TLS 1.3","cipher_suite":"TLS_AES_128_GCM_SHA256".*"decrypted":false,"reason":"no-key"' "$tmp/nokey.ndjson" &&
   /usr/bin/python3 tests/e2e/validate.py "$tmp/nokey.ndjson" >/dev/null; then
	echo "ok tls without its keys: metadata, decrypted false, reason no-key"
else
	echo "FAIL tls without its keys: $msg"
fi

# Without --keylog the TLS layer is only counted, as before.
if run -F ndjson "$cap" | grep -q '"type":"tls","frame":1}'; then
	echo "ok tls without --keylog: the tls event is unchanged"
else
	echo "FAIL tls without --keylog: the tls event changed"
fi

# Secrets inside TLS: the LOGIN password (and the PLAIN response) are
# redacted in every format; --show-secrets shows them; key material never.
for name in imaplib-tls13-starttls curl-tls13-aes128gcm-imaps; do
	cap=samples/tls/$name.pcap
	key=samples/tls/$name.keylog
	run -F ndjson --show-secrets --keylog "$key" "$cap" >"$tmp/shown"
	secret=$(/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["type"] == "command" and e["command"] in ("LOGIN", "AUTHENTICATE"):
        print(e["args"].split()[-1]); break
' "$tmp/shown")
	if [ -z "$secret" ] || [ "$secret" = "<redacted>" ]; then
		echo "FAIL tls redaction $name: --show-secrets shows no secret"
		continue
	fi
	ok=1
	for fmt in ndjson json text html; do
		run -F $fmt --keylog "$key" "$cap" >"$tmp/out.$fmt"
		if grep -qF -- "$secret" "$tmp/out.$fmt"; then
			echo "FAIL tls redaction $name: the secret in -F $fmt"
			ok=0
		fi
		run -F $fmt --show-secrets --keylog "$key" "$cap" >"$tmp/shown.$fmt"
		for hex in $(awk '!/^#/ && NF == 3 { print $2; print $3 }' "$key"); do
			if grep -qiF -- "$hex" "$tmp/out.$fmt" "$tmp/shown.$fmt"; then
				echo "FAIL tls redaction $name: key material in -F $fmt"
				ok=0
				break
			fi
		done
	done
	[ $ok = 1 ] && echo "ok tls redaction $name: secret redacted in every format, no key material"
done

# Key log problems: a malformed line is reported with its place and
# skipped; an unreadable key log is a usage error naming it.
{ echo "# comment"; echo "CLIENT_RANDOM 00zz 11"; cat samples/tls/curl-tls13-aes128gcm-imaps.keylog; } >"$tmp/bad.keylog"
if run -F ndjson --keylog "$tmp/bad.keylog" samples/tls/curl-tls13-aes128gcm-imaps.pcap \
	>"$tmp/bad.ndjson" 2>"$tmp/bad.err" &&
   grep -q "bad.keylog:2:" "$tmp/bad.err" && [ "$(wc -l <"$tmp/bad.err")" -eq 1 ] &&
   grep -q '"decrypted":true' "$tmp/bad.ndjson"; then
	echo "ok tls keylog: a malformed line is reported once with file:line, the rest used"
else
	echo "FAIL tls keylog: malformed line ($(cat "$tmp/bad.err"))"
fi
run --keylog "$tmp/missing.keylog" samples/tls/curl-tls13-aes128gcm-imaps.pcap >/dev/null 2>"$tmp/miss.err"
rc=$?
if [ $rc -eq 2 ] && grep -q "missing.keylog" "$tmp/miss.err"; then
	echo "ok tls keylog: an unreadable key log exits 2 naming it"
else
	echo "FAIL tls keylog: unreadable key log gave exit $rc"
fi

# Keys from a pcapng Decryption Secrets Block: the same output as with
# the key log.  The same block moved after the packets: read as a file,
# the pre-scan finds it and the output is the same again; on standard
# input (and gzip-compressed) nothing is decrypted, and the session is
# named on stderr.
dsb=samples/tls/curl-tls13-aes128gcm-imaps-dsb.pcapng
run -F ndjson "$dsb" >"$tmp/dsb.ndjson" 2>"$tmp/dsb.err"
if cmp -s "$tmp/dsb.ndjson" tests/golden/tls/curl-tls13-aes128gcm-imaps.ndjson &&
   [ ! -s "$tmp/dsb.err" ]; then
	echo "ok tls dsb: keys from a Decryption Secrets Block decrypt as the key log does"
else
	echo "FAIL tls dsb: differs from the key log's output ($(cat "$tmp/dsb.err"))"
fi
/usr/bin/python3 - "$dsb" "$tmp/late.pcapng" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
blocks, at, dsbs = [], 0, []
while at < len(data):
    btype, blen = struct.unpack_from("<II", data, at)
    (dsbs if btype == 10 else blocks).append(data[at:at + blen])
    at += blen
assert dsbs, "no DSB in the sample"
open(sys.argv[2], "wb").write(b"".join(blocks + dsbs))
PY
run -F ndjson - <"$tmp/late.pcapng" >"$tmp/late.ndjson" 2>"$tmp/late.err"
if grep -q "session 1 (127.0.0.1:48898 -> 127.0.0.1:10993) was not decrypted: its keys came in a Decryption Secrets Block after its handshake" "$tmp/late.err" &&
   grep -q '"type":"tls"' "$tmp/late.ndjson" && ! grep -q '"layer"' "$tmp/late.ndjson"; then
	echo "ok tls dsb: keys after the handshake, on standard input: the session is named"
else
	echo "FAIL tls dsb late: $(cat "$tmp/late.err")"
fi
run -F ndjson "$tmp/late.pcapng" >"$tmp/late-file.ndjson" 2>"$tmp/late-file.err"
if cmp -s "$tmp/late-file.ndjson" tests/golden/tls/curl-tls13-aes128gcm-imaps.ndjson &&
   [ ! -s "$tmp/late-file.err" ]; then
	echo "ok tls dsb late: a file is pre-scanned, its keys decrypt as the key log does"
else
	echo "FAIL tls dsb late file: differs from the key log's output ($(cat "$tmp/late-file.err"))"
fi
gzip -c "$tmp/late.pcapng" >"$tmp/late.pcapng.gz"
run -F ndjson "$tmp/late.pcapng.gz" >"$tmp/late-gz.ndjson" 2>"$tmp/late-gz.err"
if grep -q "session 1 (127.0.0.1:48898 -> 127.0.0.1:10993) was not decrypted: its keys came in a Decryption Secrets Block after its handshake" "$tmp/late-gz.err" &&
   ! grep -q '"layer"' "$tmp/late-gz.ndjson"; then
	echo "ok tls dsb late: a compressed file is not pre-scanned, the session is named"
else
	echo "FAIL tls dsb late gz: $(cat "$tmp/late-gz.err")"
fi
