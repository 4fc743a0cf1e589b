#!/usr/bin/python3
"""SASL: AUTHENTICATE PLAIN (one "+" round), AUTHENTICATE LOGIN (two "+"
rounds), SASL-IR initial response and a client-cancelled exchange ("*")."""
import base64
import imaplib

from common import HOST, PORT, ALICE, BOB, ok
from rawimap import RawIMAP, logout

# 1. imaplib AUTHENTICATE PLAIN: "AUTHENTICATE PLAIN" / "+ " / base64
M = imaplib.IMAP4(HOST, PORT)
ok(M.authenticate("PLAIN", lambda _: b"\0%s\0%s" % (ALICE[0].encode(), ALICE[1].encode())),
   "authenticate plain")
ok(M.select("INBOX", readonly=True), "examine")
M.logout()

# 2. imaplib AUTHENTICATE LOGIN: "+ VXNlcm5hbWU6" / user / "+ UGFzc3dvcmQ6" / pass
M = imaplib.IMAP4(HOST, PORT)
def login_mech(challenge):
    if challenge.lower().startswith(b"user"):
        return BOB[0].encode()
    return BOB[1].encode()
ok(M.authenticate("LOGIN", login_mech), "authenticate login")
ok(M.status("INBOX", "(MESSAGES UNSEEN)"), "status")
M.logout()

# 3. raw: cancelled exchange, then SASL-IR (initial response on the command line)
c = RawIMAP(HOST, PORT)
c.greeting()
c.send("s1 AUTHENTICATE PLAIN\r\n")
r = c.read_response()
assert r.startswith(b"+"), r
c.send("*\r\n")                      # client aborts -> tagged BAD
c.read_tagged("s1")
ir = base64.b64encode(b"\0alice\0wonderland").decode()
c.cmd("s2", "AUTHENTICATE PLAIN " + ir)
c.cmd("s3", "LIST \"\" \"%\"")
logout(c, "s4")
