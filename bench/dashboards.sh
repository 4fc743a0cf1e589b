#!/bin/sh
# bench/dashboards.sh - the outputs that feed dashboards on the benchmark
# capture: -F ecs and --transactions against -F ndjson (time and peak
# RSS), and the peak RSS of -F json.  Run from the top of the tree after
# `make`; generates the capture as bench/run.sh does (kept in bench/data).
#
# Environment:
#   BENCH_SIZE_MB    size of the capture (default 1000)
#   BENCH_ROUNDS     interleaved rounds of the four ndjson/ecs rows (default 3)
#   BENCH_SEED       generator seed (default 1)
#   BENCH_OLD   another imaptrace binary (an older build): its -F json
#                    is run too, for the json row's "before" (slow, and
#                    about 1.5 GB of memory for a version that kept every
#                    event)
#
# Prints one table and PASS/MISS per target; exits non-zero only when a
# run failed.
set -eu
cd "$(dirname "$0")/.."
SIZE=${BENCH_SIZE_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
BASE=${BENCH_OLD:-}
. bench/lib.sh
F=$(capture "$SIZE")
MB=$(awk -v b="$(stat -c %s "$F")" 'BEGIN { printf "%.1f", b / 1e6 }')
cat "$F" >/dev/null
echo "capture: $F ($MB MB), $ROUNDS interleaved rounds, median wall time, largest peak RSS"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	timed ndjson ./imaptrace -q -F ndjson -o /dev/null "$F"
	timed ecs ./imaptrace -q -F ecs -o /dev/null "$F"
	timed ndjson_tx ./imaptrace -q -F ndjson --transactions -o /dev/null "$F"
	timed ecs_tx ./imaptrace -q -F ecs --transactions -o /dev/null "$F"
	echo "  round $i/$ROUNDS done"
	i=$((i + 1))
done
# The json document once (it is the memory that matters), after and,
# when a baseline is given, before.
timed json ./imaptrace -q -F json -o /dev/null "$F"
if [ -n "$BASE" ]; then
	[ -x "$BASE" ] || die "BENCH_OLD=$BASE is not an executable"
	timed json_base "$BASE" -q -F json -o /dev/null "$F"
fi
awk -v nw="$(median ndjson 2)" -v nr="$(maxcol ndjson 3)" \
    -v ew="$(median ecs 2)" -v er="$(maxcol ecs 3)" \
    -v ntw="$(median ndjson_tx 2)" -v ntr="$(maxcol ndjson_tx 3)" \
    -v etw="$(median ecs_tx 2)" -v etr="$(maxcol ecs_tx 3)" \
    -v jw="$(median json 2)" -v jr="$(maxcol json 3)" \
    -v bw="$(median json_base 2)" -v br="$(maxcol json_base 3)" -v base="$BASE" '
function row(name, w, r) {
	printf "%-40s %8.3f %12.1f %8.2fx\n", name, w, r / 1024, w / nw
}
function target(ok, what) { printf "  %-4s %s\n", ok ? "PASS" : "MISS", what }
BEGIN {
	printf "\n%-40s %8s %12s %9s\n", "imaptrace -q -o /dev/null", "wall s", "peak RSS MB", "vs ndjson"
	row("-F ndjson", nw, nr)
	row("-F ecs", ew, er)
	row("-F ndjson --transactions", ntw, ntr)
	row("-F ecs --transactions", etw, etr)
	row("-F json (one run)", jw, jr)
	if (base != "")
		row("-F json, " base " (one run)", bw, br)
	printf "\ntargets:\n"
	target(ew <= 1.3 * nw, sprintf("-F ecs at most 1.3x -F ndjson (%.2fx)", ew / nw))
	target(ntw <= 1.3 * nw, sprintf("--transactions at most 1.3x -F ndjson (%.2fx)", ntw / nw))
	target(etw <= 1.3 * nw, sprintf("-F ecs --transactions at most 1.3x -F ndjson (%.2fx)", etw / nw))
	m = er; if (ntr > m) m = ntr; if (etr > m) m = etr
	target(m <= 32768, sprintf("ecs and --transactions peak RSS at most 32 MB (%.1f MB)", m / 1024))
	if (base != "")
		target(jr <= 65536, sprintf("-F json peak RSS at most 64 MB (%.1f MB; before: %.1f MB)", jr / 1024, br / 1024))
	else
		target(jr <= 65536, sprintf("-F json peak RSS at most 64 MB (%.1f MB)", jr / 1024))
}'
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
