#!/bin/sh
# bench/reorder.sh - what the TCP reorder window (tcp_reorder.c) and the
# segment-start resynchronisation cost on a clean capture: the benchmark
# capture of run.sh read by a reference imaptrace (BENCH_BASE, e.g. a build
# of the previous release) and by ./imaptrace, interleaved, BENCH_ROUNDS
# rounds (default 3).  Target: the median wall time within 3% of the
# reference (the window looks at one ACK per packet and holds nothing when
# nothing is missing).  Run from the top of the tree after `make`.
#
# Environment: BENCH_BASE (without it the script says it skipped), BENCH_SIZE_MB (default 1000),
# BENCH_SEED (default 1), BENCH_ROUNDS (default 3).
set -eu
cd "$(dirname "$0")/.."
SIZE=${BENCH_SIZE_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
. bench/lib.sh
BASE=${BENCH_BASE:-}
if [ -z "$BASE" ]; then
	echo "skipped: set BENCH_BASE to a reference imaptrace binary"
	exit 0
fi
[ -x "$BASE" ] || die "BENCH_BASE=$BASE is not an executable"
cap=$(capture "$SIZE")
i=0
while [ $i -lt "$ROUNDS" ]; do
	timed base "$BASE" -q -F ndjson -o /dev/null "$cap"
	timed new ./imaptrace -q -F ndjson -o /dev/null "$cap"
	i=$((i + 1))
done
b=$(median base 2)
n=$(median new 2)
awk -v b="$b" -v n="$n" -v br="$(median base 3)" -v nr="$(median new 3)" -v s="$SIZE" 'BEGIN {
	printf "| %d MB capture | wall s (median) | peak RSS MB |\n|---|---:|---:|\n", s
	printf "| reference | %.2f | %.1f |\n| this tree | %.2f | %.1f |\n", b, br / 1024, n, nr / 1024
	printf "  %-4s within 3%% of the reference (%+.1f%%)\n",
		(n <= b * 1.03 ? "PASS" : "MISS"), (n / b - 1) * 100
}'
