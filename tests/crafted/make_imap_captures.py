#!/usr/bin/python3
"""Writes the IMAP-level finding captures tests/captures/imap-*.pcap.

Run from anywhere:  /usr/bin/python3 tests/crafted/make_imap_captures.py
                    (add --tsv to also rewrite the imap-* lines of
                    tests/captures/findings.tsv from the table below;
                    lines of other captures are kept)

Each capture is a small session against a server that talks like Dovecot,
clean except for the one problem its name says.  Unless a capture is about
STARTTLS or credentials, the server does NOT offer STARTTLS and the client
authenticates with AUTHENTICATE CRAM-MD5 (no password on the wire), so that
no cleartext-credentials / starttls-stripped finding muddies the result.

Python 3 standard library only (see imapconv.py); deterministic output.
"""
import base64
import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imapconv as ic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, '..', 'captures'))

# ---- what the server says ------------------------------------------------

PRE_TLS = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ '
           'STARTTLS AUTH=PLAIN')
PRE_CRAM = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ '
            'AUTH=PLAIN AUTH=CRAM-MD5')
PRE_PLAIN = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ '
             'AUTH=PLAIN')
POST = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY '
        'THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND '
        'URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS '
        'LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES '
        'WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY '
        'PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY '
        'SPECIAL-USE')


def greeting(caps=PRE_CRAM):
    return '* OK [CAPABILITY %s] Dovecot ready.' % caps


G_TLS = greeting(PRE_TLS)        # what the brief calls the Dovecot greeting
G_CRAM = greeting(PRE_CRAM)      # no STARTTLS, CRAM-MD5 on offer
G_PLAIN = greeting(PRE_PLAIN)    # no STARTTLS (ssl=no, plaintext auth on)

CHALLENGE = b'<1896.697170952@postoffice.example.net>'
VAL = 1700000000


def r(*lines):
    """Lines (str or bytes) joined with CRLF, CRLF-terminated."""
    out = b''
    for ln in lines:
        out += (ln.encode('latin-1') if isinstance(ln, str) else ln) + b'\r\n'
    return out


def C(*lines, **opts):
    return ('c', r(*lines), opts) if opts else ('c', r(*lines))


def S(*lines, **opts):
    return ('s', r(*lines), opts) if opts else ('s', r(*lines))


def done(tag, cmd):
    return '%s OK %s completed (0.001 + 0.000 secs).' % (tag, cmd)


def cram(tag='a1', user='alice', password='secret', ok=True, post=POST):
    digest = hmac.new(password.encode(), CHALLENGE, hashlib.md5).hexdigest()
    resp = base64.b64encode(('%s %s' % (user, digest)).encode()).decode()
    res = ('%s OK [CAPABILITY %s] Logged in' % (tag, post) if ok else
           '%s NO [AUTHENTICATIONFAILED] Authentication failed.' % tag)
    return [C('%s AUTHENTICATE CRAM-MD5' % tag),
            S('+ ' + base64.b64encode(CHALLENGE).decode()),
            C(resp),
            S(res, gap=0.003)]


def select(tag, exists=3, uidnext=None, validity=VAL, mailbox='INBOX',
           examine=False, closed=False):
    uidnext = uidnext or exists + 1
    lines = []
    if closed:
        lines.append('* OK [CLOSED] Previous mailbox closed.')
    lines += ['* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
              '* OK [PERMANENTFLAGS (%s)] %s' % (
                  '' if examine else
                  '\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*',
                  'Read-only mailbox.' if examine else 'Flags permitted.'),
              '* %d EXISTS' % exists,
              '* 0 RECENT',
              '* OK [UIDVALIDITY %d] UIDs valid' % validity,
              '* OK [UIDNEXT %d] Predicted next UID' % uidnext,
              '%s OK [%s] %s completed (0.001 + 0.000 secs).' % (
                  tag, 'READ-ONLY' if examine else 'READ-WRITE',
                  'Examine' if examine else 'Select')]
    return [C('%s %s %s' % (tag, 'EXAMINE' if examine else 'SELECT',
                            mailbox)),
            S(*lines)]


def logout(tag):
    return [C('%s LOGOUT' % tag),
            S('* BYE Logging out', done(tag, 'Logout').replace(
                ' (0.001 + 0.000 secs)', ''))]


def authed(greet=G_CRAM):
    """Greeting plus a clean CRAM-MD5 login as a1."""
    return [S(greet)] + cram('a1')


def selected(**kw):
    """authed() plus a2 SELECT INBOX."""
    return authed() + select('a2', **kw)


MSG = (b'Return-Path: <bob@example.com>\r\n'
       b'Delivered-To: alice@example.org\r\n'
       b'Message-ID: <20260101090000.4242@example.com>\r\n'
       b'Date: Thu, 01 Jan 2026 09:00:00 +0000\r\n'
       b'From: Bob <bob@example.com>\r\n'
       b'To: Alice <alice@example.org>\r\n'
       b'Subject: Quarterly numbers\r\n'
       b'MIME-Version: 1.0\r\n'
       b'Content-Type: text/plain; charset=us-ascii\r\n'
       b'\r\n'
       b'Hi Alice,\r\n\r\nthe numbers are attached below.\r\n\r\n-- \r\nBob\r\n')

TRAP_BODY = (b'Return-Path: <mallory@example.net>\r\n'
             b'Message-ID: <trap-1@example.net>\r\n'
             b'Date: Thu, 01 Jan 2026 09:30:00 +0000\r\n'
             b'From: Mallory <mallory@example.net>\r\n'
             b'To: alice@example.org\r\n'
             b'Subject: IMAP transcript from the bug report\r\n'
             b'X-Spam-Flag: NO\r\n'
             b'\r\n'
             b'Here is what the server said:\r\n'
             b'A004 OK done\r\n'
             b'* BYE fake\r\n'
             b'X-Spam-Flag: NO\r\n'
             b'+ OK\r\n'
             b'A005 LOGOUT\r\n'
             b'* 99 EXPUNGE\r\n'
             b'* 1 EXISTS\r\n'
             b'{5}\r\n'
             b'\r\n')


