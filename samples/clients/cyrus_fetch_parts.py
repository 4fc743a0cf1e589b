#!/usr/bin/python3
"""Header and text of each message in one FETCH: two literals per response.

Mail readers fetch BODY.PEEK[HEADER] and BODY.PEEK[TEXT] together; each
untagged FETCH then carries two literals.  Message 3's text is the parser
trap (lines that look like responses), here in the second literal.
"""
import imaplib

from common import HOST, PORT, ALICE, ok

M = imaplib.IMAP4(HOST, PORT)
ok(M.login(*ALICE), "login")
ok(M.select("INBOX", readonly=True), "examine")
ok(M.fetch("1:3", "(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT])"), "fetch header+text")
M.logout()
