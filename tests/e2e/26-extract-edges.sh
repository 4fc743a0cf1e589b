#!/bin/sh
# The evidence export at its edges (docs/extract.md): inside TLS (the
# samples/tls captures with their key logs, one of them with COMPRESS
# inside TLS) every whole message is one the sample scripts seeded; each
# MIME cap (--max-mime-parts, --max-mime-depth, the header field cap) and
# --max-extract-bytes is hit, reported as limit-reached and recorded, and
# nothing is written outside DIR; a full disk and a read-only DIR are
# errors naming the path, and the analysis is still written.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
mnt=""
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
PY=/usr/bin/python3

ok() { echo "ok extract-edges $1"; }
fail() { echo "FAIL extract-edges $1"; }
. tests/helpers/checker.sh
check() {	# check NAME FILE-OF-CHECKER-OUTPUT
	checker_result "extract-edges $1" "$2"
}
only_x() {	# only_x PARENT: DIR (x) is all that PARENT holds
	[ "$(ls -A "$1")" = x ]
}

# ---- inside TLS -------------------------------------------------------------
# The samples' servers listen on 10993 (IMAPS) and 10144 (STARTTLS).
for key in samples/tls/*.keylog; do
	b=$(basename "$key" .keylog)
	cap=samples/tls/$b.pcap
	[ -f "$cap" ] || continue
	mkdir "$tmp/t-$b"
	"$IMAPTRACE" -q --tls-ports 10993 -p 10144 --keylog "$key" --extract "$tmp/t-$b/x" \
		"$cap" >"$tmp/t-$b.ndjson" 2>"$tmp/t-$b.err" || echo "FAIL extract-edges tls $b: exit status $?"
	only_x "$tmp/t-$b" || fail "tls $b: written outside DIR"
	$PY tests/e2e/extract_check.py "$tmp/t-$b/x" "$tmp/t-$b.ndjson" --samples >"$tmp/t-$b.chk"
	$PY tests/e2e/validate.py "$tmp/t-$b.ndjson" >>"$tmp/t-$b.chk" || echo "FAIL events invalid" >>"$tmp/t-$b.chk"
	check "tls $b" "$tmp/t-$b.chk"
done
# curl fetched alice's first message through IMAPS and through STARTTLS.
for b in curl-tls13-aes128gcm-imaps curl-tls12-ecdhe-chacha20-starttls; do
	if grep -q '^message .*= alice/INBOX/1$' "$tmp/t-$b.chk" &&
	   grep -q '"type":"message"' "$tmp/t-$b.ndjson"; then
		ok "tls $b: the fetched message, byte for byte, with its message event"
	else
		fail "tls $b: no message alice/INBOX/1"
	fi
done
# COMPRESS=DEFLATE inside TLS: BODY[TEXT] of message 3 is the body of a
# seeded message, the header fields pieces are lines of seeded headers.
b=rawimap-tls13-compress-imaps
if $PY - "$tmp/t-$b/x" <<'EOF'
import json, sys
sys.path.insert(0, 'samples/clients')
import messages
d = sys.argv[1]
bodies, heads = set(), []
for user in ('alice', 'bob'):
    for _, msgs in messages.mailbox_for(user):
        for _, _, m in msgs:
            m = m.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
            h, _, body = m.partition(b'\r\n\r\n')
            bodies.add(body)
            heads.append(h + b'\r\n')
recs = [json.loads(l) for l in open(d + '/manifest.ndjson')]
texts = [r for r in recs if r['record'] == 'object' and r['section'] == 'BODY[TEXT]']
fields = [r for r in recs if r['record'] == 'object' and r['section'].startswith('BODY[HEADER.FIELDS')]
assert len(texts) == 1 and len(fields) == 3, (len(texts), len(fields))
assert all(r['complete'] for r in texts + fields)
assert open(d + '/' + texts[0]['path'], 'rb').read() in bodies
for r in fields:
    lines = open(d + '/' + r['path'], 'rb').read().split(b'\r\n')
    assert lines[-2:] == [b'', b''], lines
    assert any(all(l + b'\r\n' in h for l in lines[:-2]) for h in heads), lines
EOF
then
	ok "tls+compress $b: BODY[TEXT] and the header fields are the seeded bytes"
else
	fail "tls+compress $b: the pieces are not the seeded bytes"
fi

# ---- MIME caps --------------------------------------------------------------
c=tests/captures/extract-mime.pcap
mkdir "$tmp/m"
"$IMAPTRACE" -q --max-mime-parts 5 --max-mime-depth 3 --extract "$tmp/m/x" "$c" >"$tmp/m.ndjson" ||
	fail "mime caps: exit status $?"
only_x "$tmp/m" || fail "mime caps: written outside DIR: $(ls -A "$tmp/m")"
$PY tests/e2e/extract_check.py "$tmp/m/x" "$tmp/m.ndjson" --expect tests/captures/extract-mime.expect >"$tmp/m.chk"
$PY tests/e2e/validate.py "$tmp/m.ndjson" >>"$tmp/m.chk" || echo "FAIL events invalid" >>"$tmp/m.chk"
check "mime caps: every hostile message extracted byte for byte" "$tmp/m.chk"
# msgcap UID: the limits of the message record of that UID's file
msgcap() {
	$PY -c 'import json,sys
for l in open(sys.argv[1] + "/manifest.ndjson"):
    r = json.loads(l)
    if r["record"] == "message" and "-uid%s-" % sys.argv[2] in r["path"]:
        print(",".join(r["limits"]), r["parts"], r["depth"])' "$tmp/m/x" "$1"
}
finding() {	# finding LIMIT: a limit-reached violation event naming it
	grep '"type":"violation"' "$tmp/m.ndjson" | grep '"id":"limit-reached"' | grep -q "\"limit\":\"$1\""
}
for t in "31 max-mime-parts" "32 max-mime-depth" "34 max-mime-header"; do
	set -- $t
	got=$(msgcap "$1")
	case "$got" in
	"$2 "*) if finding "$2"; then ok "mime caps: $2 recorded ($got) and reported"
		else fail "mime caps: $2 recorded but no limit-reached finding"; fi ;;
	*) fail "mime caps: uid $1: limits parts depth = '$got', wanted $2" ;;
	esac
done
set -- $(msgcap 31)
[ "$2" -le 5 ] && ok "mime caps: at most 5 parts parsed ($2)" || fail "mime caps: $2 parts parsed"
set -- $(msgcap 32)
[ "$3" -le 3 ] && ok "mime caps: at most 3 levels parsed ($3)" || fail "mime caps: depth $3"
# Declared names are reported (control characters replaced) and never used.
bad=$(ls "$tmp/m/x/attachments" | grep -cv '^[0-9a-f]\{64\}$')
if [ "$bad" -eq 0 ] && [ -z "$(find "$tmp" /tmp -maxdepth 3 -name 'imt-evil*' 2>/dev/null)" ] &&
   grep -q '"filename":"../../../tmp/imt-evil"' "$tmp/m.ndjson" &&
   grep -q '"filename":"evil__\[31m.txt"' "$tmp/m.ndjson"; then
	ok "mime caps: attachments named by SHA-256 only, declared names only reported"
else
	fail "mime caps: attachment names ($bad not digests) or declared names"
fi

# ---- --max-extract-bytes ---------------------------------------------------
c=tests/captures/extract-onebyte.pcap
mkdir "$tmp/b"
"$IMAPTRACE" -q --max-extract-bytes 600 --extract "$tmp/b/x" "$c" >"$tmp/b.ndjson" ||
	fail "max-extract-bytes: exit status $?"
only_x "$tmp/b" || fail "max-extract-bytes: written outside DIR"
if $PY - "$tmp/b/x" "$tmp/b.ndjson" <<'EOF'
import json, os, sys
d = sys.argv[1]
objs = [json.loads(l) for l in open(d + '/manifest.ndjson')]
objs = [r for r in objs if r['record'] == 'object']
cut = [r for r in objs if 'max-extract-bytes' in r['reasons']]
assert len(cut) == 1 and not cut[0]['complete'], cut
assert sum(r['size'] for r in objs) == 600, [r['size'] for r in objs]
assert sum(os.path.getsize(d + '/' + r['path']) for r in objs) == 600
evs = [json.loads(l) for l in open(sys.argv[2])]
lim = [e for e in evs if e['type'] == 'violation' and e.get('limit') == 'max-extract-bytes']
assert len(lim) == 1, lim
EOF
then
	ok "max-extract-bytes: 600 bytes written in all, the object cut there recorded, reported once"
else
	fail "max-extract-bytes: the cap"
fi

# ---- a full disk, a read-only directory -----------------------------------
if [ "$(id -u)" = 0 ] && mkdir "$tmp/mnt" && mount -t tmpfs -o size=256k imt-extract "$tmp/mnt" 2>/dev/null; then
	mnt=$tmp/mnt
	"$IMAPTRACE" -q --extract "$mnt/x" -o "$tmp/full.ndjson" samples/dovecot-large-fetch.pcap 2>"$tmp/full.err"
	st=$?
	"$IMAPTRACE" -q -o "$tmp/plain.ndjson" samples/dovecot-large-fetch.pcap
	if [ $st -eq 3 ] && [ "$(wc -l <"$tmp/full.err")" -eq 1 ] &&
	   grep -q "^imaptrace: $mnt/x/s1-[^ ]*\.eml: No space left on device\$" "$tmp/full.err" &&
	   $PY tests/e2e/validate.py "$tmp/full.ndjson" >/dev/null &&
	   grep -v '"type":"message"' "$tmp/full.ndjson" | cmp -s - "$tmp/plain.ndjson"; then
		ok "full disk: exit 3, one message naming the file, the analysis written in full"
	else
		fail "full disk: status $st, $(cat "$tmp/full.err")"
	fi
	umount "$mnt"
	mount -t tmpfs -o size=64k imt-extract "$mnt" && mkdir "$mnt/x" && mount -o remount,ro "$mnt"
	"$IMAPTRACE" -q --extract "$mnt/x" -o "$tmp/ro.ndjson" samples/dovecot-large-fetch.pcap 2>"$tmp/ro.err"
	st=$?
	if [ $st -eq 2 ] &&
	   grep -q "^imaptrace: cannot write in extraction directory $mnt/x: $mnt/x/manifest.ndjson: Read-only file system\$" "$tmp/ro.err"; then
		ok "read-only DIR: exit 2 before reading, the path named"
	else
		fail "read-only DIR: status $st, $(cat "$tmp/ro.err")"
	fi
	umount "$mnt"
	mnt=""
else
	# Without root, a directory without write permission; as root where
	# a tmpfs cannot be mounted (a container), permissions do not stop
	# root, so DIR is a regular file instead.
	if [ "$(id -u)" != 0 ]; then
		dir=$tmp/ro what="unwritable DIR" why="$tmp/ro/manifest.ndjson: Permission denied"
		mkdir "$dir" && chmod 500 "$dir"
	else
		dir=$tmp/notdir what="DIR that is a file" why="extraction directory $tmp/notdir: Not a directory"
		: >"$dir"
	fi
	"$IMAPTRACE" -q --extract "$dir" -o "$tmp/ro.ndjson" samples/dovecot-large-fetch.pcap 2>"$tmp/ro.err"
	st=$?
	if [ $st -eq 2 ] && grep -q "$why" "$tmp/ro.err"; then
		ok "$what: exit 2 before reading, the path named"
	else
		fail "$what: status $st, $(cat "$tmp/ro.err")"
	fi
	echo "ok extract-edges full disk: skipped (mounting a small tmpfs needs root and the right to mount)"
fi
