#!/bin/sh
# The text format is written for a terminal, so nothing from the capture
# may reach one as a control: on tests/captures/out-escapes.pcap (ESC ]0;
# title BEL, ESC [2J, a UTF-8 C1 CSI, DEL, NUL, CR, BS in greetings,
# results, user and mailbox names, FETCH data) and on every sample and
# crafted capture, the text output holds no C0 control but newline, no DEL
# and no C1 control, and the escape sequences show as \xNN.  Colour: only
# on a terminal (a pty here), never in a pipe or a file; --color=always and
# =never force it; NO_COLOR turns off the automatic choice.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# no_controls FILE: exit 0 when FILE has no control byte but \n
no_controls() {
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], 'rb').read()
bad = re.search(rb'[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]', data)
if bad:
    print('control byte %r at %d' % (bad.group(0), bad.start()))
    sys.exit(1)
PY
}

cap=tests/captures/out-escapes.pcap
"$IMAPTRACE" -q -F text "$cap" >"$tmp/esc.txt" 2>"$tmp/err"
if msg=$(no_controls "$tmp/esc.txt"); then
	echo "ok text escapes: no control character from the capture reaches the output"
else
	echo "FAIL text escapes: $msg"
fi
n=0
for want in 'greeting OK \x1B]0;PWNED\x07ready \x1B[2J\x1B[H' \
	    'a1 OK \xC2\x9B31mlogged in\x7F\x00\x0D\x08done' \
	    'user user\x1B]0;PWNED\x07' 'SELECT "box\x1B[2J\x1B[H"'; do
	grep -qF "$want" "$tmp/esc.txt" || { echo "FAIL text escapes: no line with '$want'"; n=1; }
done
[ $n = 0 ] && echo "ok text escapes: written as \\xNN (greeting, result, user, mailbox)"
# The JSON formats keep their contract: JSON's own escapes, unchanged.
"$IMAPTRACE" -q -F ndjson "$cap" >"$tmp/esc.ndjson"
if grep -qF '\u001b]0;PWNED\u0007' "$tmp/esc.ndjson"; then
	echo "ok text escapes: ndjson keeps JSON's \\u001b escapes"
else
	echo "FAIL text escapes: ndjson changed"
fi

bad=""
for c in samples/*.pcap tests/captures/*.pcap; do
	"$IMAPTRACE" -q -F text "$c" >"$tmp/t.txt" 2>/dev/null
	no_controls "$tmp/t.txt" >/dev/null || bad="$bad $(basename "$c")"
done
if [ -z "$bad" ]; then
	echo "ok text escapes: no control character in the text of any sample or crafted capture"
else
	echo "FAIL text escapes: control characters in:$bad"
fi

# colour: in a pipe, in a file, on a pty, forced
has_sgr() { grep -q "$(printf '\033')\[" "$1"; }
"$IMAPTRACE" -q -F text "$cap" | cat >"$tmp/pipe.txt"
"$IMAPTRACE" -q -F text -o "$tmp/file.txt" "$cap"
if has_sgr "$tmp/pipe.txt" || has_sgr "$tmp/file.txt"; then
	echo "FAIL text colour: escape sequences in a pipe or a file"
else
	echo "ok text colour: none in a pipe or a file"
fi
"$IMAPTRACE" -q -F text --color=always "$cap" >"$tmp/always.txt"
"$IMAPTRACE" -q -F text --color=never "$cap" >"$tmp/never.txt"
if has_sgr "$tmp/always.txt" && ! has_sgr "$tmp/never.txt" &&
   [ "$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/always.txt" | md5sum)" = "$(md5sum <"$tmp/never.txt")" ]; then
	echo "ok text colour: --color=always adds only colour to --color=never"
else
	echo "FAIL text colour: --color=always/never"
fi
if "$IMAPTRACE" --color=sometimes "$cap" >/dev/null 2>&1; then
	echo "FAIL text colour: --color=sometimes accepted"
else
	echo "ok text colour: a bad --color value is a usage error"
fi
# on a terminal: a pty from python's standard library
on_pty() {
	/usr/bin/python3 - "$@" <<'PY'
import os, pty, sys
out = b''
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
PY
}
on_pty "$IMAPTRACE" -q "$cap" >"$tmp/pty.txt"
NO_COLOR=1 on_pty "$IMAPTRACE" -q "$cap" >"$tmp/pty-nocolor.txt"
NO_COLOR=1 on_pty "$IMAPTRACE" -q --color=always "$cap" >"$tmp/pty-always.txt"
if has_sgr "$tmp/pty.txt" && ! has_sgr "$tmp/pty-nocolor.txt" && has_sgr "$tmp/pty-always.txt"; then
	echo "ok text colour: on a terminal, off with NO_COLOR, on again with --color=always"
else
	echo "FAIL text colour: terminal / NO_COLOR / --color=always"
fi
