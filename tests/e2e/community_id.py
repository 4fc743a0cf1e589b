#!/usr/bin/python3
"""Computes the Community ID v1 of every session in NDJSON output on its
own (hashlib.sha1 over the layout of corelight/community-id-spec) and
compares it with the community_id of each of the session's events.

usage: community_id.py SEED FILE.ndjson
Prints one line per problem and exits 1 if there was any."""
import base64
import hashlib
import ipaddress
import json
import struct
import sys


def endpoint(text):
    host, _, port = text.rpartition(":")
    return ipaddress.ip_address(host.strip("[]")), int(port)


def community_id(seed, client, server):
    (ca, cp), (sa, sp) = endpoint(client), endpoint(server)
    a, b = (ca.packed, cp), (sa.packed, sp)
    # The smaller endpoint first: address bytewise, then port.
    if b < a:
        a, b = b, a
    data = (struct.pack("!H", seed) + a[0] + b[0] + struct.pack("!BB", 6, 0)
            + struct.pack("!HH", a[1], b[1]))
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def main():
    seed, path = int(sys.argv[1]), sys.argv[2]
    bad = 0
    sessions = set()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            ev = json.loads(line)
            if ev.get("session", 0) == 0:
                if "community_id" in ev:
                    print(f"line {n}: community_id on an event of no session")
                    bad += 1
                continue
            want = community_id(seed, ev["client"], ev["server"])
            if ev.get("community_id") != want:
                print(f"line {n}: community_id {ev.get('community_id')!r}, computed {want!r}")
                bad += 1
            sessions.add(ev["session"])
    if not sessions:
        print("no session events")
        bad += 1
    sys.exit(1 if bad else 0)


main()
