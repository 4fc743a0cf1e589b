#!/bin/sh
# The catalog of findings has one source, include/findings.h; the docs
# page and the JSON Schema must say the same.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
"$IMAPTRACE" --list-findings >/tmp/imt-catalog.$$ || { echo "FAIL --list-findings"; exit 1; }
/usr/bin/python3 - /tmp/imt-catalog.$$ <<'PY'
import json, re, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
doc = open("docs/violations.md").read()
schema = json.load(open("docs/imaptrace.schema.json"))
enum = None
for clause in schema["allOf"]:
    if clause["if"]["properties"]["type"].get("const") == "violation":
        enum = clause["then"]["properties"]["id"]["enum"]
section = None
doc_rows = {}
for line in doc.splitlines():
    if line.startswith("## "):
        section = line[3:].strip()
    m = re.match(r"\| `([a-z0-9-]+)` \| (\w+) \| ([^|]*) \| ([^|]*) \|", line)
    if m:
        doc_rows[m.group(1)] = (section, m.group(2), m.group(3).strip(), m.group(4).strip())
bad = 0
for fid, cat, sev, rfc, msg in rows:
    if doc_rows.get(fid) != (cat, sev, rfc, msg):
        print(f"FAIL catalog: docs/violations.md row for {fid} differs from the code: {doc_rows.get(fid)}")
        bad += 1
if set(doc_rows) != {r[0] for r in rows}:
    print(f"FAIL catalog: docs/violations.md lists {sorted(set(doc_rows) ^ {r[0] for r in rows})} not in both")
    bad += 1
if enum != [r[0] for r in rows]:
    print("FAIL catalog: the schema's violation id enum differs from the code's table")
    bad += 1
if not bad:
    print(f"ok catalog: {len(rows)} findings agree in code, docs/violations.md and the schema")
PY
rm -f /tmp/imt-catalog.$$