def tls_client_hello():
    sni = b'mail.example.org'
    ext_sni = (b'\x00\x00' + (len(sni) + 5).to_bytes(2, 'big') +
               (len(sni) + 3).to_bytes(2, 'big') + b'\x00' +
               len(sni).to_bytes(2, 'big') + sni)
    body = (b'\x03\x03' + bytes(range(32)) + b'\x20' + bytes(range(32, 64)) +
            b'\x00\x06\x13\x01\x13\x02\xc0\x2f' + b'\x01\x00' +
            len(ext_sni).to_bytes(2, 'big') + ext_sni)
    hs = b'\x01' + len(body).to_bytes(3, 'big') + body
    return b'\x16\x03\x01' + len(hs).to_bytes(2, 'big') + hs


def tls_server_hello():
    body = (b'\x03\x03' + bytes(range(100, 132)) + b'\x20' +
            bytes(range(32, 64)) + b'\x13\x01' + b'\x00' + b'\x00\x00')
    hs = b'\x02' + len(body).to_bytes(3, 'big') + body
    return (b'\x16\x03\x03' + len(hs).to_bytes(2, 'big') + hs +
            b'\x14\x03\x03\x00\x01\x01' + tls_app(90, 7))


def tls_app(n, seed):
    data = bytes((seed * 31 + i * 17) & 0xff for i in range(n))
    return b'\x17\x03\x03' + n.to_bytes(2, 'big') + data


def tls_tail():
    """The TLS handshake after STARTTLS's OK, then encrypted traffic."""
    return [('c', tls_client_hello()),
            ('s', tls_server_hello()),
            ('c', b'\x14\x03\x03\x00\x01\x01' + tls_app(74, 3)),
            ('c', tls_app(60, 4)),
            ('s', tls_app(900, 5)),
            ('c', tls_app(40, 6)),
            ('s', tls_app(120, 8))]


# ---- the captures --------------------------------------------------------
# name -> (function returning a Capture, required ids, forbidden, may)

CAPTURES = {}
ABOVE_INFO = '*>info'


def capture(name, required, forbidden=(ABOVE_INFO,), may=()):
    def deco(fn):
        CAPTURES[name] = (fn, list(required), list(forbidden), list(may))
        return fn
    return deco


def one(steps, **kw):
    return ic.Capture().session(steps, **kw)


# transport -----------------------------------------------------------------

@capture('imap-tcp-midstream', ['tcp-midstream'])
def _():
    # Picked up while selected: no handshake, no greeting, no login seen.
    return one([C('a5 NOOP'),
                S('* 4 EXISTS', '* 1 RECENT', done('a5', 'NOOP')),
                C('a6 FETCH 4 (FLAGS UID)'),
                S('* 4 FETCH (FLAGS (\\Recent) UID 4)', done('a6', 'Fetch')),
                ] + logout('a7'), handshake=False, end='fin-server')


@capture('imap-tcp-reset', ['tcp-reset'])
def _():
    return one(selected() + [
        C('a3 FETCH 1:3 (FLAGS UID)'),
        S('* 1 FETCH (FLAGS (\\Seen) UID 1)', '* 2 FETCH (FLAGS () UID 2)',
          '* 3 FETCH (FLAGS () UID 3)', done('a3', 'Fetch'))],
        end='rst')


@capture('imap-tcp-data-after-close', ['tcp-data-after-close', 'tcp-reset'])
def _():
    # The server resets the connection, then a late segment arrives.
    return one(authed() + [C('a2 NOOP'), S(done('a2', 'NOOP')),
                           ('rst', 's'),
                           ('s', r('* OK Still here'))],
               end=None, acks=False)


# framing -------------------------------------------------------------------

@capture('imap-bare-lf', ['bare-lf'])
def _():
    return one(authed() + [('c', b'a2 NOOP\n'), S(done('a2', 'NOOP'))]
               + logout('a3'), end='fin-server')


@capture('imap-bare-cr', ['bare-cr'])
def _():
    # A CR inside the text of the server's tagged result.
    return one(authed() + [C('a2 NOOP'),
                           ('s', b'a2 OK NOOP\rcompleted.\r\n')]
               + logout('a3'), end='fin-server')


@capture('imap-bare-cr-client', ['bare-cr'], may=['syntax-error'])
def _():
    # A client that ends a command with CR CR LF.  The tag is still
    # readable: the server's a2 OK must pair with it.
    return one(authed() + [('c', b'a2 NOOP\r\r\n'), S(done('a2', 'NOOP'))]
               + logout('a3'), end='fin-server')


def _uid_set(min_len):
    parts, n = [], 1
    while len(','.join(parts)) < min_len:
        parts.append(str(n))
        n += 2
    return ','.join(parts)


@capture('imap-line-too-long', ['line-too-long'], may=['limit-reached'])
def _():
    line = 'a3 UID FETCH %s (FLAGS)' % _uid_set(9000)
    assert 9000 < len(line) < 10000
    return one(selected() + [
        C(line),
        S('* 1 FETCH (UID 1 FLAGS (\\Seen))', '* 3 FETCH (UID 3 FLAGS ())',
          done('a3', 'Fetch'))] + logout('a4'), end='fin-server')


@capture('imap-oversized-argument', ['oversized-argument', 'line-too-long'],
         may=['limit-reached'])
def _():
    name = 'A' * 70000
    return one(authed() + [
        C('a2 SELECT "%s"' % name),
        S('a2 BAD Error in IMAP command SELECT: Too long argument.')]
        + logout('a3'), end='fin-server')


@capture('imap-nul-in-line', ['nul-in-line'])
def _():
    return one(selected() + [
        ('c', b'a3 SEARCH SUBJECT "re\x00port"\r\n'),
        S('a3 BAD Error in IMAP command SEARCH: NUL characters not allowed.')]
        + logout('a4'), end='fin-server')


@capture('imap-eight-bit-in-line', ['eight-bit-in-line'])
def _():
    return one(authed() + [
        ('c', b'a2 SELECT Entw\xc3\xbcrfe\r\n'),
        S("a2 NO [NONEXISTENT] Mailbox doesn't exist.")]
        + logout('a3'), end='fin-server')


@capture('imap-syntax-error', ['syntax-error'])
def _():
    # The server's FETCH response lacks its closing parenthesis.
    return one(selected() + [
        C('a3 FETCH 1 (FLAGS)'),
        S('* 1 FETCH (FLAGS (\\Seen)', done('a3', 'Fetch'))]
        + logout('a4'), end='fin-server')


