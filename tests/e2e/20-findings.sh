#!/bin/sh
# End to end on the crafted finding captures: for every line of
# tests/captures/findings.tsv, runs imaptrace on the capture and checks
#   - the output validates against the JSON Schema         ("ok FILE: schema")
#   - the ids that must / must not be raised               ("ok FILE: findings")
# and, for the literal trap, that no fake result or BYE was invented.
#
# findings.tsv: FILE <TAB> required ids <TAB> forbidden ids [<TAB> tolerated ids]
#   ids are comma-separated; `*>info` in the forbidden column means "no finding
#   above info except the required and tolerated ones"; the optional fourth
#   column lists ids that may or may not appear (the catalog leaves it open).
#   Lines starting with # and empty lines are skipped.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tab=$(printf '\t')
# The crafted captures, then the real samples (whose expected findings are
# the true positives of real sessions: cleartext logins, deliberate errors).
for pair in tests/captures/findings.tsv:tests/captures samples/findings.tsv:samples; do
TSV=${pair%%:*}
DIR=${pair#*:}
grep -v '^#' "$TSV" | grep -v '^[[:space:]]*$' | while IFS= read -r line; do
	# (read with IFS=tab would merge empty columns: split in python)
	file=${line%%"$tab"*}
	cap="$DIR/$file"
	name=${file%.pcap}
	out="$tmp/$name.ndjson"
	if [ ! -f "$cap" ]; then
		echo "FAIL $file: capture missing"
		continue
	fi
	"$IMAPTRACE" -q -F ndjson "$cap" >"$out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL $file: exit status $rc ($(head -c 300 "$tmp/err"))"
		continue
	fi
	if msg=$(/usr/bin/python3 tests/e2e/validate.py "$out" 2>&1); then
		echo "ok $file: schema"
	else
		echo "FAIL $file: schema: $(echo "$msg" | head -n 3 | tr '\n' ' ')"
	fi
	/usr/bin/python3 - "$out" "$line" <<'EOF'
import json, sys

SEV = ["info", "low", "medium", "high"]
path, line = sys.argv[1:3]
cols = (line.rstrip("\r\n").split("\t") + ["", "", ""])[:4]
name, req, forb, may = cols
split = lambda s: [x.strip() for x in s.split(",") if x.strip()]
req, forb, may = split(req), split(forb), split(may)
events = []
for ln in open(path, encoding="utf-8"):
    ln = ln.strip()
    if ln:
        try:
            events.append(json.loads(ln))
        except ValueError:
            pass
found = {}
for ev in events:
    if ev.get("type") == "violation":
        found.setdefault(ev.get("id"), []).append(ev)
problems = []
missing = [i for i in req if i not in found]
if missing:
    problems.append("missing " + ",".join(missing))
for i in forb:
    if i == "*>info":
        extra = sorted({k for k, evs in found.items()
                        if k not in req and k not in may
                        and any(SEV.index(e.get("severity", "info")) > 0
                                for e in evs)})
        if extra:
            problems.append("unexpected " + ",".join(
                "%s(frame %s: %s)" % (k, found[k][0].get("frame"),
                                      found[k][0].get("detail", "")[:80])
                for k in extra))
    elif i in found:
        problems.append("forbidden %s raised (frame %s)"
                        % (i, found[i][0].get("frame")))

if name == "imap-literal-trap.pcap":
    # Literal data that looks like protocol must stay data.
    results = [e.get("tag") for e in events if e.get("type") == "result"]
    want = ["A%03d" % n for n in range(1, 7)]
    if results != want:
        problems.append("results %s, want %s" % (results, want))
    byes = [e for e in events if e.get("type") == "response"
            and e.get("name") == "BYE"]
    if len(byes) != 1:
        problems.append("%d BYE responses, want 1" % len(byes))
    cmds = [e.get("tag") for e in events if e.get("type") == "command"]
    if cmds != want:
        problems.append("commands %s, want %s" % (cmds, want))

if name == "imap-server-alert.pcap":
    want = "System going down for maintenance in 10 minutes."
    got = [e.get("detail") for e in found.get("server-alert", [])]
    if got and got[0] != want:
        problems.append("server-alert detail %r, want %r" % (got[0], want))

if problems:
    print("FAIL %s: %s" % (name, "; ".join(problems)))
else:
    print("ok %s: findings (%s)" % (name, ",".join(sorted(found)) or "none"))
EOF
done
done
