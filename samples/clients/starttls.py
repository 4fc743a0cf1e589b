#!/usr/bin/python3
"""STARTTLS upgrade, then LOGIN/LIST/LOGOUT inside TLS."""
import imaplib

from common import HOST, PORT, ALICE, insecure_ctx, ok, tls_shutdown

M = imaplib.IMAP4(HOST, PORT)
ok(M.starttls(ssl_context=insecure_ctx()), "starttls")
ok(M.login(*ALICE), "login")
ok(M.list(), "list")

M.shutdown = tls_shutdown(M)
M.logout()
