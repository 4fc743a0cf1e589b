#!/bin/sh
# bench/extract.sh - the cost of --extract on the benchmark capture: the
# same run with and without it, interleaved, the directory on tmpfs
# (targets: at most 2.0x the time, peak RSS at most 48 MB), and the run
# without it against a reference binary (target: not slower).  Run from
# the top of the tree after `make`; not part of `make check`.
#
# Environment:
#   BENCH_SIZE_MB    capture size (default 1000), BENCH_SEED (default 1)
#   BENCH_ROUNDS     interleaved rounds (default 3)
#   BENCH_XDIR       the extraction directory, emptied before each run
#                    (default /dev/shm/imaptrace-bench-extract)
#   BENCH_OLD        the previous binary, to compare the run without --extract with
#                    (skipped when unset)
set -eu
cd "$(dirname "$0")/.."
SIZE=${BENCH_SIZE_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
XDIR=${BENCH_XDIR:-/dev/shm/imaptrace-bench-extract}
REF=${BENCH_OLD:-}
. bench/lib.sh
F=$(capture "$SIZE")
[ -x "$REF" ] || REF=""
case "$XDIR" in
/*) ;;
*) die "BENCH_XDIR must be an absolute path" ;;
esac

trap 'rm -f "$RES" "$TMP"; rm -rf "$XDIR"' EXIT
echo "capture: $F ($(stat -c %s "$F") bytes), $ROUNDS interleaved rounds, median wall time"
echo "extraction directory: $XDIR ($(df -P "$(dirname "$XDIR")" | awk 'NR == 2 { print $1 }'))"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	timed plain ./imaptrace -q -o /dev/null "$F"
	rm -rf "$XDIR"
	timed extract ./imaptrace -q --extract "$XDIR" -o /dev/null "$F"
	files=$(find "$XDIR" -type f | wc -l)
	bytes=$(du -sb "$XDIR" | cut -f1)
	rm -rf "$XDIR"
	[ -n "$REF" ] && timed reference "$REF" -q -o /dev/null "$F"
	printf '  round %d/%d: without %ss, with --extract %ss (%s files, %s bytes)%s\n' \
		"$i" "$ROUNDS" \
		"$(awk '$1 == "plain" { v = $2 } END { print v }' "$RES")" \
		"$(awk '$1 == "extract" { v = $2 } END { print v }' "$RES")" "$files" "$bytes" \
		"$([ -n "$REF" ] && awk '$1 == "reference" { v = $2 } END { printf ", reference %ss", v }' "$RES")"
	i=$((i + 1))
done

awk -v pw="$(median plain 2)" -v pr="$(maxcol plain 3)" \
    -v xw="$(median extract 2)" -v xr="$(maxcol extract 3)" \
    -v rw="$(median reference 2)" -v rr="$(maxcol reference 3)" -v ref="$REF" 'BEGIN {
	printf "\n%-40s %10s %12s %9s\n", "run", "wall s", "peak RSS MB", "ratio"
	printf "%-40s %10.3f %12.1f %9s\n", "without --extract", pw, pr / 1024, "1.00x"
	printf "%-40s %10.3f %12.1f %8.2fx\n", "with --extract (tmpfs)", xw, xr / 1024, xw / pw
	if (ref != "")
		printf "%-40s %10.3f %12.1f %8.2fx\n", "reference, without --extract", rw, rr / 1024, rw / pw
	printf "\ntargets:\n"
	printf "  %-4s --extract at most 2.0x the time (%.2fx)\n", (xw <= 2.0 * pw ? "PASS" : "MISS"), xw / pw
	printf "  %-4s --extract peak RSS at most 48 MB (%.1f MB)\n", (xr <= 48 * 1024 ? "PASS" : "MISS"), xr / 1024
	if (ref != "")
		printf "  %-4s without --extract not slower than the reference (%.3f s against %.3f s, 5%% noise allowed)\n",
			(pw <= rw * 1.05 ? "PASS" : "MISS"), pw, rw
}'
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
