#!/usr/bin/python3
"""Writes the small crafted captures used by tests/test_capture.c and
tests/test_ip.c into tests/captures/.

Run from anywhere:  /usr/bin/python3 tests/crafted/make_captures.py
Scapy builds the packet bytes; the file containers (pcap, nanosecond pcap,
pcapng, gzip) are written here with struct.pack so every byte - including
the timestamps - is fixed and a re-run reproduces identical files.
"""
import gzip
import io
import os
import struct

from scapy.all import (ARP, Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, Raw,
                       CookedLinux, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPOption_NOP,
                       IPOption_RR, raw)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                   "captures")

TS0 = 1700000000        # 2023-11-14T22:13:20Z, the first packet of each file
GREETING = b"* OK [CAPABILITY IMAP4rev1] imaptrace test server ready\r\n"
LOGIN = b"a001 LOGIN alice secret\r\n"
FETCH = b"a002 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])\r\n"

C4, S4 = "192.0.2.10", "198.51.100.20"
C6, S6 = "2001:db8::10", "2001:db8:1::20"
CPORT = 50000

# Link types (LINKTYPE_ values as written in files).
LT_NULL, LT_ETH, LT_RAW, LT_LOOP = 0, 1, 101, 108
LT_SLL, LT_IPV4, LT_IPV6, LT_USER0, LT_SLL2 = 113, 228, 229, 147, 276


def tcp4(payload=b"", flags="PA", seq=1000, ack=2000, src=C4, dst=S4,
         sport=CPORT, dport=143, **ipkw):
    return IP(src=src, dst=dst, id=1, **ipkw) / \
        TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
            window=8192) / Raw(payload)


def tcp6(payload=b"", flags="PA", seq=1000, ack=2000):
    return IPv6(src=C6, dst=S6) / \
        TCP(sport=CPORT, dport=143, flags=flags, seq=seq, ack=ack,
            window=8192) / Raw(payload)


def server4(payload, seq=2000, ack=1000):
    return tcp4(payload, src=S4, dst=C4, sport=143, dport=CPORT,
                seq=seq, ack=ack)


# ---- containers ----------------------------------------------------------

def pcap_bytes(linktype, pkts, nano=False, snaplen=65535, big=False):
    """pkts: list of (data, origlen or None).  Timestamps are TS0 + i s
    plus (i + 1) * 1001 us (or ns * 1000 + i + 1 in nanosecond files, so
    the last digits show that the precision survived)."""
    e = ">" if big else "<"
    magic = 0xa1b23c4d if nano else 0xa1b2c3d4
    out = io.BytesIO()
    out.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen,
                          linktype))
    for i, (data, orig) in enumerate(pkts):
        frac = (i + 1) * 1001
        if nano:
            frac = frac * 1000 + i + 1
        data = bytes(data)
        cap = data[:snaplen]
        out.write(struct.pack(e + "IIII", TS0 + i, frac, len(cap),
                              orig if orig is not None else len(data)))
        out.write(cap)
    return out.getvalue()


def write(name, blob):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)


def write_pcap(name, linktype, pkts, **kw):
    pk = [(p, None) if not isinstance(p, tuple) else p for p in pkts]
    write(name, pcap_bytes(linktype, pk, **kw))


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def ng_block(btype, body, e="<"):
    body = pad4(body)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def ng_option(code, value, e="<"):
    return struct.pack(e + "HH", code, len(value)) + pad4(value)


def ng_shb(e="<"):
    return ng_block(0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1),
                    e)


def ng_idb(linktype, tsresol=None, snaplen=0, e="<"):
    opts = b""
    if tsresol is not None:
        opts = ng_option(9, bytes([tsresol]), e) + ng_option(0, b"", e)
    return ng_block(1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts, e)


def ng_epb(ifid, ts, data, orig=None, e="<"):
    data = bytes(data)
    orig = len(data) if orig is None else orig
    body = struct.pack(e + "IIIII", ifid, ts >> 32, ts & 0xffffffff,
                       len(data), orig) + pad4(data)
    return ng_block(6, body, e)


def ng_spb(data, orig=None, e="<"):
    data = bytes(data)
    orig = len(data) if orig is None else orig
    return ng_block(3, struct.pack(e + "I", orig) + pad4(data), e)


