#!/bin/sh
# -F ecs: every document of every sample and crafted capture, events and
# transactions, checked against Elastic's own field definitions
# (tests/ecs/check_ecs.py); each carries the native event, unchanged,
# under "imap", one document per event; golden documents for a few
# samples.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cap in samples/*.pcap tests/captures/*.pcap; do
	name=$(basename "$cap" .pcap)
	for sel in "" --transactions; do
		# shellcheck disable=SC2086
		"$IMAPTRACE" -q -F ndjson $sel "$cap" >"$tmp/native" 2>/dev/null
		# shellcheck disable=SC2086
		"$IMAPTRACE" -q -F ecs $sel "$cap" >"$tmp/ecs" 2>/dev/null
		if ! msg=$(/usr/bin/python3 tests/ecs/check_ecs.py "$tmp/ecs"); then
			echo "FAIL ecs $name $sel: $(echo "$msg" | head -n 5)"
		elif ! /usr/bin/python3 - "$tmp/native" "$tmp/ecs" <<'PY'
import json, sys
native = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
ecs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
ok = len(native) == len(ecs) and all(
    d["imap"] == n and d["@timestamp"] == n["ts"] and
    d["network"].get("community_id") == n.get("community_id") and
    (d["event"]["kind"] == "alert") == (n["type"] == "violation")
    for n, d in zip(native, ecs))
sys.exit(0 if ok else 1)
PY
		then
			echo "FAIL ecs $name $sel: the documents do not carry the native events"
		else
			echo "ok ecs $name $sel: $(wc -l <"$tmp/ecs") documents valid ECS"
		fi
	done
done
for name in dovecot-imaplib-failures dovecot-pipelining; do
	for sel in "" --transactions; do
		golden="tests/golden/$name${sel:+.transactions}.ecs.ndjson"
		# shellcheck disable=SC2086
		"$IMAPTRACE" -q -F ecs $sel "samples/$name.pcap" >"$tmp/ecs"
		if cmp -s "$golden" "$tmp/ecs"; then
			echo "ok ecs $name $sel: matches golden output"
		else
			echo "FAIL ecs $name $sel: differs from $golden:"
			diff "$golden" "$tmp/ecs" | head -n 10
		fi
	done
done
"$IMAPTRACE" -q -F nosuch samples/dovecot-curl-login.pcap >/dev/null 2>"$tmp/err"
st=$?
if [ "$st" -eq 2 ] && grep -q -- "-F" "$tmp/err"; then
	echo "ok ecs unknown -F value: usage error"
else
	echo "FAIL ecs unknown -F value: exit status $st"
fi
# The index template maps every member the samples' events carry under imap.
for cap in samples/*.pcap tests/captures/*.pcap; do
	"$IMAPTRACE" -q -F ndjson "$cap" 2>/dev/null
	"$IMAPTRACE" -q -F ndjson --transactions "$cap" 2>/dev/null
done >"$tmp/all"
if msg=$(/usr/bin/python3 - "$tmp/all" docs/ecs/imaptrace-index-template.json <<'PY'
import json, sys
tpl = json.load(open(sys.argv[2]))["template"]["mappings"]["properties"]["imap"]
missing = set()
def walk(doc, mapping, path):
    for k, v in doc.items():
        m = mapping.get("properties", {}).get(k)
        if m is None:
            missing.add(path + k)
        elif m.get("enabled") is False:
            continue
        elif isinstance(v, dict) and v:
            walk(v, m, path + k + ".")
for line in open(sys.argv[1], encoding="utf-8"):
    walk(json.loads(line), tpl, "imap.")
print(" ".join(sorted(missing)))
sys.exit(1 if missing else 0)
PY
); then
	echo "ok ecs index template: every imap.* member of the samples is mapped"
else
	echo "FAIL ecs index template: not mapped: $msg"
fi
