#!/bin/sh
# tests/compare-binaries.sh - two imaptrace binaries must write the same
# bytes: every capture given (default: samples/*.pcap and tests/captures/*),
# in every format, with one thread and with two, and the same exit status.
#
#   sh tests/compare-binaries.sh OLD NEW [CAPTURE|DIR]...
#
# Prints one line per difference and a count; exits 1 when any was found.
set -u
[ $# -ge 2 ] || { echo "usage: $0 OLD NEW [CAPTURE|DIR]..." >&2; exit 2; }
old=$1 new=$2
shift 2
[ $# -gt 0 ] || set -- samples tests/captures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
runs=0 diffs=0

one() {
	f=$1
	for fmt in ndjson json text; do
		for th in 1 2; do
			"$old" -q -F "$fmt" --threads "$th" -- "$f" >"$tmp/a" 2>"$tmp/ae"
			sa=$?
			"$new" -q -F "$fmt" --threads "$th" -- "$f" >"$tmp/b" 2>"$tmp/be"
			sb=$?
			runs=$((runs + 1))
			if [ "$sa" != "$sb" ] || ! cmp -s "$tmp/a" "$tmp/b" ||
			   ! cmp -s "$tmp/ae" "$tmp/be"; then
				echo "DIFF $f -F $fmt --threads $th (exit $sa/$sb)"
				diffs=$((diffs + 1))
			fi
		done
	done
}

for arg in "$@"; do
	if [ -d "$arg" ]; then
		for f in "$arg"/*; do
			case $f in
			*.pcap|*.pcapng|*.cap|*.gz|*.pcap.*|*.bin) [ -f "$f" ] && one "$f" ;;
			esac
		done
	else
		one "$arg"
	fi
done
echo "$runs runs, $diffs differences"
[ "$diffs" -eq 0 ]