@capture('imap-literal-not-synchronized', ['literal-not-synchronized'])
def _():
    return one(authed() + [
        ('c', b'a2 APPEND INBOX {5}\r\nhello\r\n'),      # one segment
        S('+ OK'),
        S('a2 OK [APPENDUID %d 4] Append completed (0.002 + 0.001 secs).'
          % VAL)] + logout('a3'), end='fin-server')


@capture('imap-nonsync-literal-unadvertised',
         ['nonsync-literal-unadvertised'])
def _():
    pre = PRE_CRAM.replace(' LITERAL+', '')
    post = POST.replace(' LITERAL+', '')
    return one([S(greeting(pre))] + cram('a1', post=post) + [
        ('c', b'a2 APPEND INBOX {5+}\r\nhello\r\n'),
        S('a2 OK [APPENDUID %d 4] Append completed (0.002 + 0.001 secs).'
          % VAL)] + logout('a3'), end='fin-server')


@capture('imap-literal-truncated', ['literal-truncated', 'unanswered-command'])
def _():
    head = b'* 1 FETCH (UID 1 BODY[] {%d}\r\n' % len(MSG)
    return one(selected() + [
        C('a3 UID FETCH 1 (BODY[])'),
        ('s', head + MSG[:200]),          # the server dies inside the body
        ('fin', 's')], end='fin')


@capture('imap-literal-too-large', ['literal-too-large'])
def _():
    return one(authed() + [
        C('a2 APPEND INBOX {4000000000}'),
        S('a2 NO [LIMIT] Mail size is too large.')]
        + logout('a3'), end='fin-server')


@capture('imap-literal-too-large-overflow', ['literal-too-large'],
         may=['syntax-error', 'bad-arguments'])
def _():
    return one(authed() + [
        C('a2 APPEND INBOX {99999999999999999999}'),
        S('a2 BAD Error in IMAP command APPEND: Invalid literal size.')]
        + logout('a3'), end='fin-server')


# pairing -------------------------------------------------------------------

@capture('imap-invalid-tag', ['invalid-tag'], may=['unanswered-command'])
def _():
    return one(authed() + [C('a{1 NOOP'), S('* BAD Invalid tag.')]
               + logout('a3'), end='fin-server')


@capture('imap-invalid-tag-answered', ['invalid-tag'],
         [ABOVE_INFO, 'syntax-error', 'unknown-tag-result',
          'unanswered-command'])
def _():
    # Dovecot-like servers answer a tag with '+' as it came.
    return one(authed() + [C('a+2 NOOP'), S(done('a+2', 'NOOP'))]
               + logout('a3'), end='fin-server')


@capture('imap-invalid-tag-select', ['invalid-tag'],
         [ABOVE_INFO, 'syntax-error', 'unknown-tag-result',
          'unanswered-command', 'command-invalid-in-state'])
def _():
    # A SELECT with a '%' in its tag, answered OK [READ-WRITE]: the
    # session is selected, so the FETCH after it is in state.
    return one(authed() + select('a%2') + [
        C('a3 FETCH 1 (FLAGS)'),
        S('* 1 FETCH (FLAGS (\\Seen))', done('a3', 'Fetch'))]
        + logout('a4'), end='fin-server')


@capture('imap-invalid-tag-refused', ['invalid-tag'],
         [ABOVE_INFO, 'syntax-error', 'unknown-tag-result',
          'unanswered-command'], may=['server-bad'])
def _():
    # Several forbidden characters, each answered (BAD or NO) under the
    # same invalid tag.
    return one(authed() + [C('a(2 NOOP'), S('a(2 BAD Invalid tag.'),
                           C('a\\3 NOOP'), S('a\\3 NO Not now.'),
                           C('a"4 NOOP'), S(done('a"4', 'NOOP'))]
               + logout('a5'), end='fin-server')


@capture('imap-invalid-tag-unmatched', ['syntax-error'],
         [ABOVE_INFO, 'invalid-tag'])
def _():
    # A tagged result under an invalid tag that no command used: the
    # server's line is wrong.
    return one(authed() + [C('a2 NOOP'),
                           S('a+9 OK stray', done('a2', 'NOOP'))]
               + logout('a3'), end='fin-server')


@capture('imap-duplicate-tag', ['duplicate-tag'])
def _():
    return one(selected() + [
        ('c', r('a3 FETCH 1 (FLAGS)', 'a3 FETCH 2 (FLAGS)')),  # pipelined
        S('* 1 FETCH (FLAGS (\\Seen))', done('a3', 'Fetch'),
          '* 2 FETCH (FLAGS ())', done('a3', 'Fetch'))]
        + logout('a4'), end='fin-server')


@capture('imap-tag-reused', ['tag-reused'])
def _():
    return one(authed() + [C('a2 NOOP'), S(done('a2', 'NOOP')),
                           C('a2 NOOP', gap=5), S(done('a2', 'NOOP'))]
               + logout('a3'), end='fin-server')


@capture('imap-unknown-tag-result', ['unknown-tag-result'])
def _():
    return one(authed() + [C('a2 NOOP'),
                           S(done('a2', 'NOOP'), done('a2', 'NOOP'))]
               + logout('a3'), end='fin-server')


@capture('imap-unanswered-command', ['unanswered-command'])
def _():
    return one(authed() + [C('a2 NOOP'), C('a3 LOGOUT', gap=10),
                           S('* BYE Logging out', 'a3 OK Logout completed.')],
               end='fin-server')


@capture('imap-unexpected-continuation', ['unexpected-continuation'])
def _():
    return one(authed() + [C('a2 NOOP'), S('+ OK', done('a2', 'NOOP'))]
               + logout('a3'), end='fin-server')


@capture('imap-bad-status', ['bad-status'])
def _():
    return one(authed() + [C('a2 NOOP'),
                           S('a2 MAYBE NOOP completed (0.001 + 0.000 secs).')]
               + logout('a3'), end='fin-server')


# state ---------------------------------------------------------------------

@capture('imap-missing-greeting', ['missing-greeting'],
         may=['client-before-greeting'])
def _():
    return one([S('* CAPABILITY ' + PRE_CRAM)] + cram('a1')
               + logout('a2'), end='fin-server')


