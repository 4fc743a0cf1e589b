#!/usr/bin/python3
"""Short imaplib session over IPv6 loopback."""
import imaplib

from common import PORT, ALICE, ok

M = imaplib.IMAP4("::1", PORT)
ok(M.login(*ALICE), "login")
ok(M.select("INBOX"), "select")
ok(M.fetch("1", "(UID FLAGS ENVELOPE)"), "fetch envelope")
M.logout()