def ng_opb(ifid, ts, data, e="<"):
    data = bytes(data)
    body = struct.pack(e + "HHIIII", ifid, 0, ts >> 32, ts & 0xffffffff,
                       len(data), len(data)) + pad4(data)
    return ng_block(2, body, e)


# ---- files ---------------------------------------------------------------

def link_files():
    g4 = server4(GREETING)
    # Ethernet: greeting, ARP, UDP, and a bare ACK padded to 60 bytes.
    eth = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    ack = raw(eth / tcp4(b"", flags="A", seq=1000, ack=2058))
    assert len(ack) == 54
    write_pcap("eth.pcap", LT_ETH, [
        eth / g4,
        Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") /
        ARP(psrc=C4, pdst=S4),
        eth / IP(src=C4, dst=S4, id=1) / UDP(sport=5353, dport=53) /
        Raw(b"xx"),
        ack + b"\xee" * 6,
    ])
    with open(os.path.join(OUT, "eth.pcap"), "rb") as f:
        plain = f.read()
    gz = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0) as z:
        z.write(plain)
    write("eth.pcap.gz", gz.getvalue())
    # The same packets, big-endian file header.
    write_pcap("eth_be.pcap", LT_ETH, [eth / g4], big=True)

    write_pcap("vlan.pcap", LT_ETH, [eth / Dot1Q(vlan=42) / tcp4(LOGIN)])
    write_pcap("qinq.pcap", LT_ETH, [
        Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01",
              type=0x88a8) / Dot1AD(vlan=100) / Dot1Q(vlan=42) / tcp4(LOGIN)
    ])
    write_pcap("sll.pcap", LT_SLL,
               [CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6,
                            src=b"\x02\0\0\0\0\x01\0\0", proto=0x0800) /
                tcp4(LOGIN)])
    # SLL2 by hand: protocol, reserved, ifindex, hatype, pkttype, addrlen,
    # address[8].
    sll2 = struct.pack(">HHIHBB8s", 0x86DD, 0, 3, 1, 4, 6,
                       b"\x02\0\0\0\0\x02\0\0")
    write_pcap("sll2.pcap", LT_SLL2, [sll2 + raw(tcp6(LOGIN))])
    write_pcap("raw4.pcap", LT_RAW, [tcp4(LOGIN)])
    write_pcap("raw6.pcap", LT_RAW, [tcp6(LOGIN)])
    write_pcap("ipv4_dlt.pcap", LT_IPV4, [tcp4(LOGIN)])
    write_pcap("ipv6_dlt.pcap", LT_IPV6, [tcp6(LOGIN)])
    # NULL: family in the capturing host's order (little-endian here); the
    # second packet uses 30 (AF_INET6 on macOS).
    write_pcap("null.pcap", LT_NULL, [
        struct.pack("<I", 2) + raw(tcp4(LOGIN)),
        struct.pack("<I", 30) + raw(tcp6(LOGIN)),
    ])
    write_pcap("loop.pcap", LT_LOOP, [
        struct.pack(">I", 2) + raw(tcp4(LOGIN)),
        struct.pack(">I", 24) + raw(tcp6(LOGIN)),
    ])
    write_pcap("user0.pcap", LT_USER0, [raw(tcp4(LOGIN))])


