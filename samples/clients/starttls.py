#!/usr/bin/python3
"""STARTTLS upgrade, then LOGIN/LIST/LOGOUT inside TLS."""
import imaplib

from common import HOST, PORT, ALICE, insecure_ctx, ok

M = imaplib.IMAP4(HOST, PORT)
ok(M.starttls(ssl_context=insecure_ctx()), "starttls")
ok(M.login(*ALICE), "login")
ok(M.list(), "list")


def tls_shutdown():
    # imaplib would close the socket right away; if Dovecot's close_notify
    # arrives after that, the kernel answers with RST, and if we sent our own
    # close_notify after Dovecot closed, Dovecot's kernel would.  Both are
    # timing-dependent, so: wait for Dovecot's close_notify + FIN (recv()
    # returns b""), then close without sending anything -> clean FIN/FIN.
    M.file.close()
    try:
        while M.sock.recv(4096):
            pass
    except OSError:
        pass
    M.sock.close()


M.shutdown = tls_shutdown
M.logout()
