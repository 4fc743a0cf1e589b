#!/bin/sh
# bench/findings.sh - what the session engine's response checks cost: every
# untagged response name and response code is looked up in the tables of
# analyzer/sess_resp.h (unknown-response), every capability announcement
# is searched for a blanked STARTTLS.  Times ./imaptrace against another
# build (BENCH_OLD, e.g. one without these checks) on the same capture,
# interleaved, and checks that the new one is at most 3% slower.
#
# Environment:
#   BENCH_OLD       the imaptrace to compare with (required for the target)
#   BENCH_SIZE_MB   size of the capture (default 1000, run.sh's)
#   BENCH_ROUNDS    interleaved rounds (default 3)
#   BENCH_SEED      generator seed (default 1)
#
# Prints one table and PASS/MISS; exits non-zero only when something failed.
set -eu
cd "$(dirname "$0")/.."

SIZE=${BENCH_SIZE_MB:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
OLD=${BENCH_OLD:-}
. bench/lib.sh

F=$(capture "$SIZE")
MB=$(awk -v b="$(stat -c %s "$F")" 'BEGIN { printf "%.1f", b / 1e6 }')
cat "$F" >/dev/null

echo "capture: $F ($MB MB), $ROUNDS interleaved rounds, median wall time"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	[ -n "$OLD" ] && timed old "$OLD" -q -F ndjson -o /dev/null "$F"
	timed new ./imaptrace -q -F ndjson -o /dev/null "$F"
	i=$((i + 1))
done

NEW=$(median new 2)
printf '%-12s %10s %10s %10s\n' run wall_s MB/s rss_kb
printf '%-12s %10s %10s %10s\n' new "$NEW" \
	"$(awk -v m="$MB" -v t="$NEW" 'BEGIN { printf "%.1f", (t > 0 ? m / t : 0) }')" \
	"$(maxcol new 3)"
if [ -z "$OLD" ]; then
	echo "no BENCH_OLD: nothing to compare with"
	exit 0
fi
OLDT=$(median old 2)
printf '%-12s %10s %10s %10s\n' old "$OLDT" \
	"$(awk -v m="$MB" -v t="$OLDT" 'BEGIN { printf "%.1f", (t > 0 ? m / t : 0) }')" \
	"$(maxcol old 3)"
awk -v n="$NEW" -v o="$OLDT" 'BEGIN {
	r = (o > 0 ? n / o : 0)
	printf "new/old wall %.3f: %s (target: at most 1.03)\n", r, (r <= 1.03 ? "PASS" : "MISS") }'
