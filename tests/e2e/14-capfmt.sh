#!/bin/sh
# Capture formats end to end: gzip, zstd and lz4 captures told by their
# content (from a file and from standard input) give the output of the
# plain capture; a cut or corrupt one is exit 3 naming the file and the
# frame, with everything before it analysed and written; pcapng read as
# pcap is; rotated files are read as one capture, a session that crosses
# a file boundary staying one session.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
S=samples/dovecot-imaplib-session.pcap
D=tests/captures/compressed

check() {	# check NAME EXPECTED_STATUS ACTUAL_STATUS [extra condition result]
	if [ "$2" = "$3" ] && [ "${4:-0}" = 0 ]; then
		echo "ok capfmt $1"
	else
		echo "FAIL capfmt $1 (status $3, wanted $2; condition ${4:-0})"
	fi
}
same() { cmp -s "$1" "$2"; echo $?; }
has() { grep -q -- "$1" "$2"; echo $?; }

for fmt in ndjson text; do
	"$IMAPTRACE" -q -F $fmt "$S" >"$tmp/ref.$fmt"
done
# Names say nothing: each file is copied to a name without a suffix.
for f in session.pcap.gz session.pcapng.zst session.pcap.lz4; do
	cp "$D/$f" "$tmp/capture"
	for fmt in ndjson text; do
		"$IMAPTRACE" -q -F $fmt "$tmp/capture" >"$tmp/o"
		check "$f as a file, $fmt" 0 $? "$(same "$tmp/o" "$tmp/ref.$fmt")"
		"$IMAPTRACE" -q -F $fmt - <"$D/$f" >"$tmp/o"
		check "$f from standard input, $fmt" 0 $? "$(same "$tmp/o" "$tmp/ref.$fmt")"
		cat "$D/$f" | "$IMAPTRACE" -q -F $fmt - >"$tmp/o"
		check "$f from a pipe, $fmt" 0 $? "$(same "$tmp/o" "$tmp/ref.$fmt")"
	done
done

# Cut in the middle of a packet, garbage over a block: the packets before
# the error give what a capture of just them gives.
for c in "cut-session.pcap.gz 27" "cut-session.pcapng.zst 29" \
	 "cut-session.pcap.lz4 26" "bad-session.pcapng.zst 29" \
	 "bad-session.pcap.lz4 26" "bad-session.pcap.gz 27"; do
	set -- $c
	editcap -r "$S" "$tmp/first.pcap" 1-$(($2 - 1)) 2>/dev/null
	"$IMAPTRACE" -q -F ndjson "$tmp/first.pcap" >"$tmp/ref"
	"$IMAPTRACE" -q -F ndjson "$D/$1" >"$tmp/o" 2>"$tmp/e"
	check "$1: exit 3, everything before frame $2 written" 3 $? "$(same "$tmp/o" "$tmp/ref")"
	check "$1: the error names the file and frame $2" 0 0 "$(has "^imaptrace: $D/$1: frame $2: " "$tmp/e")"
	"$IMAPTRACE" -q -F ndjson - <"$D/$1" >"$tmp/o" 2>"$tmp/e"
	check "$1 from standard input: exit 3, the same events" 3 $? "$(same "$tmp/o" "$tmp/ref")"
	check "$1 from standard input: names <stdin> and frame $2" 0 0 "$(has "^imaptrace: <stdin>: frame $2: " "$tmp/e")"
done

# pcapng: the same output as pcap, mapped or piped.
editcap -F pcapng "$S" "$tmp/s.pcapng"
for fmt in ndjson text; do
	"$IMAPTRACE" -q -F $fmt "$tmp/s.pcapng" >"$tmp/o"
	check "pcapng, $fmt" 0 $? "$(same "$tmp/o" "$tmp/ref.$fmt")"
	"$IMAPTRACE" -q -F $fmt - <"$tmp/s.pcapng" >"$tmp/o"
	check "pcapng from standard input, $fmt" 0 $? "$(same "$tmp/o" "$tmp/ref.$fmt")"
done

# Rotated files (editcap -c: 7 packets each, so the session's packets
# fall into every file): one capture, one session, the same events.
mkdir "$tmp/ring"
editcap -F pcapng -c 7 "$S" "$tmp/ring/part.pcapng"
n=$(ls "$tmp/ring" | wc -l)
check "the session is split over $n files" 0 0 "$([ "$n" -ge 5 ]; echo $?)"
for fmt in ndjson text; do
	"$IMAPTRACE" -q -F $fmt "$tmp"/ring/part* >"$tmp/o"
	check "rotated files, $fmt: the output of the one file" 0 $? "$(same "$tmp/o" "$tmp/ref.$fmt")"
done
"$IMAPTRACE" -q -F ndjson "$tmp"/ring/part* >"$tmp/o"
check "rotated files: one session" 0 $? "$(/usr/bin/python3 - "$tmp/o" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
print(0 if sum(e["type"] == "session_start" for e in ev) == 1 and
      {e["session"] for e in ev if "session" in e} == {1} else 1)
