#!/usr/bin/python3
"""make_hostile - write the hostile captures of tests/e2e/30-hostile.sh.

Python 3 standard library only.  The files are classic pcap (microsecond,
little-endian, Ethernet), built with struct and written with one big
write each, so even the 500 000-segment file takes a few seconds.  They are
big (up to ~60 MB) and are not committed: the test generates them into a
temporary directory and removes them.

Usage:

    make_hostile.py OUTDIR [--scale F] [--only NAME[,NAME...]]
    make_hostile.py OUTDIR --sized NAME N [--seg BYTES]

Writes OUTDIR/NAME.pcap for each case below and prints one line per file:
NAME <TAB> bytes <TAB> what it holds.  --scale multiplies every count (0.1
for a quick run).  --sized writes only OUTDIR/NAME-N.pcap, case NAME with
count N (reverse: N segments of --seg bytes, default 100; unanswered: N
commands; onebyte-literal: N bytes; syn-flood: N flows): the linear-time
check runs one case at two sizes.

Cases (counts at scale 1):

  syn-flood        200 000 SYN-only flows, then one complete session
                   (greeting, LOGIN, SELECT, FETCH, LOGOUT) that must still
                   be analysed in full.
  onebyte-literal  a session whose FETCH literal (500 000 bytes) arrives in
                   500 000 one-byte segments.
  reverse          a FETCH literal in 100 000 segments of 100 bytes sent in
                   reverse order (the first arrives last).
  long-line        a 50 MB command line without CRLF.
  literal-max      APPEND {18446744073709551615} (2^64-1) and a FETCH
                   response literal of the same size.
  literal-30       APPEND and FETCH literals of 30 digits.
  nested-fetch     a FETCH response with 100 000 nested parentheses.
  nested-search    a SEARCH command with 100 000 nested parentheses.
  unanswered       100 000 commands the server never answers.
  cut-record       two sessions; the file ends inside a record of the
                   second one (frame named in the error).
  garbage-record   two sessions; a record header in the second has a
                   garbage length (caplen 0xfffffff0).
  garbage-header   a pcap file header of garbage (no magic at all).
"""
import os
import struct
import sys

TS0 = 1767225600            # 2026-01-01T00:00:00Z
ETH = bytes.fromhex("020000000002" "020000000001" "0800")
REC = struct.Struct("<IIII")
IPTCP = struct.Struct("!BBHHHBBH4s4sHHIIBBHHH")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Capture:
    """Records of one pcap file, kept as a list of bytes and joined once."""

    def __init__(self):
        self.recs = []
        self.t = 0              # microseconds since TS0

    def packet(self, src, dst, sport, dport, seq, ack, flags, payload=b"",
               step=10):
        self.t += step
        n = 54 + len(payload)
        self.recs.append(REC.pack(TS0 + self.t // 1000000, self.t % 1000000,
                                  n, n))
        self.recs.append(ETH)
        self.recs.append(IPTCP.pack(0x45, 0, 40 + len(payload), 0, 0x4000,
                                    64, 6, 0, src, dst, sport, dport,
                                    seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                                    0x50, flags, 65535, 0, 0))
        if payload:
            self.recs.append(payload)

    def data(self):
        return PCAP_HDR + b"".join(self.recs)

    def write(self, path, cut=None):
        d = self.data()
        if cut is not None:
            d = d[:cut]
        with open(path, "wb") as f:
            f.write(d)
        return len(d)


class Flow:
    """One TCP connection; c()/s() send in order and advance sequences."""

    def __init__(self, cap, client="192.0.2.10", cport=50000,
                 server="198.51.100.20", sport=143):
        self.cap = cap
        self.c_ip, self.s_ip = ip4(client), ip4(server)
        self.cport, self.sport = cport, sport
        self.cseq, self.sseq = 1000, 5000000

    def handshake(self):
        cap = self.cap
        cap.packet(self.c_ip, self.s_ip, self.cport, self.sport,
                   self.cseq, 0, SYN)
        cap.packet(self.s_ip, self.c_ip, self.sport, self.cport,
                   self.sseq, self.cseq + 1, SYN | ACK)
        self.cseq += 1
        self.sseq += 1
        cap.packet(self.c_ip, self.s_ip, self.cport, self.sport,
                   self.cseq, self.sseq, ACK)
        return self

    def c(self, data, mss=1460):
        for i in range(0, len(data), mss):
            part = data[i:i + mss]
            self.cap.packet(self.c_ip, self.s_ip, self.cport, self.sport,
                            self.cseq, self.sseq, PSH | ACK, part)
            self.cseq += len(part)
        return self

    def s(self, data, mss=1460):
        for i in range(0, len(data), mss):
            part = data[i:i + mss]
            self.cap.packet(self.s_ip, self.c_ip, self.sport, self.cport,
                            self.sseq, self.cseq, PSH | ACK, part)
            self.sseq += len(part)
        return self

    def fin(self):
        cap = self.cap
        cap.packet(self.c_ip, self.s_ip, self.cport, self.sport,
                   self.cseq, self.sseq, FIN | ACK)
        cap.packet(self.s_ip, self.c_ip, self.sport, self.cport,
                   self.sseq, self.cseq + 1, FIN | ACK)
        cap.packet(self.c_ip, self.s_ip, self.cport, self.sport,
                   self.cseq + 1, self.sseq + 1, ACK)
        return self


