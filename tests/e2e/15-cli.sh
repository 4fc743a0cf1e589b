#!/bin/sh
# The command line as a user meets it: exit statuses, formats, filters,
# several files, standard input, gzip, broken files and secrets.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
S=samples/dovecot-imaplib-session.pcap

check() {	# check NAME EXPECTED_STATUS ACTUAL_STATUS [extra condition result]
	if [ "$2" = "$3" ] && [ "${4:-0}" = 0 ]; then
		echo "ok cli $1"
	else
		echo "FAIL cli $1 (status $3, wanted $2; condition ${4:-0})"
	fi
}
has() { grep -q -- "$1" "$2"; echo $?; }
hasnt() { if grep -q -- "$1" "$2"; then echo 1; else echo 0; fi; }
count() { /usr/bin/python3 -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['type']==sys.argv[2]))" "$1" "$2"; }

"$IMAPTRACE" --version >"$tmp/o" 2>&1; check version 0 $? "$(has '^imaptrace ' "$tmp/o")"
P=tests/captures/imap-plaintext-after-starttls.pcap
"$IMAPTRACE" -q -F ndjson "$P" >"$tmp/o" 2>&1; check "plaintext after STARTTLS is high" 0 $? "$(has '"id":"plaintext-after-starttls","category":"security","severity":"high"' "$tmp/o")"
"$IMAPTRACE" -q -F ndjson --decrypted-upstream "$P" >"$tmp/o" 2>&1; check "--decrypted-upstream makes it info" 0 $? "$(has '"id":"plaintext-after-starttls","category":"security","severity":"info"' "$tmp/o")"
"$IMAPTRACE" --help >"$tmp/o" 2>&1; check help 0 $? "$(has 'fail-on' "$tmp/o")"
"$IMAPTRACE" >/dev/null 2>"$tmp/e"; check "no capture is usage" 2 $?
"$IMAPTRACE" --frobnicate "$S" >/dev/null 2>&1; check "unknown option is usage" 2 $?
"$IMAPTRACE" -F xml "$S" >/dev/null 2>&1; check "bad format is usage" 2 $?
"$IMAPTRACE" --max-line 10 "$S" >/dev/null 2>&1; check "bad limit is usage" 2 $?
"$IMAPTRACE" -f 'tcp port (' "$S" >/dev/null 2>"$tmp/e"; check "bad BPF filter: exit 2 with libpcap's message" 2 $? "$(has 'syntax error' "$tmp/e")"
"$IMAPTRACE" -q nonexistent.pcap >/dev/null 2>"$tmp/e"; check "missing file: exit 3 naming it" 3 $? "$(has 'nonexistent.pcap' "$tmp/e")"
"$IMAPTRACE" -q tests/captures/garbage.pcap >/dev/null 2>"$tmp/e"; check "garbage header: exit 3 naming the file" 3 $? "$(has 'garbage.pcap' "$tmp/e")"
"$IMAPTRACE" -q -F ndjson tests/captures/truncated.pcap >"$tmp/o" 2>"$tmp/e"
check "file cut mid-record: exit 3 naming file and frame, earlier packets analyzed" 3 $? \
	"$(grep -q 'truncated.pcap: frame 3' "$tmp/e" && grep -q '"type":"session_end"' "$tmp/o"; echo $?)"
"$IMAPTRACE" -q tests/captures/user0.pcap >/dev/null 2>"$tmp/e"; check "unsupported link type: exit 3 naming it" 3 $? "$(has 'link-layer type 147' "$tmp/e")"

# Formats.
"$IMAPTRACE" -q -F ndjson "$S" >"$tmp/a.ndjson"; check "ndjson" 0 $?
"$IMAPTRACE" -q -F json "$S" >"$tmp/a.json"
check "json document: sessions with timelines, valid events" 0 $? "$(/usr/bin/python3 - "$tmp/a.json" "$tmp/a.ndjson" <<'PY'
import json, sys, jsonschema
doc = json.load(open(sys.argv[1]))
nd = [json.loads(l) for l in open(sys.argv[2])]
schema = json.load(open("docs/imaptrace.schema.json"))
events = [e for s in doc["sessions"] for e in s["timeline"]]
for e in events:
    jsonschema.validate(e, schema)
