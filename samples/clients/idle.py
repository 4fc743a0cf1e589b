#!/usr/bin/python3
"""IDLE with an untagged EXISTS delivered while idling.

Connection A: LOGIN, SELECT INBOX, IDLE -> waits for "+ idling".
Connection B (only after A saw the continuation): LOGIN, APPEND, LOGOUT.
Connection A: waits for "* 5 EXISTS", sends DONE, gets tagged OK, LOGOUT.
No sleeps: every step is gated on a server response.
"""
from common import HOST, PORT, ALICE
from messages import APPENDED
from rawimap import RawIMAP, logout

a = RawIMAP(HOST, PORT)
a.greeting()
a.cmd("a1", "LOGIN %s %s" % ALICE)
a.cmd("a2", "SELECT INBOX")
a.send("a3 IDLE\r\n")
a.read_until(lambda r: r.startswith(b"+"))

b = RawIMAP(HOST, PORT)
b.greeting()
b.cmd("b1", "LOGIN %s %s" % ALICE)
b.send("b2 APPEND INBOX (\\Seen) \"14-Mar-2024 09:26:53 +0000\" {%d}\r\n" % len(APPENDED))
b.read_until(lambda r: r.startswith(b"+"))
b.send(APPENDED + b"\r\n")
b.read_tagged("b2")
logout(b, "b3")

a.read_until(lambda r: r.startswith(b"* ") and r.rstrip().endswith(b" EXISTS"))
a.send("DONE\r\n")
a.read_tagged("a3")
a.cmd("a4", "FETCH 5 (FLAGS ENVELOPE)")
logout(a, "a5")