GREETING = b"* OK [CAPABILITY IMAP4rev1 LITERAL+] hostile test server ready\r\n"


def real_session(cap, client="192.0.2.10", cport=50000, tag="r"):
    """A complete, clean session; its tags start with `tag`."""
    f = Flow(cap, client=client, cport=cport).handshake()
    f.s(GREETING)
    f.c(b"%s1 LOGIN alice secret\r\n" % tag.encode())
    f.s(b"%s1 OK logged in\r\n" % tag.encode())
    f.c(b"%s2 SELECT INBOX\r\n" % tag.encode())
    f.s(b"* 3 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n"
        b"%s2 OK [READ-WRITE] SELECT completed\r\n" % tag.encode())
    f.c(b"%s3 FETCH 1 (FLAGS BODY[])\r\n" % tag.encode())
    f.s(b"* 1 FETCH (FLAGS (\\Seen) BODY[] {13}\r\nHello, world!)\r\n"
        b"%s3 OK FETCH completed\r\n" % tag.encode())
    f.c(b"%s4 LOGOUT\r\n" % tag.encode())
    f.s(b"* BYE bye\r\n%s4 OK LOGOUT completed\r\n" % tag.encode())
    return f.fin()


def opened(cap, **kw):
    """A session up to SELECT, ready for a hostile exchange."""
    f = Flow(cap, **kw).handshake()
    f.s(GREETING)
    f.c(b"a1 LOGIN alice secret\r\n")
    f.s(b"a1 OK logged in\r\n")
    f.c(b"a2 SELECT INBOX\r\n")
    f.s(b"* 1 EXISTS\r\na2 OK [READ-WRITE] SELECT completed\r\n")
    return f


