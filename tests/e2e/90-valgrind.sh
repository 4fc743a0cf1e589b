#!/bin/sh
# imaptrace under valgrind (memcheck) on every sample and a handful of
# crafted captures, in each output format: an invalid read or write, a use
# of uninitialised memory, or a definite or indirect leak makes valgrind
# exit 99 and the test fail.  Skipped under SANITIZE=1 (valgrind and ASan
# do not mix) and, with one ok line, when valgrind is not installed.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
[ "${SANITIZE:-0}" = 1 ] && exit 0
if ! command -v valgrind >/dev/null 2>&1; then
	echo "ok valgrind: skipped (not installed)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Crafted captures chosen for the code they reach: capture-layer formats
# (pcapng, big-endian, gzip, fragments), TCP reordering, gaps and overlaps,
# STARTTLS, literals, long lines, and the broken files (exit 3).
crafted="badlen.pcapng be.pcapng eth.pcap.gz frag4_ooo.pcap frag6.pcap
	garbage.pcap tcp-reorder.pcap tcp-gap.pcap tcp-overlap-mismatch.pcap
	imap-starttls-injection.pcap imap-literal-trap.pcap
	imap-line-too-long.pcap imap-oversized-argument.pcap
	imap-clean-full.pcap"

run_vg() {	# NAME FORMAT CAPTURE...
	name=$1 fmt=$2
	shift 2
	valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect --num-callers=20 \
		--log-file="$tmp/vg.log" \
		"$IMAPTRACE" -q -F "$fmt" "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 99 ] || [ -s "$tmp/vg.log" ]; then
		echo "FAIL valgrind $name ($fmt): exit $rc"
		head -n 30 "$tmp/vg.log"
	elif [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
		echo "FAIL valgrind $name ($fmt): exit $rc ($(head -c 200 "$tmp/err"))"
	else
		echo "ok valgrind $name ($fmt): no errors, no leaks (exit $rc)"
	fi
}

n=0
for cap in samples/*.pcap; do
	# The formats take turns so that each is covered on real sessions.
	case $((n % 3)) in 0) fmt=ndjson ;; 1) fmt=json ;; *) fmt=text ;; esac
	n=$((n + 1))
	run_vg "$(basename "$cap")" "$fmt" "$cap"
done
for f in $crafted; do
	[ -f "tests/captures/$f" ] || continue
	run_vg "$f" ndjson "tests/captures/$f"
done
# Several files in one run (frame numbers and state across files), in the
# text format with its summaries.
run_vg "all crafted in one run" text $(for f in $crafted; do
	[ -f "tests/captures/$f" ] && echo "tests/captures/$f"; done)
