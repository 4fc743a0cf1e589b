#!/usr/bin/python3
"""Writes the captures that attack the human-readable outputs:

  tests/captures/out-hostile-html.pcap   markup and script in every string
        the report shows (tags, commands, mailbox and user names, response
        texts, message headers in FETCH data, a javascript: URL, invalid
        UTF-8): the html report must show them as text and run none.
  tests/captures/out-escapes.pcap        terminal control sequences (ESC ]0;
        title BEL, ESC [2J, a C1 CSI, DEL, NUL, CR, BEL) in the same places:
        the text format must write every one as \\xNN.

and, with --many OUT.pcap (written where the test asks, not committed):
        130 short sessions, one with 700 NOOPs and one with a finding, to
        exercise the report's limits (100 ladders, 600 rows per ladder).

Run from anywhere:  /usr/bin/python3 tests/crafted/make_output_captures.py
Python 3 standard library only (see imapconv.py); deterministic output.
Every payload that would run sets window.__imtPwned, which the browser test
checks stays undefined.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imapconv as ic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, '..', 'captures'))


def r(*lines):
    return b''.join((ln.encode('latin-1') if isinstance(ln, str) else ln) + b'\r\n'
                    for ln in lines)


def C(*lines):
    return ('c', r(*lines))


def S(*lines):
    return ('s', r(*lines))


def hostile():
    js = 'window.__imtPwned=%d'
    script = '<script>' + js % 1 + '</script>'
    img = '"><img src=x onerror=' + js % 2 + '>'
    end = '</script><script>' + js % 3 + '</script>'
    svg = '<svg onload=' + js % 4 + '>'
    url = 'javascript:' + js % 5
    bad = b'\xff\xfe\xc0\xaf<\xe2\x80'             # invalid UTF-8, a '<' inside
    subject = '<img src=x onerror=' + js % 6 + '> &lt;b&gt; ]]> <!--'
    body = ('Subject: %s\r\nFrom: "%s" <a@example.com>\r\n\r\n%s\r\n'
            % (subject, script, end)).encode('latin-1')
    steps = [
        S('* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ' + script + ' ready'),
        C('%s CAPABILITY' % '<script>' + js % 7 + '</script>'),
        S('* CAPABILITY IMAP4rev1 ' + svg,
          '<script>' + js % 7 + '</script> OK ' + img),
        C('a1 LOGIN "' + script.replace('"', '') + '" "' + url + '"'),
        S('a1 OK [ALERT ' + url + '] ' + end),
        C('a2 SELECT "' + img.replace('"', "'") + '"'),
        S('* 1 EXISTS',
          '* OK [UIDVALIDITY 1] ' + svg,
          'a2 NO [TRYCREATE] ' + img),
        C('a3 SELECT INBOX'),
        S('* 1 EXISTS', '* OK [UIDVALIDITY 1] ok', 'a3 OK [READ-WRITE] done'),
        C('a4 FETCH 1 (ENVELOPE BODY.PEEK[HEADER])'),
        ('s', ('* 1 FETCH (ENVELOPE ("Thu, 1 Jan 2026 09:00:00 +0000" "%s" '
               '(("%s" NIL "a" "example.com")) NIL NIL NIL NIL NIL NIL "%s") '
               'BODY[HEADER] {%d}\r\n' % (subject, script, url, len(body))
               ).encode('latin-1') + body + b')\r\n'),
        S('a4 OK ' + url),
        ('c', b'a5 <img src=x onerror=' + (js % 8).encode() + b'>\r\n'),
        S('a5 BAD ' + svg),
        ('c', b'a6 EXAMINE "' + bad + b'"\r\n'),
        ('s', b'a6 NO ' + bad + b' ' + end.encode() + b'\r\n'),
        C('a7 LOGOUT'),
        S('* BYE ' + url, 'a7 OK ' + script),
    ]
    return steps


def escapes():
    title = b'\x1b]0;PWNED\x07'
    clear = b'\x1b[2J\x1b[H'
    csi = b'\xc2\x9b31m'                            # C1 CSI, UTF-8 encoded
    ctl = b'\x7f\x00\r\x08'
    steps = [
        ('s', b'* OK ' + title + b'ready ' + clear + b'\r\n'),
        ('c', b'a1 LOGIN "user' + title + b'" "secret"\r\n'),
        ('s', b'a1 OK ' + csi + b'logged in' + ctl + b'done\r\n'),
        ('c', b'a2 SELECT "box' + clear + b'"\r\n'),
        ('s', b'* 1 EXISTS\r\n* OK [UIDVALIDITY 1] ' + title + b'\r\n'
              b'a2 OK [READ-WRITE] ' + clear + csi + b'\r\n'),
        ('c', b'a3 FETCH 1 ENVELOPE\r\n'),
        ('s', b'* 1 FETCH (ENVELOPE (NIL "subj' + title + clear + b'" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n'
              b'a3 OK done\r\n'),
        ('c', b'a4 LOGOUT\r\n'),
        ('s', b'* BYE ' + title + b'\r\na4 OK bye\r\n'),
    ]
    return steps


def many(path):
    cap = ic.Capture()
    for i in range(130):
        steps = [S('* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] ready'),
                 C('a1 CAPABILITY'), S('* CAPABILITY IMAP4rev1', 'a1 OK done')]
        if i == 7:
            steps += [
                C(*['b%d NOOP' % n for n in range(700)]),
                S(*['b%d OK NOOP done' % n for n in range(700)])]
        if i == 99:
            steps += [C('a2 FETCH 1 FLAGS'), S('a2 BAD not selected')]
        steps += [C('a9 LOGOUT'), S('* BYE bye', 'a9 OK bye')]
        cap.session(steps, client=('192.0.2.10', 40000 + i), pause=0.01)
    cap.write(path)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--many':
        many(sys.argv[2])
        return
    ic.write_session(os.path.join(OUT, 'out-hostile-html.pcap'), hostile())
    ic.write_session(os.path.join(OUT, 'out-escapes.pcap'), escapes())


if __name__ == '__main__':
    main()