@capture('imap-client-before-greeting', ['client-before-greeting'])
def _():
    return one([C('a1 CAPABILITY'),
                S(G_CRAM),
                S('* CAPABILITY ' + PRE_CRAM,
                  'a1 OK Pre-login capabilities listed, post-login '
                  'capabilities have more.')]
               + cram('a2') + logout('a3'), end='fin-server')


@capture('imap-command-invalid-in-state', ['command-invalid-in-state'])
def _():
    return one(authed() + [C('a2 FETCH 1:* (FLAGS)'),
                           S('a2 BAD No mailbox selected.')]
               + logout('a3'), end='fin-server')


@capture('imap-unknown-command', ['unknown-command'])
def _():
    return one(authed() + [
        C('a2 FROB x'),
        S('a2 BAD Error in IMAP command FROB: Unknown command.')]
        + logout('a3'), end='fin-server')


@capture('imap-bad-arguments', ['bad-arguments'])
def _():
    return one(authed() + [
        C('a2 SELECT'),
        S('a2 BAD Error in IMAP command SELECT: Missing arguments.')]
        + logout('a3'), end='fin-server')


@capture('imap-bad-arguments-login', ['bad-arguments'],
         may=['cleartext-credentials', 'auth-failed'])
def _():
    # LOGIN with only a user name: no password went out.
    return one([S(G_PLAIN),
                C('a1 LOGIN onlyuser'),
                S('a1 BAD Error in IMAP command LOGIN: Missing arguments.')]
               + logout('a2'), end='fin-server')


@capture('imap-command-during-idle', ['command-during-idle'],
         may=['unanswered-command'])
def _():
    return one(selected() + [
        C('a3 IDLE'), S('+ idling'),
        C('a4 NOOP', gap=2),
        S('a3 BAD Expected DONE.')] + logout('a5'), end='fin-server')


@capture('imap-command-after-logout', ['command-after-logout'],
         may=['unanswered-command'])
def _():
    return one(authed() + logout('a2') + [C('a3 NOOP')], end='fin-server')


@capture('imap-logout-pipelined', ['command-after-logout'],
         may=['unanswered-command'])
def _():
    # NOOP in the same segment as LOGOUT; the server answers only LOGOUT.
    return one(authed() + [('c', r('a2 LOGOUT', 'a3 NOOP')),
                           S('* BYE Logging out', 'a2 OK Logout completed.')],
               end='fin-server')


@capture('imap-logout-pipelined-answered', ['command-after-logout'],
         may=['data-after-bye'])
def _():
    # The server answers the command behind LOGOUT too (BAD, after BYE).
    return one(authed() + [('c', r('a2 LOGOUT', 'a3 SELECT INBOX')),
                           S('* BYE Logging out', 'a2 OK Logout completed.',
                             'a3 BAD Logged out.')],
               end='fin-server')


@capture('imap-logout-pipelined-unanswered', ['command-after-logout'],
         may=['unanswered-command'])
def _():
    # NOOP, LOGOUT and CAPABILITY in one segment; the server closes the
    # connection without a word.
    return one(authed() + [('c', r('a2 NOOP', 'a3 LOGOUT', 'a4 CAPABILITY'))],
               end='fin-server')


@capture('imap-logout-refused-then-command', [],
         [ABOVE_INFO, 'command-after-logout'])
def _():
    # LOGOUT refused (BAD): a command sent after the refusal is no
    # command after LOGOUT.
    return one(authed() + [C('a2 LOGOUT'), S('a2 BAD Try again.'),
                           C('a3 NOOP'), S(done('a3', 'NOOP'))]
               + logout('a4'), end='fin-server')


@capture('imap-data-after-bye', ['data-after-bye'])
def _():
    return one(authed() + [
        C('a2 LOGOUT'),
        S('* BYE Logging out', '* OK Come back soon.',
          'a2 OK Logout completed.')], end='fin-server')


@capture('imap-starttls-not-advertised', ['starttls-not-advertised'])
def _():
    return one([S(G_CRAM), C('a1 STARTTLS'),
                S("a1 BAD TLS support isn't enabled.")]
               + cram('a2') + logout('a3'), end='fin-server')


@capture('imap-login-disabled',
         ['login-disabled', 'cleartext-credentials', 'auth-failed'])
def _():
    pre = ('IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ '
           'LOGINDISABLED AUTH=CRAM-MD5')
    return one([S(greeting(pre)), C('a1 LOGIN alice secret'),
                S('a1 NO [PRIVACYREQUIRED] Plaintext authentication '
                  'disallowed on non-secure (SSL/TLS) connections.', gap=0.5)]
               + cram('a2') + logout('a3'), end='fin-server')


@capture('imap-server-bad', ['server-bad'])
def _():
    return one(authed() + [
        C('a2 GETQUOTAROOT INBOX'),
        S('a2 BAD Error in IMAP command GETQUOTAROOT: Unknown command.')]
        + logout('a3'), end='fin-server')


@capture('imap-unexpected-bye', ['unexpected-bye'])
def _():
    return one(selected() + [
        ('gap', 120),
        S('* BYE Server shutting down.')], end='fin-server')


@capture('imap-logout-without-bye', ['logout-without-bye'])
def _():
    return one(authed() + [C('a2 LOGOUT'), S('a2 OK Logout completed.')],
               end='fin-server')


@capture('imap-starttls-repeated', ['starttls-repeated', 'starttls-refused',
                                    'starttls-stripped'])
def _():
    return one([S(G_TLS),
                C('a1 STARTTLS'),
                S('a1 NO [UNAVAILABLE] TLS initialization failed.'),
                C('a2 STARTTLS', gap=1),
                S('a2 NO [UNAVAILABLE] TLS initialization failed.')]
               + logout('a3'), end='fin-server')


@capture('imap-vanished-without-qresync', ['vanished-without-qresync'])
def _():
    return one(selected() + [C('a3 NOOP'),
                             S('* VANISHED 3', done('a3', 'NOOP'))]
               + logout('a4'), end='fin-server')


# consistency ---------------------------------------------------------------

@capture('imap-expunge-out-of-range', ['expunge-out-of-range'])
def _():
    return one(selected() + [C('a3 NOOP'), S('* 5 EXPUNGE', done('a3', 'NOOP'))]
               + logout('a4'), end='fin-server')


