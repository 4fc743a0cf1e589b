#!/bin/sh
# bench/run.sh - imaptrace's speed and memory against the floor of any
# libpcap reader (bench/bareloop.c) and against tshark.  Run by `make bench`
# from the top of the tree, after `make` has built ./imaptrace.
#
# Environment:
#   BENCH_SIZE_MB   size of the main capture (default 1000)
#   BENCH_ROUNDS    interleaved rounds of bare loop and imaptrace (default 5)
#   BENCH_SEED      generator seed (default 1)
#   BENCH_2GB=1     also run imaptrace once on a 2000 MB capture (peak RSS)
#   BENCH_TSHARK_MB size of the tshark capture (default 30; 0 skips tshark)
#   BENCH_OLD       a previous imaptrace, timed in the same rounds (target:
#                   this tree at most 3% slower; unset: skipped)
#
# Prints one table and PASS/MISS per target.  Exits non-zero only when
# something failed (a build, the generator, a run), never on a missed target.
set -eu
cd "$(dirname "$0")/.."

SIZE=${BENCH_SIZE_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-5}
TSIZE=${BENCH_TSHARK_MB:-30}
. bench/lib.sh

F=$(capture "$SIZE")
BYTES=$(stat -c %s "$F")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.1f", b / 1e6 }')

# Warm the page cache: every run then reads the file from memory, so the
# comparison is of CPU work, not of the disk.
cat "$F" >/dev/null

# CPU time the hypervisor gave to others ("steal", /proc/stat), in ticks
# of all CPUs; both threads of imaptrace suffer from it, the single
# thread of the bare loop less, so the report says how much there was.
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9 }' /proc/stat 2>/dev/null || echo "0 0"; }
STEAL0=$(cpu_ticks)

echo "capture: $F ($MB MB), $ROUNDS interleaved rounds, median wall time"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	timed bare "$OUT/bareloop" "$F"
	timed imaptrace ./imaptrace -q -F ndjson -o /dev/null "$F"
	timed imaptrace1 ./imaptrace --threads 1 -q -F ndjson -o /dev/null "$F"
	if [ -n "${BENCH_OLD:-}" ]; then
		timed old "$BENCH_OLD" -q -F ndjson -o /dev/null "$F"
	fi
	printf '  round %d/%d: bare %ss, imaptrace %ss, imaptrace --threads 1 %ss\n' \
		"$i" "$ROUNDS" \
		"$(awk '$1 == "bare" { v = $2 } END { print v }' "$RES")" \
		"$(awk '$1 == "imaptrace" { v = $2 } END { print v }' "$RES")" \
		"$(awk '$1 == "imaptrace1" { v = $2 } END { print v }' "$RES")"
	i=$((i + 1))
done

STEAL1=$(cpu_ticks)
STEAL=$(echo "$STEAL0 $STEAL1" | awk '{ t = $3 - $1; s = $4 - $2;
	printf "%.1f%% of the CPU time during the rounds", (t > 0 ? 100 * s / t : 0) }')

# tshark on a smaller capture from the same generator: at ~3 MB/s it would
# take minutes on the main one.  Its MB/s is compared, not its time.
TS_NOTE=""
if [ "$TSIZE" != 0 ] && command -v tshark >/dev/null 2>&1; then
	TF=$(capture "$TSIZE")
	TBYTES=$(stat -c %s "$TF")
	cat "$TF" >/dev/null
	timed tshark tshark -n -r "$TF" -Y imap -T ek
	TS_NOTE="tshark ran on $TF ($(awk -v b="$TBYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB), not on the main capture: its MB/s is from that run, its time is extrapolated to $MB MB"
else
	TBYTES=0
	TS_NOTE="tshark: not installed or BENCH_TSHARK_MB=0, skipped"
fi

if [ "${BENCH_2GB:-0}" = 1 ]; then
	F2=$(capture 2000)
	cat "$F2" >/dev/null
	timed imaptrace2g ./imaptrace -q -F ndjson -o /dev/null "$F2"
fi

