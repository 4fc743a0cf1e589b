#!/usr/bin/python3
"""Checks --transactions output against the command and result events of
the NDJSON output of the same capture: one transaction per command, with
the command's tag, name, arguments, time and frame, its result's status,
code, latency and frame (or nulls when it has none), and the untagged
responses between the two.

usage: transactions.py EVENTS.ndjson TRANSACTIONS.ndjson
Prints one line per problem and exits 1 if there was any."""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def main():
    events, txns = load(sys.argv[1]), load(sys.argv[2])
    bad = []
    # Commands by (session, offset): a command's first byte in the stream.
    commands, results = {}, {}
    untagged_at = {}
    count = {}
    for i, ev in enumerate(events):
        sid = (ev.get("session"), ev.get("client"), ev.get("server"))
        if ev["type"] == "command":
            key = sid + (ev["offset"],)
            commands[key] = ev
            untagged_at[key] = count.get(sid, 0)
        elif ev["type"] == "response":
            count[sid] = count.get(sid, 0) + 1
        elif ev["type"] == "result" and ev.get("command_frame") is not None:
            results.setdefault(sid + (ev["tag"], ev["command_frame"]), []).append(
                (ev, count.get(sid, 0)))
    if any(t["type"] != "transaction" for t in txns):
        bad.append("a record other than a transaction")
    seen = set()
    for t in txns:
        sid = (t["session"], t["client"], t["server"])
        key = sid + (t["offset"],)
        c = commands.get(key)
        if c is None:
            bad.append(f"transaction {t['tag']} at {key}: no such command")
            continue
        if key in seen:
            bad.append(f"transaction {t['tag']} at {key}: twice")
        seen.add(key)
        for f in ("tag", "command", "args", "frame", "ts", "community_id"):
            if t.get(f) != c.get(f):
                bad.append(f"{key} {f}: {t.get(f)!r} != command's {c.get(f)!r}")
        if t["command_frame"] != c["frame"]:
            bad.append(f"{key} command_frame {t['command_frame']} != {c['frame']}")
        rs = results.get(sid + (c["tag"], c["frame"]))
        if not rs:
            if t["status"] is not None or t["latency_ms"] is not None or \
                    t["result_frame"] is not None:
                bad.append(f"{key}: no result in the events, yet {t['status']!r}")
            continue
        r, n_after = rs.pop(0)
        want = {"status": r["status"], "code": r.get("code"),
                "latency_ms": r["latency_ms"], "result_frame": r["frame"]}
        for f, v in want.items():
            if t[f] != v:
                bad.append(f"{key} {f}: {t[f]!r} != result's {v!r}")
        # Every untagged response between the command and its result
        # counts, whichever command it answers.
        if t["untagged"] != n_after - untagged_at[key]:
            bad.append(f"{key} untagged {t['untagged']} != {n_after - untagged_at[key]}")
    for key in commands:
        if key not in seen:
            bad.append(f"command {commands[key]['tag']} at {key}: no transaction")
    for b in bad[:20]:
        print(b)
    if not commands:
        print("no commands")
        bad.append(1)
    sys.exit(1 if bad else 0)


main()
