#!/bin/sh
# Cross-check with tshark: for every samples/*.pcap, and every
# samples/tls/*.pcap decrypted with its key log, the command/result pairs
# (tcp stream, tag, request frame, response frame) that imaptrace reports
# must be the ones tshark's IMAP dissector reports (imap.request_tag,
# imap.response_tag, imap.response_to); every line tshark counts as a
# request must be an imaptrace command, and every tagged response it sees an
# imaptrace result or continuation.  The known tshark limitations are
# explicit, named exceptions, each listed in docs/tshark.md with the sample
# that shows it; anything else is a failure:
#
#   literal-command-frame  tshark's request frame is the frame of the command's
#                          first line; imaptrace's command_frame is the frame
#                          that completed the command (its last literal byte)
#   literal-data-lines     tshark reads the lines of a client literal (APPEND
#                          data) as requests
#   sasl-line              tshark reads SASL responses and the `*` cancel line
#                          of AUTHENTICATE as requests
#   idle-done              tshark reads IDLE's DONE as a request
#   response-literal-lines tshark skips only the first literal of a response
#                          (e.g. BODY[HEADER] of FETCH (BODY[HEADER] BODY[TEXT]))
#                          and reads the lines of the others, and the ")" that
#                          closes a FETCH after a literal, as responses
#   after-compress         tshark does not inflate COMPRESS=DEFLATE: it has no
#                          pair after the COMPRESS OK and reads the DEFLATE
#                          bytes as garbage requests/responses
#   snaplen-cut            tshark does not dissect the IMAP of a frame cut by
#                          the snapshot length (no request, response or pair
#                          there), and reads the lines of a client literal
#                          whose command line was cut as requests
#
# Prints "ok tshark SAMPLE: N pairs agree ..." or "FAIL tshark SAMPLE: ...";
# a single "ok tshark: skipped (not installed)" without tshark.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
if ! command -v tshark >/dev/null 2>&1; then
	echo "ok tshark: skipped (not installed)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The sample servers' ports (samples/README.md); 143 for completeness.
PORTS="143 10143 11143"

