#!/bin/sh
# bench/tls.sh - the cost of reading inside TLS.  Run by `make bench` from
# the top of the tree, after `make` has built ./imaptrace.
#
# gen -t writes the sessions of the plain capture as IMAPS under TLS 1.3
# TLS_AES_128_GCM_SHA256, with their key log: the same IMAP, byte for
# byte once decrypted.  Interleaved in each round:
#   tls     ./imaptrace --keylog KEYLOG on the TLS capture (decrypting)
#   plain   ./imaptrace on the plain capture
#   base    $BENCH_OLD on the plain capture (the previous binary)
# Targets: tls at most 2.0x plain (median wall time), tls peak RSS at most
# 32 MB, plain no slower than base (within 3%, the noise of this machine).
# The CPU time (user + system) of each run is reported beside the wall
# time: on a shared machine it is the steadier of the two.
#
# Environment:
#   BENCH_TLS_MB     size of the captures (default 1000)
#   BENCH_ROUNDS     interleaved rounds (default 5)
#   BENCH_SEED       generator seed (default 1)
#   BENCH_OLD        the previous binary (unset: not measured;
#                    its row is skipped when it is missing)
set -eu
cd "$(dirname "$0")/.."

SIZE=${BENCH_TLS_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-5}
BASE=${BENCH_OLD:-}
. bench/lib.sh

P=$(capture "$SIZE")
T=$(capture "$SIZE" -t)
[ -s "$T.keylog" ] || die "$T.keylog is missing: delete $T to regenerate it"
cat "$P" "$T" >/dev/null

echo "captures: $P ($(stat -c %s "$P") bytes), $T ($(stat -c %s "$T") bytes)"
echo "$ROUNDS interleaved rounds, median wall time, largest peak RSS"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	timed tls ./imaptrace -q -F ndjson -o /dev/null --keylog "$T.keylog" "$T"
	timed plain ./imaptrace -q -F ndjson -o /dev/null "$P"
	[ -x "$BASE" ] && timed base "$BASE" -q -F ndjson -o /dev/null "$P"
	printf '  round %d/%d: tls %ss (CPU %ss), plain %ss (CPU %ss), base %ss (CPU %ss)\n' \
		"$i" "$ROUNDS" \
		$(awk '$1 == "tls" { v = $2; c = $4 } END { print v, c }' "$RES") \
		$(awk '$1 == "plain" { v = $2; c = $4 } END { print v, c }' "$RES") \
		$(awk '$1 == "base" { v = $2; c = $4 } END { print v + 0, c + 0 }' "$RES")
	i=$((i + 1))
done

# The decrypting run reads every session: check it once, outside the timing.
./imaptrace -q -F json --keylog "$T.keylog" "$T" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)
n = len(t["sessions"])
dec = sum(1 for s in t["sessions"] if s["summary"].get("decrypted"))
print("  decrypted sessions: %d of %d" % (dec, n))
sys.exit(0 if n and dec == n else 1)' || die "the TLS capture was not decrypted whole"

TLS=$(median tls 2)
PLAIN=$(median plain 2)
RSS=$(maxcol tls 3)
printf '\n| run | median wall s | median CPU s | peak RSS MB |\n|---|---:|---:|---:|\n'
printf '| tls (decrypting) | %s | %s | %.1f |\n' "$TLS" "$(median tls 4)" "$(echo "$RSS" | awk '{ print $1 / 1024 }')"
printf '| plain | %s | %s | %.1f |\n' "$PLAIN" "$(median plain 4)" "$(maxcol plain 3 | awk '{ print $1 / 1024 }')"
if [ -x "$BASE" ]; then
	BASEM=$(median base 2)
	printf '| base (%s) | %s | %s | %.1f |\n' "$BASE" "$BASEM" "$(median base 4)" "$(maxcol base 3 | awk '{ print $1 / 1024 }')"
fi
echo
awk -v t="$TLS" -v p="$PLAIN" -v tc="$(median tls 4)" -v pc="$(median plain 4)" 'BEGIN { r = t / p;
	printf "tls / plain = %.2fx wall, %.2fx CPU (target <= 2.0x wall): %s\n", r, (pc > 0 ? tc / pc : 0), r <= 2.0 ? "PASS" : "MISS" }'
awk -v m="$RSS" 'BEGIN { printf "tls peak RSS = %.1f MB (target <= 32 MB): %s\n", m / 1024, m <= 32768 ? "PASS" : "MISS" }'
if [ -x "$BASE" ]; then
	awk -v p="$PLAIN" -v b="$BASEM" -v pc="$(median plain 4)" -v bc="$(median base 4)" 'BEGIN { r = p / b;
	printf "plain / base = %.3f wall, %.3f CPU (target: no slower, <= 1.03 with noise): %s\n", r, (bc > 0 ? pc / bc : 0), r <= 1.03 ? "PASS" : "MISS" }'
else
	echo "plain / base: $BASE missing, not measured"
fi
