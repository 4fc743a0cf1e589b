# Sourced by the end-to-end scripts: check_output LABEL OUT GOLDEN checks
# that the NDJSON in OUT validates against the JSON Schema and matches the
# committed golden file, printing one "ok"/"FAIL" line for each.
check_output() {
	if msg=$(/usr/bin/python3 tests/e2e/validate.py "$2"); then
		echo "ok $1: schema"
	else
		echo "FAIL $1: $msg"
	fi
	if [ ! -f "$3" ]; then
		echo "FAIL $1: no golden output (run tests/update-golden.sh)"
	elif cmp -s "$3" "$2"; then
		echo "ok $1: matches golden output"
	else
		echo "FAIL $1: differs from $3:"
		diff "$3" "$2" | head -n 10
	fi
}
