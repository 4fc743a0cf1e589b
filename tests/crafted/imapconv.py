#!/usr/bin/python3
"""imapconv - write classic pcap files of scripted TCP conversations.

Python 3 standard library only.  Every byte is fixed: timestamps start at a
fixed epoch (2026-01-01T00:00:00Z unless told), initial sequence numbers are
fixed, so a re-run reproduces identical files.

Usage:

    import imapconv as ic
    cap = ic.Capture()                       # one pcap file
    cap.session([
        ('s', b'* OK ready\\r\\n'),
        ('c', b'a1 NOOP\\r\\n'),
        ('s', b'a1 OK done\\r\\n'),
    ])
    cap.write('x.pcap')

A session is a list of steps:

    ('c', data)            client -> server bytes, one segment (split at mss)
    ('s', data)            server -> client bytes
    ('c', [d1, d2, ...])   several lines/steps sent together in ONE segment
    (dir, data, opts)      opts is a dict:
                             gap=SECONDS   idle time before this step
                             split=[n, m, ...]  segment sizes (the rest goes
                                           into a last segment), or an int:
                                           that many segments of equal size
                             drop=[i, ...]  indices of segments that are
                                           not written (a hole in the capture)
                             flags=''      extra TCP flags ('F' = FIN on the
                                           last segment, 'U' ...)
    ('gap', SECONDS)       idle time
    ('fin', 'c'|'s')       a bare FIN from that side (the peer ACKs it);
                           later data from that side follows the FIN in
                           sequence space (tcp-data-after-close)
    ('rst', 'c'|'s')       a RST from that side
    ('ack', 'c'|'s')       a pure ACK from that side

Session options (keyword arguments of Capture.session):

    client=('192.0.2.10', 50000)  server=('198.51.100.20', 143)
                           IPv6 addresses are recognised by a ':'
    handshake=True         SYN, SYN-ACK, ACK; False = picked up mid-stream
    end='fin'              'fin' (client FIN, server FIN, client ACK),
                           'fin-server' (server closes first), 'rst'
                           (client RST), 'rst-server', None (capture stops)
    start=None             absolute start time (epoch seconds, float);
                           default: the capture's clock (end of the previous
                           session plus `pause`)
    pause=1.0              seconds between the previous session and this one
    step_gap=0.001         default time between steps
    acks=True              the receiver sends a pure ACK after each data
                           step (as real stacks do, delayed ACKs aside)
    isn=(1000000, 3000000) client and server initial sequence numbers
    mss=1448               largest payload per segment

Capture.write(path) sorts every packet by time (stable) and writes a
little-endian, microsecond, LINKTYPE_ETHERNET pcap.  Checksums are computed
(IP and TCP) although imaptrace ignores them.
"""
import socket
import struct

EPOCH = 1767225600.0            # 2026-01-01T00:00:00Z
LINKTYPE_ETHERNET = 1
SNAPLEN = 262144

CLIENT4 = ('192.0.2.10', 50000)
SERVER4 = ('198.51.100.20', 143)
CLIENT6 = ('2001:db8::10', 50000)
SERVER6 = ('2001:db8:1::20', 143)

MAC_C = bytes.fromhex('020000000010')
MAC_S = bytes.fromhex('020000000020')

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_FLAGCH = {'F': FIN, 'S': SYN, 'R': RST, 'P': PSH, 'A': ACK, 'U': URG}


def _csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def _is6(addr):
    return ':' in addr


class _Endpoint:
    def __init__(self, addr, port, mac, isn):
        self.addr = addr
        self.port = port
        self.mac = mac
        self.seq = isn          # next sequence number to send
        self.ipid = 1


