#!/bin/sh
# bench/html.sh - the html report of the benchmark capture: its size, the
# time and peak RSS to write it, and the time headless Chromium takes to
# load and draw it (target: under 10 s).  Run from the top of the tree
# after `make`; generates the capture as bench/run.sh does (kept in
# bench/data).  Not part of `make check`.
#
# Environment: BENCH_SIZE_MB (default 1000), BENCH_SEED (default 1).
set -eu
cd "$(dirname "$0")/.."
SIZE=${BENCH_SIZE_MB:-1000}
. bench/lib.sh
command -v chromium >/dev/null 2>&1 || die "chromium is missing: apt-get install chromium"
cap=$(capture "$SIZE")
report="$OUT/report-${SIZE}mb.html"
t0=$(date +%s%N)
/usr/bin/time -o "$OUT/html.time" -f '%M %U' ./imaptrace -q -F html -o "$report" "$cap" ||
	die "imaptrace failed"
t1=$(date +%s%N)
load=$(/usr/bin/python3 tests/e2e/html_check.py --time "$report")
secs=$(echo "$load" | sed -n 's/.*drawn in \([0-9.]*\) s.*/\1/p')
awk -v b="$(wc -c <"$report")" -v w0="$t0" -v w1="$t1" -v m="$(cut -d' ' -f1 "$OUT/html.time")" \
    -v u="$(cut -d' ' -f2 "$OUT/html.time")" -v s="$secs" -v l="$load" 'BEGIN {
	printf "report %.2f MB (%d bytes), written in %.1f s (%.1f s CPU), peak RSS %.1f MB\n",
		b / 1e6, b, (w1 - w0) / 1e9, u, m / 1024
	printf "chromium: %s\n", l
	printf "  %-4s opens in under 10 s (%s s)\n", (s != "" && s < 10 ? "PASS" : "MISS"), s
}'