def syn_flood(n):
    cap = Capture()
    syn = []
    pk = IPTCP.pack
    rec = REC.pack
    dst = ip4("198.51.100.20")
    for i in range(n):
        t = i * 2
        src = bytes((10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF))
        syn.append(rec(TS0 + t // 1000000, t % 1000000, 54, 54) + ETH +
                   pk(0x45, 0, 40, 0, 0x4000, 64, 6, 0, src, dst,
                      40000 + (i % 20000), 143, i * 7919, 0, 0x50, SYN,
                      65535, 0, 0))
    cap.recs.append(b"".join(syn))
    cap.t = n * 2 + 1000
    real_session(cap, client="192.0.2.99", cport=61000, tag="real")
    return cap


def onebyte_literal(n):
    cap = Capture()
    f = opened(cap)
    f.c(b"a3 FETCH 1 BODY[]\r\n")
    f.s(b"* 1 FETCH (BODY[] {%d}\r\n" % n)
    body = (b"0123456789abcdef" * (n // 16 + 1))[:n]
    f.s(body, mss=1)
    f.s(b")\r\na3 OK FETCH completed\r\n")
    f.c(b"a4 LOGOUT\r\n")
    f.s(b"* BYE bye\r\na4 OK LOGOUT completed\r\n")
    f.fin()
    return cap


def reverse(n, seg=100):
    cap = Capture()
    f = opened(cap)
    f.c(b"a3 FETCH 1 BODY[]\r\n")
    size = n * seg
    f.s(b"* 1 FETCH (BODY[] {%d}\r\n" % size)
    base = f.sseq
    chunk = (b"x" * (seg - 2)) + b"\r\n"
    for i in range(n - 1, -1, -1):
        cap.packet(f.s_ip, f.c_ip, f.sport, f.cport, base + i * seg, f.cseq,
                   PSH | ACK, chunk, step=1)
    f.sseq = base + size
    f.s(b")\r\na3 OK FETCH completed\r\n")
    f.c(b"a4 LOGOUT\r\n")
    f.s(b"* BYE bye\r\na4 OK LOGOUT completed\r\n")
    f.fin()
    return cap


def long_line(size):
    cap = Capture()
    f = opened(cap)
    line = b"a3 SEARCH TEXT " + b"A" * (size - 15)
    f.c(line, mss=16384)
    f.fin()
    return cap


def literal_sizes(digits):
    cap = Capture()
    f = opened(cap)
    f.c(b"a3 APPEND INBOX {%s}\r\n" % digits)
    f.s(b"+ go ahead\r\n")
    f.c(b"hello\r\n")
    f.fin()
    g = opened(cap, cport=50001)
    g.c(b"a3 FETCH 1 BODY[]\r\n")
    g.s(b"* 1 FETCH (BODY[] {%s}\r\nhello)\r\na3 OK done\r\n" % digits)
    g.fin()
    return cap


def nested_fetch(depth):
    cap = Capture()
    f = opened(cap)
    f.c(b"a3 FETCH 1 (FLAGS)\r\n")
    f.s(b"* 1 FETCH (FLAGS " + b"(" * depth + b")" * depth + b")\r\n"
        b"a3 OK FETCH completed\r\n")
    f.c(b"a4 LOGOUT\r\n")
    f.s(b"* BYE bye\r\na4 OK LOGOUT completed\r\n")
    f.fin()
    return cap


def nested_search(depth):
    cap = Capture()
    f = opened(cap)
    f.c(b"a3 SEARCH " + b"(" * depth + b"ALL" + b")" * depth + b"\r\n")
    f.s(b"* SEARCH 1\r\na3 OK SEARCH completed\r\n")
    f.c(b"a4 LOGOUT\r\n")
    f.s(b"* BYE bye\r\na4 OK LOGOUT completed\r\n")
    f.fin()
    return cap


def unanswered(n):
    cap = Capture()
    f = opened(cap)
    lines = b"".join(b"u%d NOOP\r\n" % i for i in range(n))
    f.c(lines)
    f.fin()
    return cap


def two_sessions():
    """Session 1 complete; session 2 open; returns (cap, offset of the
    last record of session 2 in the file)."""
    cap = Capture()
    real_session(cap, tag="first")
    f = opened(cap, client="192.0.2.11", cport=50002)
    f.c(b"a3 FETCH 1 BODY[]\r\n")
    f.s(b"* 1 FETCH (BODY[] {40}\r\n0123456789012345678901234567890123456789)"
        b"\r\na3 OK FETCH completed\r\n")
    return cap


def cut_record():
    cap = two_sessions()
    d = cap.data()
    # Half-way through the payload of the last record.
    return cap, len(d) - 20


def garbage_record():
    cap = two_sessions()
    recs = cap.recs
    # Corrupt the caplen/len of the record header that starts the last
    # packet (the FETCH response).
    for i in range(len(recs) - 1, -1, -1):
        if len(recs[i]) == 16 and i + 1 < len(recs) and recs[i + 1] is ETH:
            recs[i] = recs[i][:8] + struct.pack("<II", 0xFFFFFFF0, 0xFFFFFFF0)
            break
    return cap


CASES = [
    ("syn-flood", "200000 SYN-only flows then one real session",
     lambda k: syn_flood(int(200000 * k))),
    ("onebyte-literal", "FETCH literal in 500000 one-byte segments",
     lambda k: onebyte_literal(int(500000 * k))),
    ("reverse", "100000 segments of one flow in reverse order",
     lambda k: reverse(int(100000 * k))),
    ("long-line", "50 MB command line without CRLF",
     lambda k: long_line(int(50000000 * k))),
    ("literal-max", "literal sizes of 2^64-1",
     lambda k: literal_sizes(b"18446744073709551615")),
    ("literal-30", "literal sizes of 30 digits",
     lambda k: literal_sizes(b"123456789012345678901234567890")),
    ("nested-fetch", "100000 nested parentheses in a FETCH response",
     lambda k: nested_fetch(int(100000 * k))),
    ("nested-search", "100000 nested parentheses in a SEARCH",
     lambda k: nested_search(int(100000 * k))),
    ("unanswered", "100000 commands never answered",
     lambda k: unanswered(int(100000 * k))),
    ("cut-record", "file cut inside a record", None),
    ("garbage-record", "record header with a garbage length",
     lambda k: garbage_record()),
    ("garbage-header", "pcap file header of garbage", None),
]


def main(argv):
    args = list(argv[1:])
    scale, only, sized, seg = 1.0, None, None, 100
    if not args:
        sys.exit(__doc__)
    outdir = args.pop(0)
    while args:
        a = args.pop(0)
        if a == "--scale":
            scale = float(args.pop(0))
        elif a == "--only":
            only = set(args.pop(0).split(","))
        elif a == "--sized":
            sized = (args.pop(0), int(args.pop(0)))
        elif a == "--seg":
            seg = int(args.pop(0))
        else:
            sys.exit("make_hostile.py: unknown option %s" % a)
    os.makedirs(outdir, exist_ok=True)
    if sized is not None:
        case, n = sized
        make = {"reverse": lambda: reverse(n, seg),
                "unanswered": lambda: unanswered(n),
                "onebyte-literal": lambda: onebyte_literal(n),
                "syn-flood": lambda: syn_flood(n)}.get(case)
        if make is None:
            sys.exit("make_hostile.py: --sized: no case %s" % case)
        name = "%s-%d" % (case, n)
        size = make().write(os.path.join(outdir, name + ".pcap"))
        print("%s\t%d\t%s with count %d" % (name, size, case, n))
        return
    for name, what, make in CASES:
        if only is not None and name not in only:
            continue
        path = os.path.join(outdir, name + ".pcap")
        if name == "cut-record":
            cap, cut = cut_record()
            size = cap.write(path, cut=cut)
        elif name == "garbage-header":
            # 24 bytes of text where the file header should be, then
            # records as usual.
            cap = two_sessions()
            d = b"GARBAGE HEADER, NO MAGIC" + cap.data()[24:]
            with open(path, "wb") as fp:
                fp.write(d)
            size = len(d)
        else:
            size = make(scale).write(path)
        print("%s\t%d\t%s" % (name, size, what))


if __name__ == "__main__":
    main(sys.argv)
