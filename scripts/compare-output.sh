#!/bin/sh
# Compares the output of two imaptrace binaries byte for byte on every
# sample, crafted and public capture, in every format, with one and two
# threads; the exit statuses must match too.
#   scripts/compare-output.sh OLD NEW [CAPTURE...]
# Without CAPTURE arguments: samples/*.pcap, tests/captures/*.pcap*,
# and the public captures in $PUBLIC_PCAPS if set.  Prints each
# difference and exits 1 when there is one.
old=$1 new=$2
[ -x "$old" ] && [ -x "$new" ] || { echo "usage: $0 OLD NEW [CAPTURE...]" >&2; exit 2; }
shift 2
cd "$(dirname "$0")/.." || exit 2
if [ $# -eq 0 ]; then
	set -- samples/*.pcap tests/captures/*.pcap*
	if [ -n "$PUBLIC_PCAPS" ]; then
		for f in "$PUBLIC_PCAPS"/*; do
			case $f in *.md) ;; *) set -- "$@" "$f" ;; esac
		done
	fi
fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
runs=0 diffs=0
for cap in "$@"; do
	for fmt in ndjson json text; do
		for th in 1 2; do
			"$old" -q -F $fmt --threads $th "$cap" >"$tmp/a" 2>/dev/null
			ra=$?
			"$new" -q -F $fmt --threads $th "$cap" >"$tmp/b" 2>/dev/null
			rb=$?
			runs=$((runs + 1))
			if [ $ra -ne $rb ] || ! cmp -s "$tmp/a" "$tmp/b"; then
				echo "DIFF $cap -F $fmt --threads $th (exit $ra vs $rb)"
				diffs=$((diffs + 1))
			fi
		done
	done
done
echo "$runs runs, $diffs differences"
[ $diffs -eq 0 ]
