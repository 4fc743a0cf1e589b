#!/usr/bin/python3
"""Pipelined commands in a single write, then LITERAL+ and synchronizing
literal APPENDs."""
from common import HOST, PORT, ALICE
from messages import APPENDED
from rawimap import RawIMAP, logout

c = RawIMAP(HOST, PORT)
c.greeting()
c.cmd("a1", "LOGIN %s %s" % ALICE)
# several commands in one TCP write; responses are read afterwards
c.send("a2 SELECT INBOX\r\na3 FETCH 1 FLAGS\r\na4 NOOP\r\n"
       "a5 FETCH 1:2 (UID RFC822.SIZE)\r\n")
c.read_tags(["a2", "a3", "a4", "a5"])   # completions may come out of order
# LITERAL+ (RFC 7888): non-synchronizing literal, no "+" continuation
c.send(b"a6 APPEND INBOX (\\Seen) {%d+}\r\n" % len(APPENDED) + APPENDED + b"\r\n")
c.read_tagged("a6")
# classic synchronizing literal for contrast: wait for "+ OK"
c.send("a7 APPEND INBOX {%d}\r\n" % len(APPENDED))
c.read_until(lambda r: r.startswith(b"+"))
c.send(APPENDED + b"\r\n")
c.read_tagged("a7")
# another pipelined pair: NOOP reports the new EXISTS, then a SEARCH
c.send("a8 NOOP\r\na9 UID SEARCH SUBJECT \"Note to self\"\r\n")
c.read_tags(["a8", "a9"])
logout(c, "a10")
