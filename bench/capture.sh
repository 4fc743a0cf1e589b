#!/bin/sh
# bench/capture.sh - the shapes captures come in: the benchmark capture as
# pcap and as pcapng, compressed with gzip -1, zstd and lz4, and split
# into rotated pcapng files of 1 MB, each timed with the previous binary
# (BENCH_OLD, "before") and ./imaptrace ("after") in interleaved
# rounds.  Run from the top of the tree after `make`.
#
# Environment:
#   BENCH_SIZE_MB   size of the capture (default 1000)
#   BENCH_ROUNDS    interleaved rounds (default 3)
#   BENCH_OLD       the previous binary to compare with (unset: only "after")
#   BENCH_SEED      generator seed (default 1)
#
# The derived captures are made once (editcap, gzip, zstd, lz4) and kept
# in bench/data.  Prints a table and PASS/MISS per target; exits non-zero
# only when something failed, never on a missed target.
set -eu
cd "$(dirname "$0")/.."

SIZE=${BENCH_SIZE_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
BEFORE=${BENCH_OLD:-}
. bench/lib.sh
for t in editcap gzip zstd lz4; do
	command -v $t >/dev/null 2>&1 || die "$t is missing"
done

F=$(capture "$SIZE")
B="${F%.pcap}"
B="$B-shape"
NG="$B.pcapng"
RING="$B-ring"
[ -s "$NG" ] || { echo "making $NG ..." >&2; editcap -F pcapng "$F" "$NG.tmp" && mv "$NG.tmp" "$NG"; }
[ -s "$B.pcap.gz" ] || { echo "making $B.pcap.gz ..." >&2; gzip -1 -c "$F" >"$B.gz.tmp" && mv "$B.gz.tmp" "$B.pcap.gz"; }
[ -s "$B.pcap.zst" ] || { echo "making $B.pcap.zst ..." >&2; zstd -q -3 -c "$F" >"$B.zst.tmp" && mv "$B.zst.tmp" "$B.pcap.zst"; }
[ -s "$B.pcap.lz4" ] || { echo "making $B.pcap.lz4 ..." >&2; lz4 -q -c "$F" >"$B.lz4.tmp" && mv "$B.lz4.tmp" "$B.pcap.lz4"; }
if [ ! -d "$RING" ]; then
	# 1,000 files of about 1 MB: the packet count over 1,000 per file.
	n=$(capinfos -M -c -T "$NG" | awk -F'\t' 'NR == 2 { print $2 }')
	echo "making $RING (1,000 files of $((n / 1000 + 1)) packets) ..." >&2
	mkdir -p "$RING.tmp"
	editcap -F pcapng -c $((n / 1000 + 1)) "$NG" "$RING.tmp/part.pcapng"
	mv "$RING.tmp" "$RING"
fi
NFILES=$(ls "$RING" | wc -l)
BYTES=$(stat -c %s "$F")
MB=$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1e6 }')

