#!/usr/bin/python3
"""Crafted captures for the TCP reassembly stage (end-to-end tests).

Run from the repository root:  /usr/bin/python3 tests/crafted/make_tcp_captures.py
Needs scapy (Debian: python3-scapy).  Output is deterministic: fixed
addresses, ports, sequence numbers, IP ids and timestamps, no randomness.

Every file carries the same short IMAP conversation on port 143 between
client 10.0.0.1:40000 and server 10.0.0.2:143, split across segments:

    S: * OK ready            C: a1 LOGIN u p        S: a1 OK
    C: a2 LOGOUT             S: * BYE               S: a2 OK

tcp-reorder.pcap          the greeting arrives as 2 segments in reverse
                          order, "a1 LOGIN u p" as 3 segments in the order
                          3, 1, 2: delivered in order, nothing missing.
tcp-overlap-mismatch.pcap "a1 LOGIN u p" is followed by a retransmission of
                          the same bytes that says "a1 LOGIN x q": the first
                          copy wins, tcp-overlap-mismatch at client offset 9.
tcp-gap.pcap              the middle of "a1 LOGIN u p" ("IN u") is lost;
                          the server's ACK covers it: a 4-byte gap at client
                          offset 6, the parser resynchronises at a2 LOGOUT.
tcp-wrap.pcap             both initial sequence numbers sit just below 2^32;
                          both streams cross the 32-bit wrap mid-line.
tcp-midstream.pcap        no handshake: the capture starts with the
                          greeting; the session is marked midstream, its
                          client found by the port.
tcp-rst.pcap              the conversation ends with the client's RST
                          instead of FINs: tcp-reset; the server's late ACK
                          does not start a new flow.
tcp-data-after-fin.pcap   the server sends FIN after "a2 OK", then
                          "* extra" after its FIN: tcp-data-after-close
                          (server direction), the extra bytes not delivered.
tcp-reuse.pcap            two complete sessions on the same 4-tuple; the
                          second starts with a new SYN after the first closed
                          with FINs: two sessions, the last ACK of the first
                          is not a third.
tcp-ack-first.pcap        the server's "a1 OK", whose ACK covers all of
                          "a1 LOGIN u p", shows before the login's last
                          segment: held back, no gap, every command paired.
tcp-ack-first-late.pcap   the whole login line shows after the server's
                          answer and the client's next command "a2 LOGOUT":
                          no gap, delivered in order.
tcp-ack-first-server.pcap the client's login (its ACK covers the greeting)
                          shows before the greeting: no gap, no
                          client-before-greeting.
tcp-ack-first-pure.pcap   a pure ACK of the server for the login shows before
                          the login's middle segment: no gap.
tcp-retrans.pcap          identical retransmissions (the login line, the
                          server's "a1 OK", and a partial overlap of
                          "a2 LOGOUT"): each byte delivered once, no finding.
"""

import os
import sys

from scapy.all import Ether, IP, TCP, Raw, wrpcap

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captures")

CLIENT = ("10.0.0.1", 40000, "02:00:00:00:00:01")
SERVER = ("10.0.0.2", 143, "02:00:00:00:00:02")
T0 = 1700000000

GREETING = b"* OK ready\r\n"
LOGIN = b"a1 LOGIN u p\r\n"
LOGIN_OK = b"a1 OK\r\n"
LOGOUT = b"a2 LOGOUT\r\n"
BYE = b"* BYE\r\n"
LOGOUT_OK = b"a2 OK\r\n"