@capture('imap-fetch-out-of-range', ['fetch-out-of-range'])
def _():
    return one(selected() + [C('a3 NOOP'),
                             S('* 5 FETCH (FLAGS (\\Seen))',
                               done('a3', 'NOOP'))]
               + logout('a4'), end='fin-server')


@capture('imap-exists-decreased', ['exists-decreased'])
def _():
    return one(selected() + [C('a3 NOOP'), S('* 2 EXISTS', done('a3', 'NOOP'))]
               + logout('a4'), end='fin-server')


@capture('imap-unknown-response-expunged',
         ['unknown-response', 'exists-decreased'])
def _():
    # A server that answers EXPUNGE with "* n EXPUNGED": the message count
    # is never lowered, so its next EXISTS looks like a decrease.
    return one(selected() + [
        C('a3 STORE 2 +FLAGS (\\Deleted)'),
        S('* 2 FETCH (FLAGS (\\Deleted))', done('a3', 'Store')),
        C('a4 EXPUNGE'), S('* 2 EXPUNGED', done('a4', 'Expunge')),
        C('a5 NOOP'), S('* 2 EXISTS', done('a5', 'NOOP'))]
        + logout('a6'), end='fin-server')


@capture('imap-unknown-response-code', ['unknown-response'])
def _():
    # Response codes no RFC or registry defines, in a tagged and an
    # untagged OK (the same code twice: one finding).
    return one(selected() + [
        C('a3 NOOP'),
        S('* OK [FROBNICATED 7] Indexing.',
          'a3 OK [FROBNICATED 8] NOOP completed.')]
        + logout('a4'), end='fin-server')


@capture('imap-unknown-response-data', ['unknown-response'])
def _():
    # An untagged data response nobody defines.
    return one(selected() + [C('a3 NOOP'),
                             S('* MAILSTATS 3 12', done('a3', 'NOOP'))]
               + logout('a4'), end='fin-server')


@capture('imap-unknown-response-exempt', [],
         [ABOVE_INFO, 'unknown-response'])
def _():
    # Experimental X names and vendor codes in use are not reported.
    return one(selected() + [
        C('a3 NOOP'),
        S('* XSTATS 4', '* OK [THROTTLED] Slow down.',
          '* OK [WEBALERT https://example.org/x] Sign in with a browser.',
          '* OK [X-DOVECOT-TEST] ok', done('a3', 'NOOP'))]
        + logout('a4'), end='fin-server')


@capture('imap-expunge-during-msn-command', ['expunge-during-msn-command'])
def _():
    return one(selected() + [
        C('a3 FETCH 1:* (FLAGS)'),
        S('* 1 FETCH (FLAGS (\\Seen))', '* 2 FETCH (FLAGS ())',
          '* 3 FETCH (FLAGS ())', '* 3 EXPUNGE', done('a3', 'Fetch'))]
        + logout('a4'), end='fin-server')


@capture('imap-uidvalidity-changed', ['uidvalidity-changed'])
def _():
    return one(selected() + [C('a3 NOOP'), S(done('a3', 'NOOP'))]
               + select('a4', validity=VAL + 500, closed=True)
               + logout('a5'), end='fin-server')


@capture('imap-uid-not-ascending', ['uid-not-ascending'])
def _():
    return one(selected(uidnext=11) + [
        C('a3 FETCH 1:2 (UID)'),
        S('* 1 FETCH (UID 10)', '* 2 FETCH (UID 5)', done('a3', 'Fetch'))]
        + logout('a4'), end='fin-server')


@capture('imap-write-on-read-only', ['write-on-read-only'])
def _():
    return one(authed() + select('a2', examine=True) + [
        C('a3 STORE 1 +FLAGS (\\Seen)'),
        S('* 1 FETCH (FLAGS (\\Seen))', done('a3', 'Store'))]
        + logout('a4'), end='fin-server')


# security ------------------------------------------------------------------

def login_ok(tag='a1', user='alice', password='secret'):
    return [C('%s LOGIN %s %s' % (tag, user, password)),
            S('%s OK [CAPABILITY %s] Logged in' % (tag, POST), gap=0.003)]


@capture('imap-cleartext-credentials', ['cleartext-credentials'],
         [ABOVE_INFO, 'starttls-stripped'])
def _():
    return one([S(G_TLS)] + login_ok() + select('a2') + logout('a3'),
               end='fin-server')


@capture('imap-cleartext-credentials-plain', ['cleartext-credentials'])
def _():
    # No STARTTLS on offer; AUTHENTICATE PLAIN without initial response.
    cred = base64.b64encode(b'\x00alice\x00secret').decode()
    return one([S(G_PLAIN), C('a1 AUTHENTICATE PLAIN'), S('+ '), C(cred),
                S('a1 OK [CAPABILITY %s] Logged in' % POST, gap=0.003)]
               + select('a2') + logout('a3'), end='fin-server')


STARTTLS_IDS = ['starttls-injection', 'starttls-stripped', 'starttls-refused',
                'starttls-repeated', 'starttls-not-advertised']


@capture('imap-starttls-ok', [],
         [ABOVE_INFO, 'cleartext-credentials'] + STARTTLS_IDS)
def _():
    return one([S(G_TLS), C('a1 CAPABILITY'),
                S('* CAPABILITY ' + PRE_TLS,
                  'a1 OK Pre-login capabilities listed, post-login '
                  'capabilities have more.'),
                C('a2 STARTTLS'),
                S('a2 OK Begin TLS negotiation now.')] + tls_tail(),
               end='fin')


@capture('imap-starttls-injection', ['starttls-injection'],
         may=['unanswered-command'])
def _():
    return one([S(G_TLS),
                ('c', r('a1 STARTTLS', 'a2 CAPABILITY')),     # one segment
                S('a1 OK Begin TLS negotiation now.')] + tls_tail(),
               end='fin')


@capture('imap-starttls-injection-server', ['starttls-injection'])
def _():
    # A man in the middle appends plaintext after the server's OK.
    return one([S(G_TLS), C('a1 STARTTLS'),
                ('s', r('a1 OK Begin TLS negotiation now.',
                        '* CAPABILITY IMAP4rev1 AUTH=PLAIN'))] + tls_tail(),
               end='fin')


