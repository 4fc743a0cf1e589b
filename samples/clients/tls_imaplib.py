#!/usr/bin/python3
"""imaplib over TLS with the knobs the TLS samples need.

usage: tls_imaplib.py [--starttls] [--max 1.0|1.2|1.3] [--min VERSION]
                      [--ciphers OPENSSL-CIPHER-LIST] [--no-etm]
                      [--resume] [--no-keylog]

Implicit TLS to IMAPS_PORT by default, or STARTTLS on IMAP_PORT.  The
session: LOGIN, SELECT INBOX, FETCH 1:2 (FLAGS BODY.PEEK[HEADER.FIELDS
(SUBJECT)]), NOOP, LOGOUT.  --resume runs it twice with one SSLContext,
offering the first connection's session (TLS 1.2 ticket or TLS 1.3 PSK)
on the second, and fails unless the server really resumed it.  The NSS
key log (ssl.SSLContext.keylog_filename) goes to IMAPTRACE_KEYLOG unless
--no-keylog.  ALPN "imap" and SNI "localhost" are sent so that the
ClientHello carries both.
"""
import argparse
import imaplib
import os
import ssl
import sys

from common import HOST, PORT, ALICE, ok, tls_shutdown

IMAPS_PORT = int(os.environ.get("IMAPS_PORT", "10993"))
SNI = "localhost"
VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
            "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
# OpenSSL's SSL_OP_NO_ENCRYPT_THEN_MAC (1 << 19): CBC suites then use the
# classic MAC-then-encrypt record format.  Python has no name for it.
OP_NO_ENCRYPT_THEN_MAC = 1 << 19

ap = argparse.ArgumentParser()
ap.add_argument("--starttls", action="store_true")
ap.add_argument("--max")
ap.add_argument("--min")
ap.add_argument("--ciphers")
ap.add_argument("--no-etm", action="store_true")
ap.add_argument("--resume", action="store_true")
ap.add_argument("--no-keylog", action="store_true")
args = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["imap"])
if args.min:
    ctx.minimum_version = VERSIONS[args.min]
if args.max:
    ctx.maximum_version = VERSIONS[args.max]
if args.ciphers:
    ctx.set_ciphers(args.ciphers)
if args.no_etm:
    ctx.options |= OP_NO_ENCRYPT_THEN_MAC
if not args.no_keylog:
    ctx.keylog_filename = os.environ["IMAPTRACE_KEYLOG"]


class Session:
    """The session to resume, handed to wrap_socket()."""
    value = None


class IMAP4_TLS(imaplib.IMAP4_SSL):
    """IMAP4_SSL that connects to HOST but sends SNI 'localhost' and can
    offer a saved session."""
    def _create_socket(self, timeout):
        sock = imaplib.IMAP4._create_socket(self, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=SNI,
                                            session=Session.value)


class IMAP4_STARTTLS(imaplib.IMAP4):
    def starttls_sni(self):
        # imaplib.starttls() uses self.host (an IP: no SNI) as server name
        typ, dat = self._simple_command("STARTTLS")
        if typ != "OK":
            sys.exit("STARTTLS refused: %r" % dat)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=SNI,
                                    session=Session.value)
        self.file = self.sock.makefile("rb")
        self._tls_established = True
        self._get_capabilities()


def session(n):
    if args.starttls:
        m = IMAP4_STARTTLS(HOST, PORT)
        m.starttls_sni()
    else:
        m = IMAP4_TLS(HOST, IMAPS_PORT, ssl_context=ctx)
    print("connection %d: %s %s resumed=%s" % (n, m.sock.version(),
          m.sock.cipher()[0], m.sock.session_reused), file=sys.stderr)
    if n == 2 and args.resume and not m.sock.session_reused:
        sys.exit("the server did not resume the session")
    ok(m.login(*ALICE), "login")
    ok(m.select("INBOX"), "select")
    ok(m.fetch("1:2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "fetch")
    ok(m.noop(), "noop")
    Session.value = m.sock.session
    m.shutdown = tls_shutdown(m)
    m.logout()


session(1)
if args.resume:
    session(2)
