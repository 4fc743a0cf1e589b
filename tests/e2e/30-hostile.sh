#!/bin/sh
# Hostile captures: tests/hostile/make_hostile.py writes them into a
# temporary directory (they are big: ~120 MB in all, never committed), and
# imaptrace runs on each with the default limits.  For every case:
#   - the exit status: 0, or 3 for the broken files, whose message must
#     name the file and the frame (a garbage file header has no frame yet:
#     the file is named) and whose output must still hold the sessions read
#     before the break;
#   - the finding of the cap the case hits (limit-reached with its limit,
#     literal-too-large, line-too-long, oversized-argument), and that the
#     analysis went on after it;
#   - peak RSS under 64 MB (not under SANITIZE=1: ASan's shadow memory and
#     quarantine are not imaptrace's), and the wall time, printed.
# Then time linear in size: the reverse-order case (with the hold caps
# lifted, so every segment is held in the out-of-order tree) and the
# unanswered-commands case, each at two sizes N and 2N, must take less
# than 3x longer at 2N (CPU time, best of 3).
# Last, every fuzzer crash input tests/fuzz/regressions/pipeline-* must
# exit 0 or 3 without a sanitizer report.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! /usr/bin/python3 tests/hostile/make_hostile.py "$tmp/caps" >"$tmp/list" 2>"$tmp/err"; then
	echo "FAIL hostile: make_hostile.py: $(head -c 300 "$tmp/err")"
	exit 1
fi
/usr/bin/python3 - "$IMAPTRACE" "$tmp" "${SANITIZE:-0}" <<'PY'
import json
import os
import re
import subprocess
import sys
import time

exe, tmp, sanitize = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
caps = os.path.join(tmp, "caps")
RSS_MAX_KB = 64 * 1024
TIME_MAX = 120 if sanitize else 30
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
SAN_RE = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                    r"runtime error:")


