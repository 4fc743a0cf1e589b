#!/usr/bin/python3
"""COMPRESS DEFLATE (RFC 4978) from a raw client, so the plaintext behind
the compressed stream is known: raw DEFLATE (wbits=-15), each client write
ends with a Z_SYNC_FLUSH (00 00 ff ff).  Commands after the switch:
SELECT, FETCH (flags+headers), FETCH trap body, NOOP, LOGOUT."""
from common import HOST, PORT, ALICE
from rawimap import RawIMAP, logout

c = RawIMAP(HOST, PORT)
c.greeting()
c.cmd("z1", "LOGIN %s %s" % ALICE)
c.send("z2 COMPRESS DEFLATE\r\n")
r = c.read_tagged("z2")
assert r[-1].startswith(b"z2 OK"), r
c.start_compress()
c.cmd("z3", "SELECT INBOX")
c.cmd("z4", "FETCH 1:3 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
c.cmd("z5", "FETCH 3 (BODY.PEEK[TEXT])")
c.cmd("z6", "NOOP")
logout(c, "z7")
