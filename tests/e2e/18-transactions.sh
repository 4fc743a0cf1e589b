#!/bin/sh
# --transactions: one record per command, checked against the command
# and result events of the NDJSON output of every sample and of every
# crafted capture with commands (unanswered ones among them), validated
# against the schema; the json document carries the same records; the
# combinations that make no sense are usage errors.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cap in samples/*.pcap tests/captures/*.pcap; do
	name=$(basename "$cap" .pcap)
	"$IMAPTRACE" -q -F ndjson "$cap" >"$tmp/ev" 2>/dev/null
	grep -q '"type":"command"' "$tmp/ev" || continue
	"$IMAPTRACE" -q -F ndjson --transactions "$cap" >"$tmp/tx" 2>/dev/null
	st=$?
	if [ "$st" -ne 0 ] && [ "$st" -ne 1 ] && [ "$st" -ne 3 ]; then
		echo "FAIL transactions $name: exit status $st"
	elif ! msg=$(/usr/bin/python3 tests/e2e/transactions.py "$tmp/ev" "$tmp/tx"); then
		echo "FAIL transactions $name: $(echo "$msg" | head -n 5)"
	elif ! msg=$(/usr/bin/python3 tests/e2e/validate.py "$tmp/tx"); then
		echo "FAIL transactions $name: schema: $msg"
	else
		echo "ok transactions $name: $(wc -l <"$tmp/tx") records match the command/result pairs"
		grep '"status":null' "$tmp/tx" >>"$tmp/unanswered"
	fi
done
if [ -s "$tmp/unanswered" ]; then
	echo "ok transactions unanswered: $(wc -l <"$tmp/unanswered") records with a null status checked"
else
	echo "FAIL transactions unanswered: no record with a null status was checked"
fi
cap=samples/dovecot-pipelining.pcap
"$IMAPTRACE" -q -F ndjson --transactions "$cap" >"$tmp/tx"
"$IMAPTRACE" -q -F json --transactions "$cap" >"$tmp/doc"
if /usr/bin/python3 - "$tmp/doc" "$tmp/tx" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
lines = [json.loads(l) for l in open(sys.argv[2])]
tl = [e for s in doc["sessions"] for e in s["timeline"]]
key = lambda e: (e["session"], e["offset"])
sys.exit(0 if tl and sorted(tl, key=key) == sorted(lines, key=key) else 1)
PY
then
	echo "ok transactions json: the document's timelines hold the ndjson records"
else
	echo "FAIL transactions json: the document's timelines differ from the ndjson records"
fi
for name in dovecot-pipelining dovecot-imaplib-failures dovecot-idle; do
	golden="tests/golden/$name.transactions.ndjson"
	"$IMAPTRACE" -q -F ndjson --transactions "samples/$name.pcap" >"$tmp/tx"
	if cmp -s "$golden" "$tmp/tx"; then
		echo "ok transactions $name: matches golden output"
	else
		echo "FAIL transactions $name: differs from $golden:"
		diff "$golden" "$tmp/tx" | head -n 10
	fi
done
for args in "-F text" "-F html" "--summary" "--violations-only"; do
	# shellcheck disable=SC2086
	"$IMAPTRACE" -q --transactions $args "$cap" >/dev/null 2>"$tmp/err"
	st=$?
	if [ "$st" -eq 2 ] && grep -q "transactions" "$tmp/err"; then
		echo "ok transactions with $args: usage error"
	else
		echo "FAIL transactions with $args: exit status $st"
	fi
done
