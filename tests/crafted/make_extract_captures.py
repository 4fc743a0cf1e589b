#!/usr/bin/python3
"""Writes the captures of the evidence export (--extract DIR):

  tests/captures/extract-gap.pcap        a FETCH BODY[] whose literal loses
        one 1000-byte segment: the file keeps its declared length, the
        manifest lists the missing range exactly (offset 2000, 1000 bytes).
  tests/captures/extract-cut.pcap        the capture ends inside a FETCH
        literal: the object is recorded incomplete (capture-end).
  tests/captures/extract-onebyte.pcap    a FETCH BODY[] literal sent in
        one-byte segments, an APPEND {N+}, a MULTIAPPEND with two messages,
        a CATENATE with a TEXT literal and a URL, a partial fetch
        BODY[]<0> and a message whose attachment declares the file name
        "../../etc/passwd": every message is extracted byte for byte.
  tests/captures/extract-mime.pcap       hostile MIME, one FETCH BODY[] each:
        12 attached parts (uid 31), multiparts nested 6 deep (uid 32),
        broken base64 and quoted-printable under declared names with "../"
        and control characters (uid 33), a 100 000-byte header field
        (uid 34): with --max-mime-parts 5 --max-mime-depth 3 each cap is
        hit, and no name from the wire is used.

Next to each capture, NAME.expect lists its whole messages (one line per
message: the SHA-256 of its bytes, in order), which
tests/e2e/25-extract.sh compares with the manifest.

Run from anywhere:  /usr/bin/python3 tests/crafted/make_extract_captures.py
Python 3 standard library only (see imapconv.py); deterministic output.
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imapconv as ic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, '..', 'captures'))


def message(subject, lines=40):
    body = ''.join('line %04d of %s: * 1 FETCH (BODY[] {5}\r\n' % (i, subject)
                   for i in range(lines))
    return ('From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n'
            'Subject: %s\r\nMessage-ID: <%s@example.org>\r\n'
            'Date: Mon, 1 Jan 2026 00:00:00 +0000\r\n\r\n%s'
            % (subject, subject.replace(' ', '-'), body)).encode()


ATTACHED = ('From: Mallory <m@example.org>\r\nSubject: evil name\r\n'
            'MIME-Version: 1.0\r\n'
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            '--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
            '--b\r\nContent-Type: application/octet-stream\r\n'
            'Content-Disposition: attachment; filename="../../etc/passwd"\r\n'
            'Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQK\r\n'
            '--b--\r\n').encode()

LOGIN = [
    ('s', b'* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND CATENATE] ready\r\n'),
    ('c', b'a1 LOGIN alice secret\r\n'),
    ('s', b'a1 OK logged in\r\n'),
    ('c', b'a2 SELECT INBOX\r\n'),
    ('s', b'* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\na2 OK [READ-WRITE] selected\r\n'),
]


def fetch(tag, msn, uid, msg, item='BODY[]'):
    return b'* %d FETCH (UID %d %s {%d}\r\n' % (msn, uid, item.encode(), len(msg)) + \
        msg + b')\r\n%s OK done\r\n' % tag.encode()


def expect(path, msgs):
    with open(path[:-len('.pcap')] + '.expect', 'w') as f:
        for m in msgs:
            f.write(hashlib.sha256(m).hexdigest() + '\n')


def many_parts(n):
    parts = ''.join('--p\r\nContent-Type: application/octet-stream\r\n'
                    'Content-Disposition: attachment; filename="part%02d.bin"\r\n'
                    'Content-Transfer-Encoding: base64\r\n\r\n'
                    'cGFydCAlMDJk\r\n' % i for i in range(n))
    return ('From: Mallory <m@example.org>\r\nSubject: many parts\r\n'
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="p"\r\n\r\n'
            + parts + '--p--\r\n').encode()


def deep(n):
    head = ''.join('--d%d\r\nContent-Type: multipart/mixed; boundary="d%d"\r\n\r\n'
                   % (i, i + 1) for i in range(n))
    tail = ''.join('--d%d--\r\n' % i for i in reversed(range(n + 1)))
    return ('From: Mallory <m@example.org>\r\nSubject: deep\r\n'
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="d0"\r\n\r\n'
            + head + '--d%d\r\nContent-Type: application/pdf; name="inner.pdf"\r\n'
            'Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n' % n
            + tail).encode()


BROKEN = ('From: Mallory <m@example.org>\r\nSubject: broken\r\nMIME-Version: 1.0\r\n'
          'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
          '--b\r\nContent-Type: application/octet-stream\r\n'
          'Content-Disposition: attachment; filename="../../../tmp/imt-evil"\r\n'
          'Content-Transfer-Encoding: base64\r\n\r\n!!!!####====QUJD\r\nR===\r\n'
          '--b\r\nContent-Type: application/octet-stream\r\n'
          'Content-Disposition: attachment; filename="evil\x01\x1b[31m.txt"\r\n'
          'Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=4=\r\nabc=\r\n'
          '--b--\r\n').encode()

LONG_HEADER = ('From: Mallory <m@example.org>\r\nSubject: long header\r\n'
               'X-Filler: ' + 'A' * 100000 + '\r\n\r\nbody\r\n').encode()


def main():
    os.makedirs(OUT, exist_ok=True)
    # A hole inside the literal: 1000-byte segments, the third one lost.
    m = message('gap', 200)
    data = fetch('a3', 1, 11, m)
    head = data.index(b'\r\n') + 2
    p = os.path.join(OUT, 'extract-gap.pcap')
    ic.write_session(p, LOGIN + [
        ('c', b'a3 UID FETCH 11 (BODY.PEEK[])\r\n'),
        ('s', data, {'split': [head, 1000, 1000, 1000], 'drop': [3]}),
        ('c', b'a4 LOGOUT\r\n'),
        ('s', b'* BYE bye\r\na4 OK done\r\n'),
    ])
    expect(p, [])
    # The capture ends inside the literal.
    m = message('cut', 100)
    data = fetch('a3', 2, 12, m)
    p = os.path.join(OUT, 'extract-cut.pcap')
    ic.write_session(p, LOGIN + [
        ('c', b'a3 FETCH 2 (RFC822)\r\n'),
        ('s', data[:len(data) // 2]),
    ], end=None)
    expect(p, [])
    # One-byte segments, APPEND forms, CATENATE, a partial fetch.
    m1, m2, m3, m4 = (message('one byte', 3), message('plus', 2),
                      message('multi one', 2), message('multi two', 2))
    cat = b'Subject: catenated\r\n\r\nbody\r\n'
    p = os.path.join(OUT, 'extract-onebyte.pcap')
    ic.write_session(p, LOGIN + [
        ('c', b'a3 FETCH 1 (BODY.PEEK[])\r\n'),
        ('s', fetch('a3', 1, 0, m1).replace(b'UID 0 ', b''), {'split': len(m1) + 40}),
        ('c', b'a4 APPEND "Sent Items" (\\Seen) {%d+}\r\n' % len(m2) + m2 + b'\r\n'),
        ('s', b'a4 OK [APPENDUID 7 20] done\r\n'),
        ('c', b'a5 APPEND Drafts {%d}\r\n' % len(m3)),
        ('s', b'+ go\r\n'),
        ('c', m3 + b' (\\Draft) {%d}\r\n' % len(m4)),
        ('s', b'+ go\r\n'),
        ('c', m4 + b'\r\n'),
        ('s', b'a5 OK done\r\n'),
        ('c', b'a6 APPEND Drafts CATENATE (URL "/INBOX;UID=20/;SECTION=TEXT" '
              b'TEXT {%d+}\r\n' % len(cat) + cat + b')\r\n'),
        ('s', b'a6 OK done\r\n'),
        ('c', b'a7 UID FETCH 21 (BODY.PEEK[]<0.10> BODY.PEEK[HEADER])\r\n'),
        ('s', b'* 2 FETCH (UID 21 BODY[]<0> {10}\r\n' + m1[:10] +
              b' BODY[HEADER] {20}\r\n' + m1[:20] + b')\r\na7 OK done\r\n'),
        ('c', b'a8 UID FETCH 22 BODY.PEEK[]\r\n'),
        ('s', fetch('a8', 3, 22, ATTACHED)),
        ('c', b'a9 LOGOUT\r\n'),
        ('s', b'* BYE bye\r\na9 OK done\r\n'),
    ])
    expect(p, [m1, m2, m3, m4, ATTACHED])
    # Hostile MIME, one message per FETCH.
    hostile = [(31, many_parts(12)), (32, deep(6)), (33, BROKEN), (34, LONG_HEADER)]
    steps = []
    for i, (uid, msg) in enumerate(hostile):
        tag = 'b%d' % i
        steps += [('c', b'%s UID FETCH %d BODY.PEEK[]\r\n' % (tag.encode(), uid)),
                  ('s', fetch(tag, i + 1, uid, msg))]
    p = os.path.join(OUT, 'extract-mime.pcap')
    ic.write_session(p, LOGIN + steps + [
        ('c', b'a9 LOGOUT\r\n'),
        ('s', b'* BYE bye\r\na9 OK done\r\n'),
    ])
    expect(p, [m for _, m in hostile])


if __name__ == '__main__':
    main()
