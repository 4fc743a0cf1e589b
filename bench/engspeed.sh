#!/bin/sh
# bench/engspeed.sh - the engine thread's CPU per packet: the IMAP parser,
# the session engine and the output, which run on the second thread.  On
# the capture of N IDLE sessions open at once (gen -i N, 11 packets and 17
# events each) that thread bounds the wall time; on the 1 GB benchmark
# the capture thread does.  Run by `make bench` from the top of the tree,
# after `make`.
#
# Environment:
#   BENCH_SESSIONS  sessions open at once (default 50000)
#   BENCH_ROUNDS    interleaved rounds (default 5)
#   BENCH_OLD       an earlier imaptrace binary, measured in the same
#                   rounds, interleaved ("before"); without it only this
#                   build is measured and the relative targets are skipped
#   BENCH_SEED      generator seed (default 1)
#
# Each run is imaptrace -v -q -F ndjson -o /dev/null: the wall time, and
# the CPU time of each thread as imaptrace -v reports it ("reading, IP
# and TCP" on the capture thread; "IMAP, sessions, output" on the engine
# thread).  CPU times are steadier than wall times on a shared machine.
# Prints one table and PASS/MISS per target; exits non-zero only when
# something failed, never on a missed target.
set -eu
cd "$(dirname "$0")/.."

N=${BENCH_SESSIONS:-50000}
ROUNDS=${BENCH_ROUNDS:-5}
BEFORE=${BENCH_OLD:-}
. bench/lib.sh

[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "BENCH_OLD=$BEFORE is not executable"
FI=$(capture 1 -i "$N")
FB=$(capture 1000)
cat "$FI" "$FB" >/dev/null
PI=$("$OUT/bareloop" "$FI" | awk '{ print $1 }')
PB=$("$OUT/bareloop" "$FB" | awk '{ print $1 }')

# eng NAME BINARY FILE: one run, "NAME wall_s capture_cpu_s engine_cpu_s"
# appended to $RES.
eng() {
	t0=$(date +%s%N)
	"$2" -v -q -F ndjson -o /dev/null "$3" 2>"$TMP" || die "$1 failed: $2 $3"
	t1=$(date +%s%N)
	sed -n 's/^imaptrace: 2 threads: reading, IP and TCP \([0-9.]*\) s CPU; .* \([0-9.]*\) s CPU; .*/\1 \2/p' \
		"$TMP" | awk -v n="$1" -v a="$t0" -v b="$t1" \
		'{ printf "%s %.3f %s %s\n", n, (b - a) / 1e9, $1, $2 }' >>"$RES"
	grep -q "^$1 " "$RES" || die "$1: no thread times in imaptrace -v"
}

echo "captures: $FI ($PI packets, $N IDLE sessions), $FB ($PB packets); $ROUNDS interleaved rounds"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	[ -z "$BEFORE" ] || eng idle_before "$BEFORE" "$FI"
	eng idle_after ./imaptrace "$FI"
	[ -z "$BEFORE" ] || eng big_before "$BEFORE" "$FB"
	eng big_after ./imaptrace "$FB"
	printf '  round %d/%d done\n' "$i" "$ROUNDS"
	i=$((i + 1))
done

row() {
	awk -v name="$1" -v w="$(median "$2" 2)" -v c="$(median "$2" 3)" \
	    -v e="$(median "$2" 4)" -v pk="$3" '
	BEGIN { printf "%-34s %8.3f %10.2f %11.3f %11.3f %12.3f\n", name, w, w * 1e6 / pk, c, e, e * 1e6 / pk }'
}
printf '\n%-34s %8s %10s %11s %11s %12s\n' "median of $ROUNDS rounds" "wall s" "us/packet" \
	"capture s" "engine s" "engine us/pk"
[ -z "$BEFORE" ] || row "$N IDLE sessions, before" idle_before "$PI"
row "$N IDLE sessions, this build" idle_after "$PI"
[ -z "$BEFORE" ] || row "1 GB benchmark, before" big_before "$PB"
row "1 GB benchmark, this build" big_after "$PB"

awk -v w="$(median idle_after 2)" -v e="$(median idle_after 4)" -v pk="$PI" \
    -v e0="$(median idle_before 4)" -v b="$(median big_after 2)" \
    -v b0="$(median big_before 2)" -v old="$BEFORE" '
BEGIN {
	printf "\ntargets:\n"
	printf "  %-4s at most 0.7 us per packet on %d packets of IDLE sessions (%.2f)\n",
	       (w * 1e6 / pk <= 0.7 ? "PASS" : "MISS"), pk, w * 1e6 / pk
	printf "  %-4s the engine thread at most 0.33 s CPU there (%.3f)\n",
	       (e <= 0.33 ? "PASS" : "MISS"), e
	if (old != "" && e0 > 0) {
		printf "  %-4s the engine thread 30%% below the earlier build (%.3f -> %.3f s, %+.0f%%)\n",
		       (e <= 0.7 * e0 ? "PASS" : "MISS"), e0, e, (e / e0 - 1) * 100
		printf "  %-4s the 1 GB benchmark no slower than the earlier build (%.3f -> %.3f s, %+.1f%%; 3%% allowed)\n",
		       (b <= 1.03 * b0 ? "PASS" : "MISS"), b0, b, (b / b0 - 1) * 100
	}
}'
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