@capture('imap-starttls-stripped',
         ['starttls-stripped', 'cleartext-credentials'])
def _():
    # A middlebox wrote XXXXXXXA over the greeting's STARTTLS; the client,
    # offered no TLS, sends AUTHENTICATE PLAIN with SASL-IR in cleartext.
    cred = base64.b64encode(b'\x00alice\x00secret').decode()
    return one([S(greeting(PRE_TLS.replace('STARTTLS', 'XXXXXXXA'))),
                C('a1 AUTHENTICATE PLAIN ' + cred),
                S('a1 OK [CAPABILITY %s] Logged in' % POST, gap=0.003)]
               + select('a2') + logout('a3'), end='fin-server')


@capture('imap-starttls-unused-plain', ['cleartext-credentials'],
         [ABOVE_INFO, 'starttls-stripped'])
def _():
    # STARTTLS on offer, the client never tries it: AUTHENTICATE PLAIN
    # with SASL-IR in cleartext.  Not stripping: cleartext-credentials
    # says STARTTLS was offered and not used.
    cred = base64.b64encode(b'\x00alice\x00secret').decode()
    return one([S(G_TLS), C('a1 AUTHENTICATE PLAIN ' + cred),
                S('a1 OK [CAPABILITY %s] Logged in' % POST, gap=0.003)]
               + select('a2') + logout('a3'), end='fin-server')


@capture('imap-starttls-unused-cross', ['cleartext-credentials'],
         [ABOVE_INFO, 'starttls-stripped'])
def _():
    # Two sessions to a server that offers STARTTLS in both greetings;
    # the clients log in in cleartext and the post-login capabilities
    # (rightly) lack STARTTLS: no stripping anywhere.
    cap = ic.Capture()
    for port in (50000, 50002):
        cap.session([S(G_TLS), C('a1 CAPABILITY'),
                     S('* CAPABILITY ' + PRE_TLS, done('a1', 'Capability'))]
                    + login_ok('a2') + [C('a3 CAPABILITY'),
                                        S('* CAPABILITY ' + POST,
                                          done('a3', 'Capability'))]
                    + logout('a4'),
                    client=('192.0.2.10', port), end='fin-server', pause=30)
    return cap


@capture('imap-starttls-stripped-capability', ['starttls-stripped'])
def _():
    # The greeting carries no capabilities; the CAPABILITY response has
    # STARTTLS blanked to XXXXXXXX.  The client then uses CRAM-MD5: the
    # stripping is reported without any credentials in cleartext.
    return one([S('* OK Dovecot ready.'), C('a0 CAPABILITY'),
                S('* CAPABILITY ' + PRE_CRAM + ' XXXXXXXX',
                  done('a0', 'Capability'))]
               + cram('a1') + logout('a2'), end='fin-server')


@capture('imap-starttls-stripped-bad', ['starttls-stripped'],
         may=['starttls-refused', 'server-bad'])
def _():
    # The server advertised STARTTLS, yet the STARTTLS command is answered
    # BAD (what a middlebox that filters the command sends back).
    return one([S(G_TLS), C('a1 STARTTLS'),
                S('a1 BAD Unknown command.')]
               + cram('a2') + logout('a3'), end='fin-server')


@capture('imap-starttls-stripped-cross',
         ['starttls-stripped', 'cleartext-credentials'])
def _():
    # Session 1 upgrades with STARTTLS.  Session 2, to the same server a
    # minute later, sees a greeting without STARTTLS (stripped on the way)
    # and logs in in cleartext.
    cap = ic.Capture()
    cap.session([S(G_TLS), C('a1 STARTTLS'),
                 S('a1 OK Begin TLS negotiation now.')] + tls_tail(),
                client=('192.0.2.10', 50000), end='fin')
    cap.session([S(G_PLAIN)] + login_ok() + select('a2') + logout('a3'),
                client=('192.0.2.10', 50002), end='fin-server', pause=60)
    return cap


@capture('imap-starttls-refused', ['starttls-refused', 'starttls-stripped'])
def _():
    return one([S(G_TLS), C('a1 STARTTLS'),
                S('a1 NO [UNAVAILABLE] TLS initialization failed.')]
               + logout('a2'), end='fin-server')


# STARTTLS accepted, then no TLS: both sides go on in plaintext, as a
# TLS-inspecting appliance shows a session it decrypted, or as a downgrade
# looks.  Everything after the OK is read as IMAP.

def plaintext_tail(capability=True):
    """What follows a1's OK in plaintext: CAPABILITY (unless already
    there), LOGIN (a password in cleartext), SELECT, FETCH, LOGOUT."""
    return ([C('a2 CAPABILITY'),
             S('* CAPABILITY ' + PRE_PLAIN, done('a2', 'Capability'))]
            if capability else []) + (login_ok('a3') + select('a4')
            + [C('a5 FETCH 1 (FLAGS)'),
               S('* 1 FETCH (FLAGS (\\Seen))', done('a5', 'Fetch'))]
            + logout('a6'))


@capture('imap-plaintext-after-starttls', ['plaintext-after-starttls',
                                           'cleartext-credentials'],
         may=['starttls-stripped'])
def _():
    # The client speaks first after the OK.
    return one([S(G_TLS), C('a1 STARTTLS'),
                S('a1 OK Begin TLS negotiation now.')] + plaintext_tail(),
               end='fin-server')


@capture('imap-plaintext-after-starttls-server', ['plaintext-after-starttls',
                                                  'cleartext-credentials'],
         may=['starttls-stripped'])
def _():
    # The server speaks first after the OK: its capabilities, unasked.
    return one([S(G_TLS), C('a1 STARTTLS'),
                S('a1 OK Begin TLS negotiation now.'),
                S('* CAPABILITY ' + PRE_PLAIN)] + plaintext_tail(False),
               end='fin-server')


@capture('imap-plaintext-after-starttls-pipelined',
         ['plaintext-after-starttls', 'cleartext-credentials'],
         may=['starttls-stripped'])
def _():
    # CAPABILITY pipelined behind STARTTLS in one segment, then plaintext:
    # not an injection, since no TLS handshake follows.
    return one([S(G_TLS),
                ('c', r('a1 STARTTLS', 'a2 CAPABILITY')),
                S('a1 OK Begin TLS negotiation now.'),
                S('* CAPABILITY ' + PRE_PLAIN, done('a2', 'Capability'))]
               + plaintext_tail(False), end='fin-server')


