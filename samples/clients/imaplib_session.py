#!/usr/bin/python3
"""Typical imaplib session: the bread-and-butter commands."""
import imaplib

from common import HOST, PORT, ALICE, APPEND_DATE, ok
from messages import APPENDED

M = imaplib.IMAP4(HOST, PORT)
ok(M.login(*ALICE), "login")
ok(M.capability(), "capability")
ok(M.list(), "list")
ok(M.select("INBOX"), "select")
ok(M.search(None, "ALL"), "search")
ok(M.fetch("1:*", "(FLAGS UID RFC822.SIZE)"), "fetch sizes")
ok(M.fetch("3", "(BODY[])"), "fetch trap body")
ok(M.store("2", "+FLAGS", "(\\Seen)"), "store")
ok(M.create("Receipts"), "create")
ok(M.copy("1:2", "Receipts"), "copy")
ok(M.append("INBOX", "(\\Draft)", imaplib.Time2Internaldate(APPEND_DATE),
            APPENDED), "append")
ok(M.noop(), "noop")          # picks up "* 5 EXISTS" for the appended message
ok(M.store("5", "+FLAGS", "(\\Deleted)"), "store deleted")
ok(M.expunge(), "expunge")
ok(M.close(), "close")
M.logout()
