# bench/lib.sh - what every benchmark script shares: sourced (". bench/lib.sh")
# from the top of the tree after `make`.  It builds the generator and the bare
# libpcap loop into build/bench, generates captures on demand into bench/data
# (git-ignored), and records timed runs.
#
# Environment: BENCH_SEED (generator seed, default 1); CC.
#
# timed NAME CMD...   runs CMD (output discarded), appends "NAME wall_s rss_kb cpu_s"
#                     to $RES: wall time from date (ns), peak RSS and CPU time
#                     (user + system, all threads) from /usr/bin/time
# median NAME COL     median of column COL (2 wall, 3 RSS, 4 CPU) of NAME's runs
# maxcol NAME COL     largest value of column COL of NAME's runs
# capture SIZE_MB [GEN_FLAGS...]  -> path of the generated capture
SEED=${BENCH_SEED:-1}
OUT=build/bench
DATA=bench/data
CC=${CC:-cc}

die() { echo "bench: $*" >&2; exit 1; }

[ -x ./imaptrace ] || die "./imaptrace is missing: run make first"
if [ ! -x /usr/bin/time ]; then
	if [ "$(id -u)" = 0 ]; then
		apt-get install -y time >/dev/null 2>&1 || die "cannot install 'time'"
	else
		die "/usr/bin/time is missing: apt-get install time"
	fi
fi

mkdir -p "$OUT" "$DATA"
$CC -std=c11 -O2 -Wall -Wextra $(pkg-config --cflags libcrypto 2>/dev/null) -o "$OUT/gen" bench/gen.c \
	-lm $(pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto) || die "gen.c did not build"
$CC -std=c11 -O2 -Wall -Wextra -o "$OUT/bareloop" bench/bareloop.c \
	$(pkg-config --cflags --libs libpcap 2>/dev/null || echo -lpcap) ||
	die "bareloop.c did not build"

# capture SIZE_MB [GEN_FLAGS...] -> path; generated once, kept in bench/data.
# The flags (gen's options) become part of the file name; with -t the key
# log is beside the capture, as PATH.keylog.
capture() {
	size=$1
	shift
	tag=$(echo "$*" | tr -c 'A-Za-z0-9\n' '_' | tr -d '\n')
	f="$DATA/imap-${size}mb-s$SEED${tag:+-$tag}.pcap"
	if [ ! -s "$f" ]; then
		echo "generating $f ..." >&2
		"$OUT/gen" "$@" "$f.tmp" "$size" "$SEED" >&2 || die "generator failed"
		if [ -f "$f.tmp.keylog" ]; then
			mv "$f.tmp.keylog" "$f.keylog"
		fi
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

RES=$(mktemp)
TMP=$(mktemp)
trap 'rm -f "$RES" "$TMP"' EXIT
timed() {
	name=$1
	shift
	t0=$(date +%s%N)
	if ! /usr/bin/time -o "$TMP" -f '%M %U %S' "$@" >/dev/null 2>&1; then
		cat "$TMP" >&2
		die "$name failed: $*"
	fi
	t1=$(date +%s%N)
	echo "$name $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $(tail -n 1 "$TMP" |
		awk '{ printf "%s %.2f", $1, $2 + $3 }')" >>"$RES"
}

median() {
	awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$RES" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print 0;
			else if (NR % 2) print v[(NR + 1) / 2];
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
maxcol() {
	awk -v n="$1" -v c="$2" '$1 == n && $c > m { m = $c } END { print m + 0 }' "$RES"
}