class Conv:
    """One TCP connection; seq[0] is the client's next sequence number,
    seq[1] the server's.  Every packet ACKs the peer's next number."""

    def __init__(self, cisn=1000, sisn=5000, t0=T0):
        self.seq = [cisn, sisn]
        self.pkts = []
        self.t = t0
        self.ipid = [1, 1]

    def pkt(self, who, flags, data=b"", seq=None, ack=None):
        src, dst = (SERVER, CLIENT) if who else (CLIENT, SERVER)
        if seq is None:
            seq = self.seq[who]
        if ack is None:
            ack = self.seq[1 - who]
        tcp = TCP(sport=src[1], dport=dst[1], seq=seq % 2**32,
                  ack=ack % 2**32 if "A" in flags else 0, flags=flags,
                  window=65535)
        p = Ether(src=src[2], dst=dst[2]) / IP(src=src[0], dst=dst[0],
                                                id=self.ipid[who]) / tcp
        if data:
            p = p / Raw(load=data)
        self.ipid[who] += 1
        # Timestamps in whole microseconds: identical bytes on every run.
        self.t += 0.01
        p.time = round(self.t, 6)
        self.pkts.append(p)
        return p

    def send(self, who, data=b"", flags="PA"):
        """Sends in order and advances the sender's sequence number."""
        self.pkt(who, flags, data)
        self.seq[who] += len(data) + ("S" in flags) + ("F" in flags)

    def send_pieces(self, who, data, cuts, order, lost=()):
        """Sends data cut at `cuts`, the pieces in `order` (indexes),
        leaving out the pieces in `lost`; then advances the sequence."""
        bounds = [0] + list(cuts) + [len(data)]
        for i in order:
            if i in lost:
                continue
            lo, hi = bounds[i], bounds[i + 1]
            self.pkt(who, "PA", data[lo:hi], seq=self.seq[who] + lo)
        self.seq[who] += len(data)

    def handshake(self):
        self.send(0, flags="S")
        self.send(1, flags="SA")
        self.send(0, flags="A")

    def start(self, greeting=GREETING):
        """The handshake, then the server's greeting."""
        self.handshake()
        self.send(1, greeting)

    def close(self):
        self.send(1, flags="FA")
        self.send(0, flags="FA")
        self.send(1, flags="A")

    def conversation(self):
        self.send(1, GREETING)
        self.send(0, LOGIN)
        self.send(1, LOGIN_OK)
        self.logout()

    def logout(self, tag=b"a2", bye=BYE, ok=None):
        """C: "<tag> LOGOUT", S: bye, S: ok (default "<tag> OK")."""
        self.send(0, tag + b" LOGOUT\r\n")
        self.send(1, bye)
        self.send(1, ok if ok is not None else tag + b" OK\r\n")

    def finish(self, tag=b"a2", bye=BYE, ok=None):
        """The logout exchange, then the FINs."""
        self.logout(tag, bye, ok)
        self.close()


def reorder():
    c = Conv()
    c.handshake()
    c.send_pieces(1, GREETING, [5], [1, 0])
    c.send_pieces(0, LOGIN, [3, 9], [2, 0, 1])
    c.send(1, LOGIN_OK)
    c.finish()
    return c


def overlap_mismatch():
    c = Conv()
    c.start()
    c.send(0, LOGIN)
    # Same sequence range, other bytes: what an evasion attempt looks like.
    c.pkt(0, "PA", b"a1 LOGIN x q\r\n", seq=c.seq[0] - len(LOGIN))
    c.send(1, LOGIN_OK)
    c.finish()
    return c


def gap():
    c = Conv()
    c.start()
    # "a1 LOG" | "IN u" (lost) | " p\r\n"
    c.send_pieces(0, LOGIN, [6, 10], [0, 1, 2], lost=(1,))
    c.send(1, LOGIN_OK)            # its ACK covers the lost bytes
    c.finish()
    return c


def ack_first():
    c = Conv()
    c.start()
    c.send_pieces(0, LOGIN, [6], [0], lost=(1,))   # "a1 LOG" now ...
    c.send(1, LOGIN_OK)                             # ... the answer ...
    c.pkt(0, "PA", LOGIN[6:], seq=c.seq[0] - len(LOGIN) + 6)  # ... the rest
    c.finish()
    return c


def ack_first_late():
    c = Conv()
    c.start()
    c.seq[0] += len(LOGIN)              # the login is not shown yet
    c.send(1, LOGIN_OK)
    c.send(0, LOGOUT)
    c.pkt(0, "PA", LOGIN, seq=c.seq[0] - len(LOGOUT) - len(LOGIN),
          ack=c.seq[1] - len(LOGIN_OK))
    c.send(1, BYE)
    c.send(1, LOGOUT_OK)
    c.close()
    return c