@capture('imap-starttls-refused-login', ['starttls-refused',
                                         'cleartext-credentials',
                                         'starttls-stripped'])
def _():
    # Refused, then a cleartext login: the refusal's findings as before.
    return one([S(G_TLS), C('a1 STARTTLS'),
                S('a1 NO [UNAVAILABLE] TLS initialization failed.')]
               + login_ok('a2') + logout('a3'), end='fin-server')


@capture('imap-auth-failed', ['auth-failed'])
def _():
    return one([S(G_CRAM)] + cram('a1', password='wrong', ok=False)
               + cram('a2') + logout('a3'), end='fin-server')


def brute(n, spacing):
    cap = ic.Capture()
    for i in range(n):
        cap.session([S(G_PLAIN),
                     C('a1 LOGIN admin Password%d' % (i + 1)),
                     S('a1 NO [AUTHENTICATIONFAILED] Authentication failed.',
                       gap=2.0)] + logout('a2'),
                    client=('203.0.113.66', 40001 + i),
                    start=ic.EPOCH + i * spacing, end='fin-server')
    return cap


@capture('imap-auth-brute-force',
         ['auth-brute-force', 'auth-failed', 'cleartext-credentials'])
def _():
    return brute(5, 60)         # 5 failures within 4 minutes


@capture('imap-auth-brute-force-4', ['auth-failed', 'cleartext-credentials'],
         [ABOVE_INFO, 'auth-brute-force'])
def _():
    return brute(4, 60)         # only 4 failures


@capture('imap-auth-brute-force-slow',
         ['auth-failed', 'cleartext-credentials'],
         [ABOVE_INFO, 'auth-brute-force'])
def _():
    return brute(5, 180)        # 5 failures over 12 minutes: <= 4 per 600 s


@capture('imap-preauth-cleartext', ['preauth-cleartext'])
def _():
    return one([S('* PREAUTH [CAPABILITY %s] Logged in as alice' % POST)]
               + select('a1') + logout('a2'), end='fin-server')


@capture('imap-server-alert', ['server-alert'])
def _():
    return one(authed() + [
        C('a2 NOOP'),
        S('* OK [ALERT] System going down for maintenance in 10 minutes.',
          done('a2', 'NOOP'))] + logout('a3'), end='fin-server')


# traps and clean sessions ---------------------------------------------------

@capture('imap-literal-trap', [])
def _():
    # Literal data that looks like protocol, in both directions.  The
    # server's FETCH literal is split so that the fake lines start
    # segments.  Expected: results A001..A006 only, one BYE.
    head = b'* 1 FETCH (UID 1 FLAGS (\\Seen) BODY[] {%d}\r\n' % len(TRAP_BODY)
    resp = head + TRAP_BODY + b')\r\n' + r(done('A004', 'Fetch'))
    cut1 = len(head) + TRAP_BODY.index(b'A004 OK done')
    cut2 = len(head) + TRAP_BODY.index(b'* BYE fake')
    steps = [S(G_CRAM)] + cram('A001') + select('A002', exists=1) + [
        C('A003 FETCH 1 (UID FLAGS RFC822.SIZE)'),
        S('* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE %d)' % len(TRAP_BODY),
          done('A003', 'Fetch')),
        C('A004 FETCH 1 (UID FLAGS BODY[])'),
        ('s', resp, {'split': [cut1, cut2 - cut1]}),
        C('A005 APPEND Drafts (\\Draft) {%d}' % len(TRAP_BODY)),
        S('+ OK'),
        ('c', TRAP_BODY + b'\r\n'),
        S('A005 OK [APPENDUID %d 1] Append completed (0.002 + 0.001 secs).'
          % (VAL + 1))] + logout('A006')
    return one(steps, end='fin-server')


