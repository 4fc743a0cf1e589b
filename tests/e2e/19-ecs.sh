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
# tls.* from the TLS samples read with their key logs (as 11-tls.sh runs
# them), email.* from the message events of --extract: valid ECS, and the
# same facts as the native events (addresses and the date parsed again by
# Python's email package).
: >"$tmp/tls.ecs"
for cap in samples/tls/*.pcap samples/tls/*.pcapng; do
	key=${cap%.*}.keylog
	if [ -f "$key" ]; then
		"$IMAPTRACE" -q --tls-ports 10993 -p 10144 -F ecs --keylog "$key" "$cap"
	else
		"$IMAPTRACE" -q --tls-ports 10993 -p 10144 -F ecs "$cap"
	fi 2>/dev/null >>"$tmp/tls.ecs"
done
: >"$tmp/msg.ecs"
for cap in samples/*.pcap; do
	"$IMAPTRACE" -q -F ecs --extract "$tmp/x-$(basename "$cap" .pcap)" "$cap" 2>/dev/null >>"$tmp/msg.ecs"
done
for kind in tls msg; do
	if ! msg=$(/usr/bin/python3 tests/ecs/check_ecs.py "$tmp/$kind.ecs"); then
		echo "FAIL ecs $kind: $(echo "$msg" | head -n 5)"
	elif ! msg=$(/usr/bin/python3 - "$tmp/$kind.ecs" "$kind" <<'PY'
import datetime, json, sys
from email.utils import getaddresses, parsedate_to_datetime
docs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
bad, seen = [], 0
for d in docs:
    n = d["imap"]
    if sys.argv[2] == "tls" and n["type"] == "tls":
        t = d.get("tls", {})
        want = {}
        if "version" in n:
            want["version"] = n["version"].split(" ", 1)[1]
            want["version_protocol"] = n["version"].split(" ", 1)[0].lower()
        if "cipher_suite" in n:
            want["cipher"] = n["cipher_suite"]
        if "sni" in n:
            want["client"] = {"server_name": n["sni"]}
        if "resumed" in n:
            want["resumed"] = n["resumed"]
        if t != want:
            bad.append("frame %d: tls %r, want %r" % (n["frame"], t, want))
        seen += "version" in t
    elif sys.argv[2] == "msg" and n["type"] == "message":
        e = d.get("email", {})
        for k in ("from", "to", "cc"):
            addrs = [a for _, a in getaddresses([n[k]]) if "@" in a] if n.get(k) else []
            if e.get(k, {}).get("address", []) != addrs:
                bad.append("%s: %r, want %r" % (k, e.get(k), addrs))
        for k in ("subject", "message_id", "content_type"):
            if e.get(k) != n.get(k):
                bad.append("%s: %r, want %r" % (k, e.get(k), n.get(k)))
        if n.get("date"):
            got = datetime.datetime.fromisoformat(e["origination_timestamp"])
            if got != parsedate_to_datetime(n["date"]):
                bad.append("date %r: %r" % (n["date"], e["origination_timestamp"]))
        want = [{"file": {k: v for k, v in (("name", a["filename"]),
                 ("mime_type", a["content_type"]), ("size", a["size"]),
                 ("hash", {"sha256": a["sha256"]})) if v is not None}}
                for a in n["attachments"]]
        if e.get("attachments", []) != want:
            bad.append("attachments %r, want %r" % (e.get("attachments"), want))
        seen += bool(want)
print("\n".join(bad[:5]))
sys.exit(1 if bad or seen < 2 else 0)
PY
); then
		echo "FAIL ecs $kind: not the native facts: $msg"
	else
		echo "ok ecs $kind: $(wc -l <"$tmp/$kind.ecs") documents valid ECS, tls.* and email.* as the native events say"
	fi
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
# The template maps every ECS field it names with the type ECS gives it.
if msg=$(/usr/bin/python3 - docs/ecs/imaptrace-index-template.json tests/ecs/ecs_fields.json <<'PY'
import json, sys
props = json.load(open(sys.argv[1]))["template"]["mappings"]["properties"]
fields = json.load(open(sys.argv[2]))["fields"]
bad = []
def walk(m, path):
    for k, v in m.items():
        name = path + k
        if name == "imap":
            continue
        if "type" in v:
            f = fields.get(name)
            if f is None or f["type"] != v["type"]:
                bad.append("%s: %s (ECS: %s)" % (name, v["type"], f and f["type"]))
        if "properties" in v:
            walk(v["properties"], name + ".")
walk(props, "")
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
	echo "ok ecs index template: its ECS fields have the ECS types"
else
	echo "FAIL ecs index template: $msg"
fi