# The TLS samples are read by both with their key logs: imaptrace with
# --keylog, tshark with tls.keylog_file (IMAPS on 10993, STARTTLS on 10144).
for cap in samples/*.pcap samples/tls/*.pcap; do
	name=$(basename "$cap" .pcap)
	iopts= keylog=
	case $cap in samples/tls/*)
		keylog=samples/tls/$name.keylog
		iopts="--tls-ports 10993 -p 10144 --keylog $keylog" ;;
	esac
	# shellcheck disable=SC2086
	if ! "$IMAPTRACE" -q -F ndjson $iopts "$cap" >"$tmp/$name.ndjson" 2>"$tmp/err"; then
		echo "FAIL tshark $name: imaptrace exit status $? ($(head -c 200 "$tmp/err"))"
		continue
	fi
	set --
	for p in $PORTS; do set -- "$@" -d "tcp.port==$p,imap"; done
	if [ -n "$keylog" ]; then
		set -- "$@" -o "tls.keylog_file:$keylog" -d tcp.port==10144,imap \
			-d tcp.port==10993,tls -d tls.port==10993,imap
	fi
	# aggregator: ASCII unit separator (fields with several occurrences)
	if ! tshark -r "$cap" "$@" -T fields -E occurrence=a -E aggregator="$(printf '\037')" \
		-e frame.number -e tcp.stream -e imap.request_tag -e imap.response_tag \
		-e imap.response_to -e frame.cap_len -e frame.len \
		>"$tmp/$name.tshark" 2>"$tmp/err"; then
		echo "FAIL tshark $name: tshark failed ($(head -c 200 "$tmp/err"))"
		continue
	fi
	/usr/bin/python3 - "$name" "$tmp/$name.ndjson" "$tmp/$name.tshark" <<'EOF'
import collections
import json
import sys

name, ndjson, fields = sys.argv[1:4]

# --- tshark's view -----------------------------------------------------------
stream = {}                      # frame -> tcp.stream
cut = set()                      # frames cut by the snapshot length
req = {}                         # frame -> [request tags]
resp = []                        # (frame, [response tags], [response_to frames])
with open(fields, encoding="utf-8", errors="replace", newline="\n") as f:
    # (split on \n only: DEFLATE garbage read as IMAP may contain other
    # characters that str.splitlines() would treat as line ends)
    for line in f.read().split("\n"):
        col = line.split("\t")
        if len(col) < 5 or not col[0].isdigit():
            continue
        fr = int(col[0])
        stream[fr] = int(col[1]) if col[1].isdigit() else -1
        if len(col) >= 7 and col[5].isdigit() and col[6].isdigit() and \
                int(col[5]) < int(col[6]):
            cut.add(fr)
        parts = lambda s: [x for x in s.split("\x1f") if x != ""]
        if parts(col[2]):
            req[fr] = parts(col[2])
        rto = [int(x) for x in parts(col[4]) if x.isdigit()]
        if parts(col[3]):
            resp.append((fr, parts(col[3]), rto))
tpairs = set()
for fr, tags, rto in resp:
    used = [False] * len(tags)
    for r in rto:
        # the next unused response tag that the request frame carried
        for i, t in enumerate(tags):
            if not used[i] and t in req.get(r, []):
                used[i] = True
                tpairs.add((stream.get(fr), t, r, fr))
                break
        else:
            tpairs.add((stream.get(fr), "?", r, fr))

# --- imaptrace's view --------------------------------------------------------
events = [json.loads(l) for l in open(ndjson, encoding="utf-8") if l.strip()]
sess_stream = {}
compress_at = {}                 # tcp stream -> frame of the COMPRESS OK
commands = {}                    # (stream, frame, tag) -> literal count
client_data = {}                 # frame -> set of kinds
for e in events:
    t = e["type"]
    if t == "session_start":
        sess_stream[e["session"]] = stream.get(e["frame"])
    s = sess_stream.get(e.get("session"))
    if t == "compress":
        compress_at[s] = e["frame"]
    elif t == "command":
        commands[(s, e["frame"], e["tag"])] = e.get("literals", {}).get("count", 0)
    elif t == "client_data":
        client_data.setdefault(e["frame"], set()).add(e.get("kind"))
ipairs = set()
for e in events:
    if e["type"] == "result" and e.get("command") is not None:
        ipairs.add((stream.get(e["command_frame"]), e["tag"], e["command_frame"], e["frame"]))

def after_compress(s, fr):
    return s in compress_at and fr > compress_at[s]

exc = collections.Counter()
problems = []

# --- pairs ---------------------------------------------------------------------
only_t = tpairs - ipairs
only_i = ipairs - tpairs
for p in sorted(only_t, key=lambda p: p[3]):
    s, tag, r, fr = p
    # literal-command-frame: same result frame and tag; imaptrace's command
    # frame is later, is a command with literals, and tshark's request frame
    # carried the tag
    lit = [q for q in only_i if q[0] == s and q[1] == tag and q[3] == fr
           and q[2] > r and commands.get((s, q[2], tag), 0) > 0]
    if lit and tag in req.get(r, []):
        only_i.discard(lit[0])
        exc["literal-command-frame"] += 1
    elif after_compress(s, fr):
        exc["after-compress"] += 1
    else:
        problems.append("pair only in tshark: stream %s tag %s frames %s->%s" % p)
for p in sorted(only_i, key=lambda p: p[3]):
    s, tag, c, fr = p
    if after_compress(s, fr):
        exc["after-compress"] += 1
    elif fr in cut:
        exc["snaplen-cut"] += 1
    else:
        problems.append("pair only in imaptrace: stream %s tag %s frames %s->%s" % p)
agree = len(tpairs & ipairs)

# --- requests ------------------------------------------------------------------
# every imaptrace command, by the frame of its first line (tshark's request frame)
lit_ranges = []                  # (stream, first-line frame, completing frame)
seen_cmd = set()
for (s, fr, tag), nlit in sorted(commands.items(), key=lambda kv: kv[0][1]):
    if tag in req.get(fr, []):
        seen_cmd.add((s, fr, tag))
        if nlit:
            lit_ranges.append((s, fr, fr))
        continue
    if nlit:
        first = [r for r in req if r < fr and stream.get(r) == s and tag in req[r]]
        if first:
            seen_cmd.add((s, max(first), tag))
            lit_ranges.append((s, max(first), fr))
            continue
    if after_compress(s, fr):
        continue
    if fr in cut:
        exc["snaplen-cut"] += 1
        continue
    problems.append("command %s (frame %d) not a tshark request" % (tag, fr))
for fr in sorted(req):
    s = stream.get(fr)
    for tag in req[fr]:
        if (s, fr, tag) in seen_cmd:
            continue
        kinds = client_data.get(fr, set())
        if any(ls == s and a <= fr <= b for ls, a, b in lit_ranges):
            exc["literal-data-lines"] += 1
        elif kinds & {"sasl", "sasl-cancel"}:
            exc["sasl-line"] += 1
        elif "idle-done" in kinds and tag.upper() == "DONE":
            exc["idle-done"] += 1
        elif after_compress(s, fr):
            exc["after-compress"] += 1
        elif fr in cut:
            exc["snaplen-cut"] += 1
        else:
            problems.append("tshark request %r (frame %d) is no imaptrace command" % (tag, fr))

# --- responses -----------------------------------------------------------------
# every imaptrace result and continuation is a tshark response at its frame;
# every other tshark response tag lies in a server literal (tshark skips only
# the first literal of a response and reads the lines of the others, and the
# ")" closing a FETCH after its literal, as responses)
results = {}                     # (stream, frame) -> [tags]
conts = set()                    # (stream, frame)
srv_lit = []                     # (stream, first frame, last frame)
prev_s2c = {}
for e in events:
    s = sess_stream.get(e.get("session"))
    if e["type"] == "session_start":
        prev_s2c[s] = e["frame"]
    if e.get("dir") != "s2c":
        continue
    if e["type"] == "result":
        results.setdefault((s, e["frame"]), []).append(e["tag"])
    elif e["type"] == "continuation":
        conts.add((s, e["frame"]))
    elif e["type"] == "response" and e.get("literals", {}).get("count", 0) > 0:
        srv_lit.append((s, prev_s2c.get(s, e["frame"]), e["frame"]))
    prev_s2c[s] = e["frame"]
tresp = collections.Counter()
for fr, tags, _ in resp:
    s = stream.get(fr)
    left = list(results.get((s, fr), []))
    for tag in tags:
        if tag in left:
            left.remove(tag)
            tresp[(s, fr, tag)] += 1
        elif tag == "+" and (s, fr) in conts:
            pass
        elif after_compress(s, fr):
            exc["after-compress"] += 1
        elif any(ls == s and a <= fr <= b for ls, a, b in srv_lit):
            exc["response-literal-lines"] += 1
        else:
            problems.append("tshark response %r (frame %d) is no imaptrace result" % (tag, fr))
for (s, fr), tags in sorted(results.items(), key=lambda kv: kv[0][1]):
    for tag in tags:
        if tresp[(s, fr, tag)] > 0:
            tresp[(s, fr, tag)] -= 1
        elif fr in cut:
            exc["snaplen-cut"] += 1
        elif not after_compress(s, fr):
            problems.append("result %s (frame %d) not a tshark response" % (tag, fr))

if problems:
    print("FAIL tshark %s: %s%s" % (name, "; ".join(problems[:5]),
                                   " (+%d more)" % (len(problems) - 5) if len(problems) > 5 else ""))
else:
    note = ", ".join("%s x%d" % kv for kv in sorted(exc.items()))
    print("ok tshark %s: %d pairs agree%s" % (
        name, agree, "; known tshark limitations (docs/tshark.md): " + note if note else ""))
EOF
done