# Every input in the page cache: the comparison is of CPU work.
cat "$F" "$NG" "$B.pcap.gz" "$B.pcap.zst" "$B.pcap.lz4" "$RING"/* >/dev/null

# run NAME BIN ARGS...: one timed run of BIN on ARGS (ndjson to /dev/null);
# besides timed's wall time and RSS, the CPU time of all its threads
# (user + system) as "NAME-cpu SECONDS", which a loaded machine disturbs
# less than the wall time.
CPU=$(mktemp)
trap 'rm -f "$RES" "$TMP" "$CPU"' EXIT
run() {
	n=$1 bin=$2
	shift 2
	timed "$n" /usr/bin/time -o "$CPU" -f '%U %S' "$bin" -q -F ndjson -o /dev/null "$@"
	echo "$n-cpu $(awk '{ print $1 + $2 }' "$CPU")" >>"$RES"
}
HAVE_BEFORE=0
[ -x "$BEFORE" ] && HAVE_BEFORE=1
echo "capture: $F ($MB MB), $ROUNDS interleaved rounds, median wall time; before: $([ $HAVE_BEFORE = 1 ] && echo "$BEFORE" || echo none)"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	for who in before after; do
		if [ $who = before ]; then
			[ $HAVE_BEFORE = 1 ] || continue
			bin=$BEFORE
		else
			bin=./imaptrace
		fi
		run "$who-pcap" "$bin" "$F"
		run "$who-pcapng" "$bin" "$NG"
		run "$who-gzip" "$bin" "$B.pcap.gz"
		# The previous binary reads neither zstd nor lz4.
		if [ $who = after ]; then
			run "$who-zstd" "$bin" "$B.pcap.zst"
			run "$who-lz4" "$bin" "$B.pcap.lz4"
		fi
		run "$who-files" "$bin" "$RING"/*
	done
	echo "  round $i/$ROUNDS done" >&2
	i=$((i + 1))
done

row() {	# row LABEL KEY
	bw=$(median "before-$2" 2) br=$(maxcol "before-$2" 3) bc=$(median "before-$2-cpu" 2)
	aw=$(median "after-$2" 2) ar=$(maxcol "after-$2" 3) ac=$(median "after-$2-cpu" 2)
	awk -v l="$1" -v bw="$bw" -v br="$br" -v bc="$bc" -v aw="$aw" -v ar="$ar" -v ac="$ac" -v b="$BYTES" 'BEGIN {
		if (bw > 0)
			printf "%-32s %7.2f %6.0f %6.2f %6.1f  %7.2f %6.0f %6.2f %6.1f\n", l, bw, b / 1e6 / bw, bc, br / 1024, aw, b / 1e6 / aw, ac, ar / 1024
		else
			printf "%-32s %7s %6s %6s %6s  %7.2f %6.0f %6.2f %6.1f\n", l, "-", "-", "-", "-", aw, b / 1e6 / aw, ac, ar / 1024
	}'
}
printf "\n%-32s %7s %6s %6s %6s  %7s %6s %6s %6s\n" "capture ($MB MB of pcap)" "before" "MB/s" "CPU s" "RSS MB" "after" "MB/s" "CPU s" "RSS MB"
row "pcap" pcap
row "pcapng (editcap -F pcapng)" pcapng
row "gzip -1 ($(( $(stat -c %s "$B.pcap.gz") / 1000000 )) MB)" gzip
row "zstd -3 ($(( $(stat -c %s "$B.pcap.zst") / 1000000 )) MB)" zstd
row "lz4 ($(( $(stat -c %s "$B.pcap.lz4") / 1000000 )) MB)" lz4
row "$NFILES rotated pcapng files" files
echo "(before, after: median wall seconds; MB/s: megabytes of the uncompressed pcap per wall second;"
echo " CPU s: median user + system seconds of all threads; RSS: the largest peak)"

awk -v p="$(median after-pcap 2)" -v ng="$(median after-pcapng 2)" \
    -v pc="$(median after-pcap-cpu 2)" -v ngc="$(median after-pcapng-cpu 2)" \
    -v pr="$(maxcol after-pcap 3)" -v ngr="$(maxcol after-pcapng 3)" \
    -v z="$(median after-zstd 2)" -v fl="$(median after-files 2)" -v flc="$(median after-files-cpu 2)" \
    -v gb="$(median before-gzip 2)" -v ga="$(median after-gzip 2)" -v b="$BYTES" 'BEGIN {
	printf "\ntargets:\n"
	printf "  %-4s pcapng within 1.15x of the pcap time (%.2fx wall, %.2fx CPU)\n", (ng <= 1.15 * p ? "PASS" : "MISS"), ng / p, ngc / pc
	printf "  %-4s pcapng peak RSS within the pcap bound (%.1f MB against %.1f MB)\n", (ngr <= pr * 1.1 ? "PASS" : "MISS"), ngr / 1024, pr / 1024
	printf "  %-4s zstd at 1 GB/s of capture or better (%.0f MB/s)\n", (b / z >= 1e9 ? "PASS" : "MISS"), b / 1e6 / z
	printf "  %-4s 1,000 files at most 1.2x the time of the one pcapng file (%.2fx wall, %.2fx CPU)\n", (fl <= 1.2 * ng ? "PASS" : "MISS"), fl / ng, flc / ngc
	if (gb > 0)
		printf "  info gzip -1: %.2f s before, %.2f s after (%.2fx)\n", gb, ga, ga / gb
}'
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