def ack_first_server():
    c = Conv()
    c.handshake()
    c.seq[1] += len(GREETING)           # the greeting is not shown yet
    c.send(0, LOGIN)
    c.pkt(1, "PA", GREETING, seq=c.seq[1] - len(GREETING),
          ack=c.seq[0] - len(LOGIN))
    c.send(1, LOGIN_OK)
    c.finish()
    return c


def ack_first_pure():
    c = Conv()
    c.start()
    c.send_pieces(0, LOGIN, [3, 9], [0, 2], lost=(1,))
    c.pkt(1, "A")                       # ACKs all of the login
    c.pkt(0, "PA", LOGIN[3:9], seq=c.seq[0] - len(LOGIN) + 3)
    c.send(1, LOGIN_OK)
    c.finish()
    return c


def wrap():
    c = Conv(cisn=2**32 - 8, sisn=2**32 - 6)
    c.handshake()
    c.send_pieces(1, GREETING, [4], [0, 1])
    c.send_pieces(0, LOGIN, [5], [0, 1])
    c.send(1, LOGIN_OK)
    c.finish()
    return c


def midstream():
    c = Conv(cisn=123456, sisn=654321)
    c.conversation()
    c.close()
    return c


def rst():
    c = Conv()
    c.handshake()
    c.conversation()
    c.send(0, flags="RA")
    c.send(1, flags="A")           # late ACK: absorbed by the closed flow
    return c


def data_after_fin():
    c = Conv()
    c.handshake()
    c.conversation()
    c.send(1, flags="FA")
    c.seq[1] -= 1                  # the bytes sit where the FIN was
    c.send(1, b"* extra\r\n")
    c.send(0, flags="FA")
    c.send(1, flags="A")
    return c


def reuse():
    c = Conv()
    c.handshake()
    c.conversation()
    c.close()
    d = Conv(cisn=900000, sisn=800000, t0=c.t + 1)
    d.handshake()
    d.conversation()
    d.close()
    c.pkts += d.pkts
    return c


def retrans():
    c = Conv()
    c.start()
    c.send(0, LOGIN)
    c.pkt(0, "PA", LOGIN, seq=c.seq[0] - len(LOGIN))
    c.send(1, LOGIN_OK)
    c.pkt(1, "PA", LOGIN_OK, seq=c.seq[1] - len(LOGIN_OK))
    c.send_pieces(0, LOGOUT, [5], [0])  # "a2 LO" ...
    c.seq[0] -= len(LOGOUT)
    c.send(0, LOGOUT)                   # ... then the whole line again
    c.send(1, BYE)
    c.send(1, LOGOUT_OK)
    c.close()
    return c


CAPTURES = {
    "tcp-reorder.pcap": reorder,
    "tcp-overlap-mismatch.pcap": overlap_mismatch,
    "tcp-gap.pcap": gap,
    "tcp-wrap.pcap": wrap,
    "tcp-midstream.pcap": midstream,
    "tcp-rst.pcap": rst,
    "tcp-data-after-fin.pcap": data_after_fin,
    "tcp-reuse.pcap": reuse,
    "tcp-retrans.pcap": retrans,
    "tcp-ack-first.pcap": ack_first,
    "tcp-ack-first-late.pcap": ack_first_late,
    "tcp-ack-first-server.pcap": ack_first_server,
    "tcp-ack-first-pure.pcap": ack_first_pure,
}


def write_all(captures, write=lambda path, c: wrpcap(path, c.pkts)):
    """Writes what each function of `captures` (file name: function)
    returns into tests/captures, by `write`."""
    os.makedirs(OUT, exist_ok=True)
    for name, make in captures.items():
        path = os.path.join(OUT, name)
        write(path, make())
        print("wrote", os.path.relpath(path))


def main():
    write_all(CAPTURES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