ok = (events == nd and doc["captures"][0]["file"].endswith(".pcap")
      and doc["totals"]["sessions"] == 1 and "summary" in doc["sessions"][0])
print(0 if ok else 1)
PY
)"
"$IMAPTRACE" -q -F text "$S" >"$tmp/a.txt"
check "text format matches tests/golden/$(basename "$S" .pcap).txt" 0 $? "$(cmp -s "$tmp/a.txt" "tests/golden/$(basename "$S" .pcap).txt"; echo $?)"
"$IMAPTRACE" -q "$S" >"$tmp/o"; check "default format off a terminal is ndjson" 0 $? "$(cmp -s "$tmp/o" "$tmp/a.ndjson"; echo $?)"
"$IMAPTRACE" -q -o "$tmp/out.ndjson" "$S"; check "-o FILE" 0 $? "$(cmp -s "$tmp/out.ndjson" "$tmp/a.ndjson"; echo $?)"

# Selections.
"$IMAPTRACE" -q --summary -F ndjson "$S" >"$tmp/o"
check "--summary: session_end and totals only" 0 $? "$(/usr/bin/python3 -c "
import json,sys; t=[json.loads(l)['type'] for l in open(sys.argv[1])]; print(0 if t==['session_end','totals'] else 1)" "$tmp/o")"
"$IMAPTRACE" -q --violations-only -F ndjson "$S" >"$tmp/o"
check "--violations-only" 0 $? "$(/usr/bin/python3 -c "
import json,sys; t={json.loads(l)['type'] for l in open(sys.argv[1])}; print(0 if t=={'session_start','violation','session_end'} else 1)" "$tmp/o")"
"$IMAPTRACE" -q -f 'tcp port 9' -F ndjson "$S" >"$tmp/o"; check "BPF filter that matches nothing" 0 $? "$(test -s "$tmp/o"; echo $((1 - $?)))"
"$IMAPTRACE" -q -p 10143 -F ndjson "$S" >"$tmp/o"; check "-p port: recognised by port" 0 $? "$(has '"port_guess":"port"' "$tmp/o")"

# Exit status 1 from --fail-on.
"$IMAPTRACE" -q --fail-on high "$S" >/dev/null; check "--fail-on high trips on cleartext credentials" 1 $?
"$IMAPTRACE" -q --fail-on high samples/dovecot-starttls.pcap >/dev/null; check "--fail-on high stays 0 on a STARTTLS session" 0 $?

# Input forms: standard input, gzip, several files as one capture.
"$IMAPTRACE" -q -F ndjson - <"$S" >"$tmp/o"; check "standard input" 0 $? "$(cmp -s "$tmp/o" "$tmp/a.ndjson"; echo $?)"
gzip -c "$S" >"$tmp/s.pcap.gz"
"$IMAPTRACE" -q -F ndjson "$tmp/s.pcap.gz" >"$tmp/o"; check "gzip-compressed capture" 0 $? "$(cmp -s "$tmp/o" "$tmp/a.ndjson"; echo $?)"
"$IMAPTRACE" -q -F ndjson "$S" samples/dovecot-ipv6.pcap >"$tmp/o"
check "two files: frames continue, sessions numbered on" 0 $? "$(/usr/bin/python3 - "$tmp/o" "$S" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
s2 = [e for e in ev if e["session"] == 2]
print(0 if s2 and s2[0]["type"] == "session_start" and s2[0]["frame"] > max(
    e["frame"] for e in ev if e["session"] == 1) else 1)
PY
)"

# Secrets: redacted everywhere unless asked for.
bad=0
for f in samples/*.pcap; do
	for fmt in ndjson json text; do
		"$IMAPTRACE" -q -F $fmt "$f" >"$tmp/o" 2>/dev/null
		for secret in wonderland builder d29uZGVybGFuZA; do
			grep -q "$secret" "$tmp/o" && { bad=1; echo "  $f ($fmt) shows $secret"; }
		done
	done
done
check "passwords and SASL secrets redacted in every format of every sample" 0 0 $bad
"$IMAPTRACE" -q --show-secrets -F ndjson "$S" >"$tmp/o"; check "--show-secrets shows them" 0 $? "$(has 'wonderland' "$tmp/o")"
