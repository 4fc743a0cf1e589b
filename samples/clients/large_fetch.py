#!/usr/bin/python3
"""FETCH of a message just over 1 MB (one huge literal)."""
import imaplib

from common import HOST, PORT, ALICE, ok

M = imaplib.IMAP4(HOST, PORT)
ok(M.login(*ALICE), "login")
ok(M.select("INBOX"), "select")
ok(M.fetch("4", "(RFC822.SIZE)"), "size")
data = ok(M.fetch("4", "(BODY.PEEK[])"), "fetch body")
print("literal length:", len(data[0][1]))
assert len(data[0][1]) > 1024 * 1024
M.logout()
