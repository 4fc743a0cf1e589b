#!/usr/bin/python3
"""Sanity-check the sample captures (needs tshark).

usage: verify_pcaps.py [--port 10143] FILE.pcap...

Per TCP stream: SYN seen, FIN seen from both ends, server greeting "* OK",
server byte stream parses as complete IMAP responses (every {N} literal is
fully present, nothing dangling at the end), and the session ends with
"* BYE" plus a tagged OK for LOGOUT.  Streams that switch to COMPRESS=DEFLATE
are inflated first; after STARTTLS only the TCP-level checks apply.
Prints one summary line per file; exit status 1 if any check failed.
"""
import re
import subprocess
import sys
import zlib

LIT = re.compile(rb"\{(\d+)\+?\}\r\n$")


def segments(path, port):
    out = subprocess.run(
        ["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream", "-e",
         "tcp.srcport", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin",
         "-e", "tcp.flags.reset", "-e", "tcp.payload"],
        check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        sid, sport, syn, fin, rst, payload = line.split("\t")
        yield (int(sid), "S" if sport == str(port) else "C",
               syn in ("1", "True"), fin in ("1", "True"), rst in ("1", "True"),
               bytes.fromhex(payload.replace(":", "")))


def parse_responses(data):
    """Split server data into responses; return (responses, leftover)."""
    resp, pos = [], 0
    cur = b""
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return resp, cur + data[pos:]
        line = data[pos:eol + 2]
        cur += line
        pos = eol + 2
        m = LIT.search(line)
        if m:
            n = int(m.group(1))
            if pos + n > len(data):
                return resp, cur + data[pos:]
            cur += data[pos:pos + n]
            pos += n
            continue
        resp.append(cur)
        cur = b""


def check_stream(segs):
    problems = []
    syn = any(s[1] for s in segs)
    fins = {d for d, _, fin, _, _ in segs if fin}
    rst = any(s[3] for s in segs)
    if not syn:
        problems.append("no SYN")
    if fins != {"C", "S"}:
        problems.append("FIN only from %s" % (sorted(fins) or "nobody"))
    data = {"C": b"", "S": b""}
    inflate = {"C": None, "S": None}
    tls = False
    ctag = None
    for d, _, _, _, payload in segs:
        if not payload or tls:
            continue
        if inflate[d] is not None:
            payload = inflate[d].decompress(payload)
        data[d] += payload
        if d == "C":
            m = re.search(rb"^(\S+) (COMPRESS DEFLATE|STARTTLS)\r\n", payload, re.M | re.I)
            if m:
                ctag = (m.group(1), m.group(2).upper())
        elif ctag and re.search(rb"^" + re.escape(ctag[0]) + rb" OK", payload, re.M):
            if ctag[1] == b"STARTTLS":
                tls = True
            else:
                inflate = {"C": zlib.decompressobj(-15), "S": zlib.decompressobj(-15)}
            ctag = None
    resp, left = parse_responses(data["S"])
    if not resp or not resp[0].startswith(b"* OK"):
        problems.append("no greeting")
    if left:
        problems.append("incomplete server data (%d bytes dangling)" % len(left))
    if not tls:
        if not any(r.startswith(b"* BYE") for r in resp):
            problems.append("no * BYE")
        if not any(re.match(rb"\S+ OK Logout", r) for r in resp):
            problems.append("no tagged LOGOUT OK")
    ncmd = len(re.findall(rb"^\S+ [A-Za-z]", data["C"], re.M))
    info = "%d resp%s%s%s" % (len(resp), ", TLS" if tls else "",
                              ", deflate" if inflate["S"] else "", ", RST" if rst else "")
    return problems, info, ncmd


def main(argv):
    port = 10143
    if argv[:1] == ["--port"]:
        port, argv = int(argv[1]), argv[2:]
    bad = 0
    for path in argv:
        streams = {}
        for sid, d, syn, fin, rst, payload in segments(path, port):
            streams.setdefault(sid, []).append((d, syn, fin, rst, payload))
        issues, infos = [], []
        for sid, segs in sorted(streams.items()):
            p, info, _ = check_stream(segs)
            issues += ["stream %d: %s" % (sid, x) for x in p]
            infos.append(info)
        status = "OK  " if not issues else "FAIL"
        bad += bool(issues)
        print("%s %-34s %d stream(s) [%s]%s" % (
            status, path.rsplit("/", 1)[-1], len(streams), "; ".join(infos),
            "" if not issues else "\n     " + "\n     ".join(issues)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