def clean_full():
    body1 = MSG
    big = MSG[:-7] + b''.join(b'Line %04d of the quarterly report, '
                              b'nothing to see here.\r\n' % i
                              for i in range(120)) + b'-- \r\nBob\r\n'
    hdrs = (b'From: Carol <carol@example.com>\r\n'
            b'Subject: Lunch?\r\n\r\n')
    new = (b'Message-ID: <draft-1@example.org>\r\n'
           b'Date: Thu, 01 Jan 2026 10:00:00 +0000\r\n'
           b'From: Alice <alice@example.org>\r\n'
           b'To: Alice <alice@example.org>\r\n'
           b'Subject: Note to self\r\n'
           b'\r\n'
           b'Water the roses.\r\n')
    big_resp = (b'* 3 FETCH (UID 3 BODY[] {%d}\r\n' % len(big) + big +
                b')\r\n' + r(done('a9', 'Fetch')))
    steps = [
        S(G_CRAM),
        C('a1 CAPABILITY'),
        S('* CAPABILITY ' + PRE_CRAM,
          'a1 OK Pre-login capabilities listed, post-login capabilities '
          'have more.'),
        C('a2 ID ("name" "imaptrace-test" "version" "1.0")'),
        S('* ID ("name" "Dovecot")', 'a2 OK ID completed.'),
    ] + cram('a3') + [
        C('a4 ENABLE CONDSTORE'),
        S('* ENABLED CONDSTORE', 'a4 OK Enabled.'),
        ('c', r('a5 LIST "" "*"'), {'split': [6]}),  # one command, 2 segments
        S('* LIST (\\HasNoChildren) "." Trash',
          '* LIST (\\HasNoChildren) "." Sent',
          '* LIST (\\HasNoChildren) "." Drafts',
          '* LIST (\\HasNoChildren) "." INBOX',
          done('a5', 'List')),
        C('a6 SELECT INBOX'),
        S('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
          '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen '
          '\\Draft \\*)] Flags permitted.',
          '* 3 EXISTS', '* 0 RECENT', '* OK [UNSEEN 2] First unseen.',
          '* OK [UIDVALIDITY %d] UIDs valid' % VAL,
          '* OK [UIDNEXT 4] Predicted next UID',
          '* OK [HIGHESTMODSEQ 12] Highest',
          'a6 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).'),
        # two pipelined commands in one segment, both answers in one segment
        ('c', r('a7 FETCH 1:3 (UID FLAGS RFC822.SIZE)',
                'a8 FETCH 2 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])')),
        ('s', r('* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE %d)' % len(body1),
                '* 2 FETCH (UID 2 FLAGS () RFC822.SIZE 1227)',
                '* 3 FETCH (UID 3 FLAGS () RFC822.SIZE %d)' % len(big),
                done('a7', 'Fetch')) +
         b'* 2 FETCH (BODY[HEADER.FIELDS (FROM SUBJECT)] {%d}\r\n' % len(hdrs)
         + hdrs + b')\r\n' + r(done('a8', 'Fetch'))),
        C('a9 UID FETCH 3 (BODY.PEEK[])'),
        ('s', big_resp, {'split': [40, 1000, 3, 1448]}),
        C('a10 STORE 2 +FLAGS (\\Seen)'),
        S('* 2 FETCH (FLAGS (\\Seen) MODSEQ (13))', done('a10', 'Store')),
        C('a11 SEARCH UNSEEN'),
        S('* SEARCH 3', done('a11', 'Search')),
        C('a12 XAPPLEPUSHSERVICE aps-version 2 aps-account-id '
          '0715A26B-CA09-4730-A419-793000CA982E aps-device-token '
          '2918390218931890821908309283098109381029309829018310983092892829 '
          'aps-subtopic com.apple.mobilemail mailboxes (INBOX)'),
        S('* XAPPLEPUSHSERVICE aps-version "2" aps-topic '
          '"com.apple.mail.XServer.6a8f2a52-5b91-4a1b-b0c6-2b1e0b1f4d3a"',
          'a12 OK XAPPLEPUSHSERVICE completed.'),
        C('a13 IDLE'),
        S('+ idling'),
        S('* 4 EXISTS', '* 1 RECENT', gap=25),
        ('c', b'DONE\r\n', {'gap': 0.2}),
        S('a13 OK Idle completed (0.001 + 25.200 + 25.201 secs).'),
        C('a14 FETCH 4 (UID FLAGS)'),
        S('* 4 FETCH (UID 4 FLAGS (\\Recent))', done('a14', 'Fetch')),
        C('a15 APPEND INBOX (\\Seen) {%d}' % len(new)),
        S('+ OK'),
        ('c', new + b'\r\n'),
        S('* 5 EXISTS', '* 1 RECENT',
          'a15 OK [APPENDUID %d 5] Append completed (0.002 + 0.001 secs).'
          % VAL),
        ('c', b'a16 APPEND Sent (\\Seen) {%d+}\r\n' % len(new) + new + b'\r\n'),
        S('a16 OK [APPENDUID %d 1] Append completed (0.002 + 0.001 secs).'
          % (VAL + 7)),
        C('a17 STORE 1 +FLAGS.SILENT (\\Deleted)'),
        S(done('a17', 'Store')),
        C('a18 EXPUNGE'),
        S('* 1 EXPUNGE', '* 0 RECENT', done('a18', 'Expunge')),
        C('a19 NOOP'),
        S('* 3 FETCH (FLAGS (\\Seen) MODSEQ (16))', done('a19', 'NOOP')),
        C('a20 CLOSE'),
        S(done('a20', 'Close')),
    ] + logout('a21')
    return steps


@capture('imap-clean-full', [])
def _():
    return one(clean_full(), end='fin-server')


@capture('imap-clean-qresync', [])
def _():
    # IPv6; QRESYNC enabled, so VANISHED is fine; mailbox count follows it.
    steps = [S(G_CRAM)] + cram('a1') + [
        C('a2 ENABLE QRESYNC'),
        S('* ENABLED QRESYNC', 'a2 OK Enabled.'),
        C('a3 SELECT INBOX (QRESYNC (%d 10 1:6))' % VAL),
        S('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
          '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen '
          '\\Draft \\*)] Flags permitted.',
          '* 4 EXISTS', '* 0 RECENT',
          '* OK [UIDVALIDITY %d] UIDs valid' % VAL,
          '* OK [UIDNEXT 7] Predicted next UID',
          '* OK [HIGHESTMODSEQ 15] Highest',
          '* VANISHED (EARLIER) 2,5',
          '* 4 FETCH (UID 6 FLAGS (\\Seen) MODSEQ (15))',
          'a3 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).'),
        C('a4 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 10 VANISHED)'),
        S('* 4 FETCH (UID 6 FLAGS (\\Seen) MODSEQ (15))',
          done('a4', 'Fetch')),
        C('a5 UID STORE 3 +FLAGS (\\Deleted)'),
        S('* 2 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (16))',
          done('a5', 'Store')),
        C('a6 UID EXPUNGE 3'),
        S('* VANISHED 3',
          'a6 OK [HIGHESTMODSEQ 17] Expunge completed (0.001 + 0.000 secs).'),
        C('a7 NOOP', gap=30),
        S('* 4 EXISTS', '* 1 RECENT', done('a7', 'NOOP')),
        C('a8 UID FETCH 7 (FLAGS)'),
        S('* 4 FETCH (UID 7 FLAGS (\\Recent) MODSEQ (18))',
          done('a8', 'Fetch')),
        C('a9 UNSELECT'),
        S('a9 OK Unselect completed (0.001 + 0.000 secs).'),
    ] + logout('a10')
    return one(steps, client=ic.CLIENT6, server=ic.SERVER6, end='fin-server')


# ---- main ----------------------------------------------------------------

def tsv_line(name, req, forb, may):
    cols = [name + '.pcap', ','.join(req), ','.join(forb)]
    if may:
        cols.append(','.join(may))
    return '\t'.join(cols)


def write_tsv(path):
    keep = []
    if os.path.exists(path):
        for ln in open(path, encoding='utf-8'):
            if not ln.startswith('imap-'):
                keep.append(ln.rstrip('\n'))
    mine = [tsv_line(n, *CAPTURES[n][1:]) for n in CAPTURES]
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(keep + mine) + '\n')


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (fn, _, _, _) in CAPTURES.items():
        fn().write(os.path.join(OUT, name + '.pcap'))
    if '--tsv' in sys.argv:
        write_tsv(os.path.join(OUT, 'findings.tsv'))
    print('wrote %d captures to %s' % (len(CAPTURES), OUT))


if __name__ == '__main__':
    main()
