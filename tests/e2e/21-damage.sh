#!/bin/sh
# End to end on damaged captures (tests/crafted/make_damage_captures.py and
# the reorder cases of make_tcp_captures.py, the real -s 128 sample): every
# tagged result pairs with its command except those listed, commands cut by
# a gap are reported partial, and truncated-packet counts the cut packets.
#   "ok FILE: pairing" / "FAIL FILE: ..."
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# FILE  unmatched-results(tag=reason,...)  partial-commands(tag,...)  truncated-packet-count
while read -r file unmatched partial trunc; do
	case $file in ''|'#'*) continue ;; esac
	out="$tmp/out.ndjson"
	if ! "$IMAPTRACE" -q -F ndjson "$file" >"$out" 2>"$tmp/err"; then
		echo "FAIL $file: exit status ($(head -c 200 "$tmp/err"))"
		continue
	fi
	/usr/bin/python3 - "$out" "$file" "$unmatched" "$partial" "$trunc" <<'PY'
import json, sys

path, name, unmatched, partial, trunc = sys.argv[1:6]
want_un = {} if unmatched == "-" else dict(x.split("=") for x in unmatched.split(","))
want_part = set() if partial == "-" else set(partial.split(","))
ev = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
problems = []
results = [e for e in ev if e["type"] == "result"]
if not results:
    problems.append("no results")
got_un = {e["tag"]: e.get("unmatched") for e in results if e.get("command") is None}
if got_un != want_un:
    problems.append("unmatched %s, want %s" % (got_un, want_un))
for e in results:
    if (e.get("command") is None) != ("unmatched" in e):
        problems.append("result %s: unmatched without a null command" % e["tag"])
got_part = {e["tag"] for e in ev if e["type"] == "command" and e.get("partial")}
if got_part != want_part:
    problems.append("partial commands %s, want %s" % (sorted(got_part), sorted(want_part)))
tp = [e for e in ev if e["type"] == "violation" and e["id"] == "truncated-packet"]
n = int(trunc)
if n == 0 and tp:
    problems.append("truncated-packet on an uncut capture")
if n > 0 and [e.get("value") for e in tp] != [n]:
    problems.append("truncated-packet %s, want once with %d" % ([e.get("value") for e in tp], n))
bad = {e["id"] for e in ev if e["type"] == "violation"} & {
    "client-before-greeting", "missing-greeting", "unknown-tag-result",
    "unexpected-bye", "data-after-bye", "syntax-error", "bad-arguments",
    "command-invalid-in-state"}
if bad:
    problems.append("unexpected findings " + ",".join(sorted(bad)))
print(("FAIL %s: " % name + "; ".join(problems)) if problems else "ok %s: pairing" % name)
PY
done <<'LIST'
tests/captures/tcp-ack-first.pcap	-	-	0
tests/captures/tcp-ack-first-late.pcap	-	-	0
tests/captures/tcp-ack-first-server.pcap	-	-	0
tests/captures/tcp-ack-first-pure.pcap	-	-	0
tests/captures/tcp-gap.pcap	a1=gap	-	0
tests/captures/damage-gap-crlf.pcap	-	a1	0
tests/captures/damage-gap-select.pcap	-	a2	0
tests/captures/damage-gap-server.pcap	-	-	0
tests/captures/damage-gap-whole.pcap	a2=gap	-	0
tests/captures/damage-trunc-greeting.pcap	-	-	1
tests/captures/damage-trunc-greeting-head.pcap	-	-	1
tests/captures/damage-trunc-fetch.pcap	-	-	1
tests/captures/damage-trunc-every.pcap	-	a3	7
samples/dovecot-snaplen-128.pcap	-	OMMJ11	17
LIST
