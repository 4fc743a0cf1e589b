# tests/helpers/checker.sh - sourced by e2e scripts that run a checker
# printing "FAIL ..." lines and, last, a summary line.
#
# checker_result LABEL FILE: "ok LABEL (last line of FILE)", or "FAIL
# LABEL:" and the first FAIL lines of FILE.
checker_result() {
	if grep -q '^FAIL' "$2"; then
		echo "FAIL $1:"
		grep '^FAIL' "$2" | head -5
	else
		echo "ok $1 ($(tail -n 1 "$2"))"
	fi
}