class Capture:
    """A pcap file being built: a list of (time, frame bytes)."""

    def __init__(self, t0=EPOCH):
        self.packets = []       # (time, order, bytes)
        self.clock = t0
        self._order = 0
        self._first = True

    # ---- frame construction ------------------------------------------
    def _frame(self, src, dst, flags, seq, ack, payload=b'', opts=b''):
        v6 = _is6(src.addr)
        doff = (20 + len(opts)) // 4
        win = 65160 if flags & SYN else 502
        tcp = struct.pack('!HHIIBBHHH', src.port, dst.port, seq & 0xffffffff,
                          ack & 0xffffffff if flags & ACK else 0,
                          doff << 4, flags, win, 0, 0) + opts
        seg = tcp + payload
        if v6:
            s = socket.inet_pton(socket.AF_INET6, src.addr)
            d = socket.inet_pton(socket.AF_INET6, dst.addr)
            pseudo = s + d + struct.pack('!IxxxB', len(seg), 6)
        else:
            s = socket.inet_aton(src.addr)
            d = socket.inet_aton(dst.addr)
            pseudo = s + d + struct.pack('!xBH', 6, len(seg))
        c = _csum(pseudo + seg)
        seg = seg[:16] + struct.pack('!H', c) + seg[18:]
        if v6:
            ip = struct.pack('!IHBB', 0x60000000, len(seg), 6, 64) + s + d
            eth_type = 0x86dd
        else:
            hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(seg),
                              src.ipid & 0xffff, 0x4000, 64, 6, 0, s, d)
            src.ipid += 1
            hdr = hdr[:10] + struct.pack('!H', _csum(hdr)) + hdr[12:]
            ip = hdr
            eth_type = 0x0800
        return dst.mac + src.mac + struct.pack('!H', eth_type) + ip + seg

    def _emit(self, t, frame):
        self.packets.append((t, self._order, frame))
        self._order += 1

    # ---- sessions ------------------------------------------------------
    def session(self, steps, client=CLIENT4, server=SERVER4, handshake=True,
                end='fin', start=None, pause=1.0, step_gap=0.001, acks=True,
                isn=(1000000, 3000000), mss=1448):
        if start is None:
            start = self.clock if self._first else self.clock + pause
        self._first = False
        c = _Endpoint(client[0], client[1], MAC_C, isn[0])
        s = _Endpoint(server[0], server[1], MAC_S, isn[1])
        if _is6(c.addr) != _is6(s.addr):
            raise ValueError('client and server must both be IPv4 or IPv6')
        side = {'c': (c, s), 's': (s, c)}
        t = [start]
        closed = {'c': False, 's': False}

        def put(src, dst, flags, payload=b'', opts=b'', dt=0.00001):
            self._emit(t[0], self._frame(src, dst, flags, src.seq, dst.seq,
                                         payload, opts))
            src.seq += len(payload) + (1 if flags & (SYN | FIN) else 0)
            t[0] += dt

        if handshake:
            mss_opt = struct.pack('!BBH', 2, 4, mss)
            put(c, s, SYN, opts=mss_opt, dt=0.00005)
            put(s, c, SYN | ACK, opts=mss_opt, dt=0.00005)
            put(c, s, ACK, dt=0.0005)

        def sizes(n, split):
            if split is None:
                out = []
                while n > 0:
                    out.append(min(n, mss))
                    n -= out[-1]
                return out or [0]
            if isinstance(split, int):
                k = max(1, split)
                base = [n // k] * k
                for i in range(n % k):
                    base[i] += 1
                return [x for x in base if x] or [0]
            out = [x for x in split if x]
            rest = n - sum(out)
            if rest < 0:
                raise ValueError('split sizes exceed the data')
            while rest > 0:
                out.append(min(rest, mss))
                rest -= out[-1]
            return out

        first_step = True
        for step in steps:
            kind = step[0]
            if kind == 'gap':
                t[0] += step[1]
                continue
            if kind in ('fin', 'rst', 'ack'):
                src, dst = side[step[1]]
                if not first_step:
                    t[0] += step_gap
                if kind == 'fin':
                    put(src, dst, FIN | ACK)
                    closed[step[1]] = True
                    put(dst, src, ACK)
                elif kind == 'rst':
                    put(src, dst, RST | ACK)
                else:
                    put(src, dst, ACK)
                first_step = False
                continue
            if kind not in side:
                raise ValueError('unknown step %r' % (kind,))
            data = step[1]
            opts = step[2] if len(step) > 2 else {}
            if isinstance(data, (list, tuple)):
                data = b''.join(data)
            gap = opts.get('gap', step_gap)
            if not first_step:
                t[0] += gap
            first_step = False
            src, dst = side[kind]
            extra = 0
            for ch in opts.get('flags', ''):
                extra |= _FLAGCH[ch]
            parts = sizes(len(data), opts.get('split'))
            off = 0
            for i, n in enumerate(parts):
                if i in opts.get('drop', ()):
                    src.seq += n
                    off += n
                    continue
                last = i == len(parts) - 1
                fl = ACK | (PSH if last else 0) | (extra if last else 0)
                put(src, dst, fl, data[off:off + n])
                off += n
            if extra & FIN:
                closed[kind] = True
            if acks:
                put(dst, src, ACK)

        t[0] += step_gap
        if end in ('fin', 'fin-server'):
            a, b = ('c', 's') if end == 'fin' else ('s', 'c')
            x, y = side[a]
            if not closed[a]:
                put(x, y, FIN | ACK, dt=0.0001)
            if not closed[b]:
                put(y, x, FIN | ACK, dt=0.0001)
                put(x, y, ACK)
            else:
                put(y, x, ACK)
        elif end in ('rst', 'rst-server'):
            x, y = side['c' if end == 'rst' else 's']
            put(x, y, RST | ACK)
        elif end is not None:
            raise ValueError('unknown end %r' % (end,))
        self.clock = t[0]
        return self

    # ---- output ----------------------------------------------------------
    def write(self, path):
        pkts = sorted(self.packets, key=lambda p: (p[0], p[1]))
        with open(path, 'wb') as f:
            f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, SNAPLEN,
                                LINKTYPE_ETHERNET))
            for t, _, frame in pkts:
                us_total = int(round(t * 1000000))
                sec, us = divmod(us_total, 1000000)
                f.write(struct.pack('<IIII', sec, us, len(frame), len(frame)))
                f.write(frame)
        return path


def write_session(path, steps, **kw):
    """One session, one file."""
    return Capture().session(steps, **kw).write(path)
