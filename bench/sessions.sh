#!/bin/sh
# bench/sessions.sh - what an open session costs: a capture of N IDLE
# sessions open at once (gen -i N: each logged in, INBOX selected, in IDLE
# at the end of the file), against a capture of one such session.  Run
# by `make bench` from the top of the tree, after `make`.
#
# Environment:
#   BENCH_SESSIONS  sessions open at once (default 50000)
#   BENCH_ROUNDS    interleaved rounds (default 5)
#   BENCH_OLD       another imaptrace binary (an earlier build) whose rows
#                   are measured in the same rounds, interleaved ("before")
#   BENCH_SEED      generator seed (default 1)
#
# Bytes per open session: (peak RSS on N sessions - peak RSS on one) / N.
# That share includes what a large capture costs whatever its sessions
# (the reading window and the queue between the threads fill up on the
# N-session file, not on the one-session file), so the marginal cost is
# measured too: (peak RSS on N sessions - peak RSS on N/2) / (N - N/2).
# Time per packet: the median wall time on N sessions / the packets.
# Where the time goes: the bare libpcap loop (reading the file), the same
# analysis on one thread (--threads 1: every stage in turn, so its wall
# time is the CPU work of all stages) and the CPU time of each run (user +
# system, all threads); with two threads the wall time is that of the
# busier thread, the capture thread (reading, IP, TCP) or the engine
# thread (IMAP parser, session engine, output).
# Prints one table and PASS/MISS per target; exits non-zero only when
# something failed, never on a missed target.
set -eu
cd "$(dirname "$0")/.."

N=${BENCH_SESSIONS:-50000}
ROUNDS=${BENCH_ROUNDS:-5}
BEFORE=${BENCH_OLD:-}
. bench/lib.sh

[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "BENCH_OLD=$BEFORE is not executable"
F=$(capture 1 -i "$N")
F1=$(capture 1 -i 1)
NH=$((N / 2))
FH=$(capture 1 -i "$NH")
cat "$F" "$F1" "$FH" >/dev/null
PACKETS=$("$OUT/bareloop" "$F" | awk '{ print $1 }')
MB=$(awk -v b="$(stat -c %s "$F")" 'BEGIN { printf "%.1f", b / 1e6 }')

echo "capture: $F ($MB MB, $PACKETS packets, $N sessions open at the end), $ROUNDS interleaved rounds"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	if [ -n "$BEFORE" ]; then
		timed before1 "$BEFORE" -q -F ndjson -o /dev/null "$F1"
		timed before "$BEFORE" -q -F ndjson -o /dev/null "$F"
	fi
	timed after1 ./imaptrace -q -F ndjson -o /dev/null "$F1"
	timed after ./imaptrace -q -F ndjson -o /dev/null "$F"
	timed afterh ./imaptrace -q -F ndjson -o /dev/null "$FH"
	timed serial ./imaptrace -q -F ndjson --threads 1 -o /dev/null "$F"
	timed bare "$OUT/bareloop" "$F"
	printf '  round %d/%d:%s after %ss\n' "$i" "$ROUNDS" \
		"$([ -z "$BEFORE" ] || awk '$1 == "before" { v = $2 } END { printf " before %ss,", v }' "$RES")" \
		"$(awk '$1 == "after" { v = $2 } END { print v }' "$RES")"
	i=$((i + 1))
done

row() {
	awk -v name="$1" -v w="$(median "$2" 2)" -v c="$(median "$2" 4)" \
	    -v r="$(maxcol "$2" 3)" -v r1="$(maxcol "$3" 3)" -v n="$N" -v pk="$PACKETS" '
	BEGIN {
		printf "%-30s %9.3f %8.2f %12.2f %12.1f", name, w, c, w * 1e6 / pk, r / 1024
		if (r1 > 0)
			printf " %16.0f", (r - r1) * 1024 / n
		printf "\n"
	}'
}
printf '\n%-30s %9s %8s %12s %12s %16s\n' "$N open IDLE sessions" "wall s" "CPU s" "us/packet" "peak RSS MB" "bytes/session"
[ -z "$BEFORE" ] || row "before ($BEFORE)" before before1
row "imaptrace (this build)" after after1
row "  the same, --threads 1" serial ""
row "  bare libpcap loop" bare ""

# Each thread's CPU time, as imaptrace -v reports it (one extra run each).
echo
echo "threads (imaptrace -v, one extra run):"
for b in ${BEFORE:+"$BEFORE"} ./imaptrace; do
	t=$("$b" -v -q -F ndjson -o /dev/null "$F" 2>&1 | sed -n 's/^imaptrace: 2 threads: //p')
	echo "  $b: $t"
done

awk -v w="$(median after 2)" -v r="$(maxcol after 3)" -v r1="$(maxcol after1 3)" \
    -v rh="$(maxcol afterh 3)" -v n="$N" -v nh="$NH" -v pk="$PACKETS" '
BEGIN {
	us = w * 1e6 / pk; b = (r - r1) * 1024 / n; m = (r - rh) * 1024 / (n - nh)
	printf "\nmarginal cost of an open session: peak RSS %.1f MB on %d sessions, %.1f MB on %d: %.0f bytes each\n",
	       rh / 1024, nh, r / 1024, n, m
	printf "\ntargets:\n"
	printf "  %-4s at most 2048 bytes resident per open idle session, both ways (%.0f above one session; %.0f marginal)\n",
	       (b <= 2048 && m <= 2048 ? "PASS" : "MISS"), b, m
	printf "  %-4s at most 0.7 us per packet (%.2f)\n", (us <= 0.7 ? "PASS" : "MISS"), us
}'
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
