#!/usr/bin/python3
"""Crafted captures of damaged sessions: gaps that take a line end, and
packets cut by the snapshot length (end-to-end tests, tests/e2e/21-damage.sh).

Run from the repository root:  /usr/bin/python3 tests/crafted/make_damage_captures.py
Needs scapy (Debian: python3-scapy).  Deterministic, like make_tcp_captures.py,
whose Conv class it uses (client 10.0.0.1:40000, server 10.0.0.2:143).

Gaps (the server's ACK covers the lost bytes):
damage-gap-crlf.pcap        " p\\r\\n" of "a1 LOGIN u p" is lost; "a2 SELECT
                            INBOX" starts the next segment: a1 is reported
                            cut (partial) and paired, a2 is parsed and paired.
damage-gap-select.pcap      "OX\\r\\n" of "a2 SELECT INBOX" is lost; a2 is
                            paired with "a2 OK [READ-WRITE]", the session is
                            selected, so "a3 FETCH" is valid in its state.
damage-gap-server.pcap      the end of the server's "* 1 EXISTS" line is lost;
                            "a2 OK" starts the next segment and pairs.
damage-gap-whole.pcap       the whole "a2 NOOP" is lost: its result says
                            unmatched "gap".
Truncated packets (captured length below the length on the wire):
damage-trunc-greeting.pcap  the greeting is cut after "* OK [CAPA": the greeting
                            is still the greeting, no client-before-greeting;
                            the later "* BYE" is not taken for it.
damage-trunc-greeting-head.pcap  the greeting is cut to its first byte: no
                            greeting is reported, and neither missing-greeting
                            nor client-before-greeting.
damage-trunc-fetch.pcap     a FETCH response with a literal is cut to 40
                            bytes; the tagged OK in the next packet pairs.
damage-trunc-every.pcap     every packet is cut to 30 bytes of payload; each
                            tagged result starts inside them: all pair.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tcp_captures import Conv, LOGIN, LOGIN_OK, write_all  # noqa: E402

SELECT = b"a2 SELECT INBOX\r\n"
SELECT_OK = b"a2 OK [READ-WRITE] done\r\n"
FETCH = b"a3 FETCH 1 BODY[]\r\n"
FETCH_OK = b"a3 OK done\r\n"
CAPA_GREETING = b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED STARTTLS] ready\r\n"


def gap_crlf():
    c = Conv()
    c.start()
    c.send_pieces(0, LOGIN, [10], [0], lost=(1,))
    c.send(0, SELECT)
    c.send(1, LOGIN_OK)
    c.send(1, b"* 1 EXISTS\r\n")
    c.send(1, SELECT_OK)
    c.finish(b"a3")
    return c


def gap_select():
    c = Conv()
    c.start()
    c.send(0, LOGIN)
    c.send(1, LOGIN_OK)
    c.send_pieces(0, SELECT, [13], [0], lost=(1,))
    c.send(1, b"* 1 EXISTS\r\n")
    c.send(1, SELECT_OK)
    c.send(0, FETCH)
    c.send(1, b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n")
    c.send(1, FETCH_OK)
    c.finish(b"a4")
    return c


def gap_server():
    c = Conv()
    c.start()
    c.send(0, LOGIN)
    c.send(1, LOGIN_OK)
    c.send(0, SELECT)
    c.send_pieces(1, b"* 1 EXISTS\r\n", [5], [0], lost=(1,))
    c.send(1, SELECT_OK)
    c.finish(b"a3")   # the LOGOUT's ACK covers the lost bytes
    return c


def gap_whole():
    c = Conv()
    c.start()
    c.send(0, LOGIN)
    c.send(1, LOGIN_OK)
    c.send_pieces(0, b"a2 NOOP\r\n", [], [0], lost=(0,))
    c.send(1, b"a2 OK\r\n")
    c.finish()
    return c


def trunc_greeting():
    c = Conv()
    c.start(CAPA_GREETING)
    c.send(0, b"a1 CAPABILITY\r\n")
    c.send(1, b"* CAPABILITY IMAP4rev1\r\n")
    c.send(1, b"a1 OK\r\n")
    c.finish()
    # frame 4 is the greeting: 10 bytes of payload kept
    return c, {4: 10}


def trunc_greeting_head():
    c, _ = trunc_greeting()
    return c, {4: 1}


def trunc_fetch():
    c = Conv()
    c.start()
    c.send(0, LOGIN)
    c.send(1, LOGIN_OK)
    c.send(0, SELECT)
    c.send(1, SELECT_OK)
    c.send(0, FETCH)
    body = b"From: a\r\nTo: b\r\nSubject: cut\r\n\r\n" + b"x" * 200 + b"\r\n"
    c.send(1, b"* 1 FETCH (BODY[] {%d}\r\n" % len(body) + body + b")\r\n")
    n = len(c.pkts)
    c.send(1, FETCH_OK)
    c.finish(b"a4")
    return c, {n: 40}


def trunc_every():
    c = Conv()
    c.start(CAPA_GREETING)
    c.send(0, LOGIN)
    c.send(1, b"a1 OK [CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS] Logged in\r\n")
    c.send(0, SELECT)
    c.send(1, b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n")
    c.send(1, b"* 3 EXISTS\r\n")
    c.send(1, SELECT_OK)
    c.send(0, b"a3 FETCH 1:3 (FLAGS INTERNALDATE RFC822.SIZE)\r\n")
    c.send(1, b"* 1 FETCH (FLAGS (\\Seen) RFC822.SIZE 100)\r\n")
    c.send(1, b"a3 OK Fetch completed (0.001 + 0.000 secs).\r\n")
    c.finish(b"a4", b"* BYE Logging out\r\n",
             b"a4 OK Logout completed (0.001 + 0.000 secs).\r\n")
    return c, {i: 30 for i in range(1, len(c.pkts) + 1)}


def write_cut(path, pkts, cut):
    """Writes a pcap whose frame numbers (from 1) in `cut` keep only
    that many payload bytes (headers: Ethernet 14, IPv4 20, TCP 20)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(pkts, 1):
            raw = bytes(p)
            keep = len(raw)
            if i in cut:
                keep = min(len(raw), 54 + cut[i])
            t = float(p.time)
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, keep, len(raw)))
            f.write(raw[:keep])


GAPS = {
    "damage-gap-crlf.pcap": gap_crlf,
    "damage-gap-select.pcap": gap_select,
    "damage-gap-server.pcap": gap_server,
    "damage-gap-whole.pcap": gap_whole,
}
CUTS = {
    "damage-trunc-greeting.pcap": trunc_greeting,
    "damage-trunc-greeting-head.pcap": trunc_greeting_head,
    "damage-trunc-fetch.pcap": trunc_fetch,
    "damage-trunc-every.pcap": trunc_every,
}


def main():
    write_all(GAPS)
    write_all(CUTS, lambda path, made: write_cut(path, made[0].pkts, made[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
