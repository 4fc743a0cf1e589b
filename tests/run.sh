#!/bin/sh
# Runs every test suite and prints one closing line: "N passed, N failed".
#   unit suites: the Check binaries given as arguments
#   end-to-end:  tests/e2e/*.sh, each printing "ok NAME" or "FAIL NAME" lines
# Environment: IMAPTRACE (the binary under test), BUILD, SANITIZE.
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	CK_FORK=yes "$t" >"$log" 2>&1
	rc=$?
	sed 's/^/  /' "$log" | grep -v '^  Running suite' | tail -n 20
	line=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -n 1)
	checks=$(echo "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
	fails=$(echo "$line" | sed -n 's/.*Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2/p')
	if [ -z "$checks" ]; then
		echo "FAIL $t (no Check summary, exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	bad=$(( ${fails% *} + ${fails#* } ))
	passed=$((passed + checks - bad))
	failed=$((failed + bad))
	[ $rc -ne 0 ] && [ $bad -eq 0 ] && { echo "FAIL $t (exit $rc)"; failed=$((failed + 1)); }
done
for s in tests/e2e/*.sh; do
	[ -f "$s" ] || continue
	sh "$s" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^FAIL ' "$log")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $s (exit $rc)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