# Which thread bounds the run: -v gives each one's CPU time.
THREADS=$(./imaptrace -v -q -F ndjson -o /dev/null "$F" 2>&1 | sed -n 's/^imaptrace: 2 threads: //p')

BW=$(median bare 2)
IW=$(median imaptrace 2)
I1W=$(median imaptrace1 2)
I1R=$(maxcol imaptrace1 3)
BR=$(maxcol bare 3)
IR=$(maxcol imaptrace 3)
TW=$(median tshark 2)
TR=$(maxcol tshark 3)
I2R=$(maxcol imaptrace2g 3)

awk -v bytes="$BYTES" -v tbytes="$TBYTES" -v bw="$BW" -v iw="$IW" -v tw="$TW" \
    -v i1w="$I1W" -v i1r="$I1R" \
    -v br="$BR" -v ir="$IR" -v tr="$TR" -v i2r="$I2R" -v mb="$MB" \
    -v rounds="$ROUNDS" '
function mbs(b, t) { return t > 0 ? b / 1e6 / t : 0 }
BEGIN {
	bm = mbs(bytes, bw); im = mbs(bytes, iw); tm = mbs(tbytes, tw)
	printf "\n%-34s %10s %10s %12s %9s\n", "reader (" mb " MB capture)", "wall s", "MB/s", "peak RSS MB", "ratio"
	printf "%-34s %10.3f %10.0f %12.1f %9s\n", "bare pcap_next_ex loop", bw, bm, br / 1024, "1.00x"
	printf "%-34s %10.3f %10.0f %12.1f %8.2fx\n", "imaptrace -F ndjson -o /dev/null", iw, im, ir / 1024, iw / bw
	printf "%-34s %10.3f %10.0f %12.1f %8.2fx\n", "  the same with --threads 1", i1w, mbs(bytes, i1w), i1r / 1024, i1w / bw
	if (tw > 0)
		printf "%-34s %10.1f %10.1f %12.1f %8.0fx\n", "tshark -Y imap -T ek (extrap.)", bytes / 1e6 / tm, tm, tr / 1024, im / tm
	printf "\nratios: imaptrace/bare wall time %.2fx", iw / bw
	if (tw > 0)
		printf "; imaptrace/tshark MB/s %.0fx", im / tm
	printf "\n"
	if (i2r > 0)
		printf "peak RSS: %.1f MB on the main capture, %.1f MB on 2000 MB\n", ir / 1024, i2r / 1024
	printf "\ntargets:\n"
	printf "  %-4s imaptrace at most 2.0x the bare loop (%.2fx)\n", (iw / bw <= 2.0 ? "PASS" : "MISS"), iw / bw
	if (tw > 0)
		printf "  %-4s at least 300x the MB/s of tshark -T ek (%.0fx)\n", (im / tm >= 300 ? "PASS" : "MISS"), im / tm
	printf "  %-4s peak RSS at most 32 MB (%.1f MB)\n", (ir <= 32768 ? "PASS" : "MISS"), ir / 1024
	if (i2r > 0)
		printf "  %-4s peak RSS at most 32 MB on 2000 MB (%.1f MB)\n", (i2r <= 32768 ? "PASS" : "MISS"), i2r / 1024
}'
echo
echo "threads (imaptrace -v, one extra run): $THREADS"
echo "VM steal: $STEAL (time the hypervisor ran something else; it slows imaptrace's two threads more than the bare loop's one)"
echo "$TS_NOTE"
if [ -n "${BENCH_OLD:-}" ]; then
	awk -v n="$IW" -v o="$(median old 2)" -v nr="$IR" -v ro="$(maxcol old 3)" -v b="$BENCH_OLD" 'BEGIN {
		printf "\nagainst %s (same rounds): %.3f s, %.1f MB; this tree %.3f s, %.1f MB\n", b, o, ro / 1024, n, nr / 1024
		printf "  %-4s at most 3%% slower than the previous binary (%+.1f%%)\n", (n <= o * 1.03 ? "PASS" : "MISS"), (o > 0 ? (n / o - 1) * 100 : 0)
	}'
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