def run(cap, extra=()):
    """Runs imaptrace on cap; returns (rc, seconds, peak RSS in KB, cpu
    seconds, events, stderr)."""
    base = os.path.join(tmp, os.path.basename(cap))
    out, err, rssf = base + ".ndjson", base + ".err", base + ".rss"
    cmd = [exe, "-q", "-F", "ndjson"] + list(extra) + [cap]
    if GNU_TIME:
        cmd = [GNU_TIME, "-q", "-f", "%M", "-o", rssf] + cmd
    t0 = time.monotonic()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe)
        _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    # Without GNU time, ru_maxrss is an upper bound (it starts from the
    # forking python's own size).
    rss = ru.ru_maxrss
    if GNU_TIME:
        try:
            rss = int(open(rssf).read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    events = []
    with open(out, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return rc, secs, rss, ru.ru_utime + ru.ru_stime, events, open(err).read()


def violations(events, fid, limit=None):
    return [e for e in events if e.get("type") == "violation" and
            e.get("id") == fid and (limit is None or e.get("limit") == limit)]


def results(events, prefix):
    """Tags of OK results whose tag starts with prefix."""
    return sorted(e["tag"] for e in events if e.get("type") == "result" and
                  e.get("tag", "").startswith(prefix) and
                  e.get("status") == "OK")


def expect_findings(events, want):
    """want: list of (id, limit or None); returns the missing ones."""
    return ["%s%s" % (i, "/" + l if l else "") for i, l in want
            if not violations(events, i, l)]


def check_broken(name, path, rc, events, err, frame_needed=True):
    problems = []
    if rc != 3:
        problems.append("exit status %d, want 3" % rc)
    if path not in err:
        problems.append("message does not name the file: %r" % err[:200])
    if frame_needed and not re.search(r": frame [0-9]+: ", err):
        problems.append("message does not name the frame: %r" % err[:200])
    return problems


def sessions_before_break(events):
    """The complete first session and the start of the second."""
    problems = []
    got = results(events, "first")
    if got != ["first1", "first2", "first3", "first4"]:
        problems.append("first session results %s" % got)
    if results(events, "a") != ["a1", "a2"]:
        problems.append("second session results %s, want a1 a2" %
                        results(events, "a"))
    return problems


CASES = {
    "syn-flood": [("limit-reached", "max-flows")],
    "onebyte-literal": [],
    "reverse": [("limit-reached", "max-buffer")],
    "long-line": [("line-too-long", None), ("oversized-argument", None)],
    "literal-max": [("literal-too-large", None)],
    "literal-30": [("literal-too-large", None)],
    "nested-fetch": [("limit-reached", "max-depth"), ("line-too-long", None)],
    "nested-search": [("limit-reached", "max-depth"), ("line-too-long", None)],
    "unanswered": [("limit-reached", "max-pending")],
    "cut-record": [],
    "garbage-record": [],
    "garbage-header": [],
}

listing = {}
for line in open(os.path.join(tmp, "list")):
    name, size, what = line.rstrip("\n").split("\t")
    listing[name] = (int(size), what)

for name, want in CASES.items():
    if name not in listing:
        print("FAIL hostile %s: not generated" % name)
        continue
    size, what = listing[name]
    path = os.path.join(caps, name + ".pcap")
    rc, secs, rss, cpu, ev, err = run(path)
    problems = []
    if SAN_RE.search(err):
        problems.append("sanitizer report: " + err[:300])
    if name in ("cut-record", "garbage-record"):
        problems += check_broken(name, path, rc, ev, err)
        problems += sessions_before_break(ev)
    elif name == "garbage-header":
        problems += check_broken(name, path, rc, ev, err, frame_needed=False)
        if "not a pcap or pcapng capture" not in err:
            problems.append("message %r" % err[:200])
    elif rc != 0:
        problems.append("exit status %d: %s" % (rc, err[:200]))
    missing = expect_findings(ev, want)
    if missing:
        problems.append("missing findings " + ",".join(missing))
    # The analysis goes on after the cap.
    if name == "syn-flood":
        got = results(ev, "real")
        if got != ["real1", "real2", "real3", "real4"]:
            problems.append("real session after the flood: results %s" % got)
        if not [e for e in ev if e.get("type") == "session_end" and
                e.get("client", "").startswith("192.0.2.99:") and
                e.get("commands") == 4 and e.get("reason") == "fin"]:
            problems.append("real session after the flood not closed in full")
    elif name == "onebyte-literal":
        fetch = [e for e in ev if e.get("type") == "response" and
                 e.get("name") == "FETCH"]
        if not fetch or fetch[0].get("literals", {}).get("bytes") != 500000:
            problems.append("FETCH literal bytes %s" %
                            [f.get("literals") for f in fetch])
        if results(ev, "a") != ["a1", "a2", "a3", "a4"]:
            problems.append("results %s" % results(ev, "a"))
    elif name in ("reverse", "nested-fetch", "nested-search"):
        if results(ev, "a") != ["a1", "a2", "a3", "a4"]:
            problems.append("results after the cap: %s" % results(ev, "a"))
    elif name == "unanswered":
        n = len(violations(ev, "limit-reached", "max-pending"))
        if n != 1:
            problems.append("max-pending reported %d times, want once" % n)
        ends = [e for e in ev if e.get("type") == "session_end"]
        if not ends or ends[0].get("commands") != 100002:
            problems.append("session_end commands %s" %
                            [e.get("commands") for e in ends])
    elif name in ("literal-max", "literal-30"):
        dirs = sorted({e.get("dir") for e in violations(ev, "literal-too-large")})
        if dirs != ["c2s", "s2c"]:
            problems.append("literal-too-large in directions %s" % dirs)
    if not sanitize and rss >= RSS_MAX_KB:
        problems.append("peak RSS %.1f MB >= 64 MB" % (rss / 1024))
    if secs > TIME_MAX:
        problems.append("took %.1f s (> %d s)" % (secs, TIME_MAX))
    found = sorted({e["id"] + ("/" + e["limit"] if e.get("limit") else "")
                    for e in ev if e.get("type") == "violation"} & {
                   i + ("/" + l if l else "") for i, l in want})
    desc = "%s (%.1f MB): exit %d, %.2f s, peak RSS %.1f MB%s%s" % (
        what, size / 1e6, rc, secs, rss / 1024,
        " (ASan)" if sanitize else "",
        ", " + ", ".join(found) if found else "")
    if problems:
        print("FAIL hostile %s: %s: %s" % (name, desc, "; ".join(problems)))
    else:
        print("ok hostile %s: %s" % (name, desc))


def best_cpu(path, extra, runs=3):
    return min(run(path, extra)[3] for _ in range(runs))


# Linear time: the same case at N and 2N.
LIFT = ["--max-buffer", "1000000000", "--max-total-buffer", "1000000000"]
for case, n, seg, extra in (("reverse", 100000, 10, LIFT),
                            ("unanswered", 50000, None, [])):
    times = []
    for k in (n, 2 * n):
        cmd = ["/usr/bin/python3", "tests/hostile/make_hostile.py", caps,
               "--sized", case, str(k)]
        if seg:
            cmd += ["--seg", str(seg)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        p = os.path.join(caps, "%s-%d.pcap" % (case, k))
        times.append(best_cpu(p, extra))
        os.unlink(p)
    # Below ~20 ms the timer and process start-up dominate.
    ratio = max(times[1], 0.02) / max(times[0], 0.02)
    line = "linear %s: %d -> %d: %.3f s -> %.3f s CPU (x%.2f)" % (
        case, n, 2 * n, times[0], times[1], ratio)
    print(("ok hostile " if ratio < 3 else "FAIL hostile ") + line)

# Crash inputs the pipeline fuzzer found, replayed through the binary.
regs = sorted(f for f in os.listdir("tests/fuzz/regressions")
              if f.startswith("pipeline-"))
bad = []
for f in regs:
    path = os.path.join("tests/fuzz/regressions", f)
    rc, secs, rss, cpu, ev, err = run(path)
    if rc not in (0, 3) or SAN_RE.search(err):
        bad.append("%s: exit %d %s" % (f, rc, err[:300]))
if bad:
    for b in bad:
        print("FAIL hostile pipeline regression " + b)
else:
    print("ok hostile pipeline regressions: %d inputs exit 0 or 3 without a "
          "sanitizer report" % len(regs))
PY