def ip_files():
    eth = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    # IPv4 with options: NOP + Record Route (3 slots) -> IHL 10.
    p = eth / tcp4(LOGIN, options=[IPOption_NOP(),
                                   IPOption_RR(routers=["0.0.0.0"] * 3)])
    write_pcap("ipv4_options.pcap", LT_ETH, [p])

    # 6in4 and IPv4-in-IPv4.
    outer = IP(src="203.0.113.1", dst="203.0.113.2", id=7)
    write_pcap("tunnel.pcap", LT_ETH, [
        eth / outer / tcp6(LOGIN),
        eth / outer / tcp4(FETCH),
    ])

    # IPv6 with hop-by-hop and destination options headers.
    p6 = IPv6(src=C6, dst=S6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / \
        TCP(sport=CPORT, dport=143, flags="PA", seq=1000, ack=2000,
            window=8192) / Raw(LOGIN)
    write_pcap("ipv6_ext.pcap", LT_ETH, [eth / p6])

    # IPv4 fragments of one TCP segment carrying FETCH (20 + 64 bytes).
    whole = tcp4(FETCH)
    seg = raw(whole)[20:]
    assert len(seg) == 84
    chunks = [(0, seg[0:24]), (24, seg[24:48]), (48, seg[48:])]

    def frag4(off, data, more, ident=0x4242):
        return eth / IP(src=C4, dst=S4, id=ident, proto=6,
                        flags="MF" if more else 0, frag=off // 8) / Raw(data)

    f = [frag4(o, d, o + len(d) < len(seg)) for o, d in chunks]
    write_pcap("frag4.pcap", LT_ETH, f)
    # Out of order, with an overlapping forgery [16, 40) of 'X' that comes
    # after [24, 48) but before [0, 24): the first copy of each byte wins,
    # so bytes 16..23 (TCP payload bytes 0..3 are 20..23) are 'X'.
    bogus = frag4(16, b"X" * 24, True)
    write_pcap("frag4_ooo.pcap", LT_ETH, [f[2], f[1], bogus, f[0]])

    # IPv6 fragments of one TCP segment (fragmentable part split at 32).
    w6 = tcp6(FETCH)
    seg6 = raw(w6)[40:]
    f6 = []
    for off in range(0, len(seg6), 32):
        part = seg6[off:off + 32]
        more = 1 if off + 32 < len(seg6) else 0
        f6.append(eth / IPv6(src=C6, dst=S6) /
                  IPv6ExtHdrFragment(nh=6, offset=off // 8, m=more,
                                     id=0x12345678) / Raw(part))
    write_pcap("frag6.pcap", LT_ETH, [f6[1], f6[0], f6[2]])

    # Snapshot length 64: the greeting loses its tail; the second packet
    # (caplen 44) is cut inside the TCP header.
    big = eth / server4(GREETING)
    b = raw(big)
    write(
        "snaplen.pcap",
        pcap_bytes(LT_ETH, [(b, len(b)), (b[:44], len(b))], snaplen=64))


def file_files():
    eth = Ether(src="02:00:00:00:00:02", dst="02:00:00:00:00:01")
    pk = [eth / server4(GREETING), eth / tcp4(LOGIN),
          eth / server4(b"a001 OK LOGIN completed\r\n", seq=2058, ack=1025)]
    write_pcap("nano.pcap", LT_ETH, pk, nano=True)
    full = pcap_bytes(LT_ETH, [(p, None) for p in pk])
    # Cut inside the third record's data.
    write("truncated.pcap", full[:len(full) - 20])
    # Cut inside the third record's header.
    third = len(full) - len(raw(pk[2])) - 16
    write("truncated_hdr.pcap", full[:third + 7])
    write("garbage.pcap",
          b"This is not a packet capture, just some text.\n" * 3)

    # pcapng, two interfaces: Ethernet (default microseconds) and raw IP
    # (if_tsresol 9 = nanoseconds), then an SPB (interface 0), an OPB,
    # and an unknown block that must be skipped.
    t_us = TS0 * 10**6 + 123456
    t_ns = (TS0 + 1) * 10**9 + 987654321
    blob = ng_shb() + ng_idb(LT_ETH) + ng_idb(LT_RAW, tsresol=9)
    blob += ng_epb(0, t_us, eth / server4(GREETING))
    blob += ng_epb(1, t_ns, tcp4(LOGIN))
    blob += ng_block(0x0BAD, b"skip me!")
    blob += ng_spb(eth / tcp4(LOGIN))
    blob += ng_opb(1, t_ns + 1000, tcp4(FETCH))
    write("mixed.pcapng", blob)

    # Big-endian pcapng, one Ethernet interface with if_tsresol 2^-10.
    e = ">"
    blob = ng_shb(e) + ng_idb(LT_ETH, tsresol=0x80 | 10, e=e)
    blob += ng_epb(0, (TS0 << 10) | 512, eth / server4(GREETING), e=e)
    write("be.pcapng", blob)

    # pcapng whose second EPB has a trailing length that does not match.
    good = ng_shb() + ng_idb(LT_ETH) + ng_epb(0, t_us, eth / tcp4(LOGIN))
    bad = bytearray(ng_epb(0, t_us + 1, eth / tcp4(LOGIN)))
    bad[-4:] = struct.pack("<I", 999)
    write("badlen.pcapng", good + bytes(bad))


def main():
    os.makedirs(OUT, exist_ok=True)
    link_files()
    ip_files()
    file_files()


if __name__ == "__main__":
    main()