PY
)"
# The same files, each compressed with a different format.
i=0
for f in "$tmp"/ring/part*; do
	case $((i % 3)) in
	0) gzip -c "$f" >"$f.c" ;;
	1) zstd -q -c "$f" >"$f.c" ;;
	2) lz4 -q -c "$f" >"$f.c" ;;
	esac
	i=$((i + 1))
done
"$IMAPTRACE" -q -F ndjson "$tmp"/ring/part*.c >"$tmp/o"
check "rotated files compressed in turn with gzip, zstd and lz4" 0 $? "$(same "$tmp/o" "$tmp/ref.ndjson")"

# Several sections (little- and big-endian) and interfaces in one pcapng:
# the same events mapped, from a pipe and zstd-compressed.
cat "$tmp/s.pcapng" tests/captures/be.pcapng tests/captures/mixed.pcapng "$tmp/s.pcapng" >"$tmp/multi.pcapng"
"$IMAPTRACE" -q -F ndjson "$tmp/multi.pcapng" >"$tmp/m1"
check "multi-section pcapng, mapped" 0 $? "$([ -s "$tmp/m1" ]; echo $?)"
cat "$tmp/multi.pcapng" | "$IMAPTRACE" -q -F ndjson - >"$tmp/m2"
check "multi-section pcapng from a pipe: the same events" 0 $? "$(same "$tmp/m1" "$tmp/m2")"
zstd -q -c "$tmp/multi.pcapng" | "$IMAPTRACE" -q -F ndjson - >"$tmp/m2"
check "multi-section pcapng, zstd from a pipe: the same events" 0 $? "$(same "$tmp/m1" "$tmp/m2")"

# pcap read in place from the mapping gives what libpcap reading the same
# bytes from a pipe gives, for every kind of record header: timestamps
# with the high bit set and out of range, nanosecond files, captured
# lengths over the snapshot length (libpcap cuts them) and over its
# sanity bound (an error), a captured length over the wire length,
# versions 2.3 (lengths maybe swapped) and the other byte order, a file
# cut within a record header or its data, a file of just its header.
/usr/bin/python3 - "$S" "$tmp" <<'PY'
import struct, sys
src = open(sys.argv[1], 'rb').read()
hdr, recs, pos = src[:24], [], 24
while pos + 16 <= len(src):
    sec, frac, cl, wl = struct.unpack('<IIII', src[pos:pos + 16])
    recs.append([sec, frac, cl, wl, src[pos + 16:pos + 16 + cl]])
    pos += 16 + cl

def put(name, h, rs, order='<', tail=b''):
    out = bytearray(h)
    for sec, frac, cl, wl, d in rs:
        out += struct.pack(order + 'IIII', sec, frac, cl, wl) + d
    open('%s/walk-%s.pcap' % (sys.argv[2], name), 'wb').write(out + tail)

def with_hdr(off, fmt, v):
    h = bytearray(hdr)
    struct.pack_into(fmt, h, off, v)
    return bytes(h)

def change(i, field, v):
    rs = [list(r) for r in recs]
    rs[i][field] = v
    return rs

put('snap100', with_hdr(16, '<I', 100), recs)
put('snap300', with_hdr(16, '<I', 300), recs)
rs = change(2, 1, 0xfffffff0); rs[3][0] = 0x90000000; rs[5][1] = 1500000
put('ts', hdr, rs)
put('nano', with_hdr(0, '<I', 0xa1b23c4d), change(2, 1, 0xffffffff))
put('v23', with_hdr(6, '<H', 3), change(3, 3, 10))
put('caplen-over-len', hdr, change(3, 3, 5))
put('over-bound', with_hdr(16, '<I', 0x7fffffff), change(4, 2, 300000))
put('big-endian', struct.pack('>IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1), recs, '>')
put('cut-header', hdr, recs, tail=b'abc')
put('cut-data', hdr, recs, tail=struct.pack('<IIII', 1, 2, 100, 100) + b'x' * 40)
put('header-only', hdr, [])
PY
for f in "$tmp"/walk-*.pcap; do
	n=$(basename "$f" .pcap)
	"$IMAPTRACE" -q -F ndjson "$f" >"$tmp/o" 2>"$tmp/e"
	a=$?
	"$IMAPTRACE" -q -F ndjson - <"$f" >"$tmp/o2" 2>"$tmp/e2"
	b=$?
	sed "s|<stdin>|$f|" "$tmp/e2" >"$tmp/e3"
	check "$n: read in place as libpcap reads it from a pipe (exit $b, the same events and error)" \
		"$b" "$a" "$(cmp -s "$tmp/o" "$tmp/o2" && cmp -s "$tmp/e" "$tmp/e3"; echo $?)"
done
