#!/bin/sh
# Compares this tree's imaptrace with a reference binary (default: the
# build of main kept at /work/baseline/imaptrace) on every sample, crafted
# capture and public capture, in every format, with one and two threads:
# output and exit status must be the same byte for byte.
#
#   scripts/compare-baseline.sh [REFERENCE [NEW]]
#
# Prints one line per difference and a count; exits 1 when anything differs.
cd "$(dirname "$0")/.." || exit 2
REF=${1:-/work/baseline/imaptrace}
NEW=${2:-./imaptrace}
PUBLIC=${PUBLIC:-/work/shared/pcaps/public}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=0
diffs=0
for f in samples/*.pcap tests/captures/*.pcap tests/captures/*.pcapng \
	 tests/captures/*.gz "$PUBLIC"/*.pcap "$PUBLIC"/*.pcapng "$PUBLIC"/*.cap; do
	[ -f "$f" ] || continue
	for fmt in ndjson json text; do
		for th in 1 2; do
			"$REF" -q --threads $th -F $fmt "$f" >"$tmp/ref" 2>"$tmp/ref.err"
			r1=$?
			"$NEW" -q --threads $th -F $fmt "$f" >"$tmp/new" 2>"$tmp/new.err"
			r2=$?
			runs=$((runs + 1))
			if [ $r1 != $r2 ] || ! cmp -s "$tmp/ref" "$tmp/new" ||
			   ! cmp -s "$tmp/ref.err" "$tmp/new.err"; then
				diffs=$((diffs + 1))
				echo "DIFF $f -F $fmt --threads $th (exit $r1 vs $r2)"
				diff "$tmp/ref" "$tmp/new" | head -n 6
			fi
		done
	done
done
echo "$runs runs, $diffs differ"
[ $diffs = 0 ]
