#!/usr/bin/python3
"""COMPRESS DEFLATE (RFC 4978) from a raw client, so the plaintext behind
the compressed stream is known: raw DEFLATE (wbits=-15), each client write
ends with a Z_SYNC_FLUSH (00 00 ff ff).  Commands after the switch:
SELECT, FETCH (flags+headers), FETCH trap body, NOOP, LOGOUT."""
from common import HOST, PORT, ALICE
from rawimap import RawIMAP, compress_session

c = RawIMAP(HOST, PORT)
c.greeting()
compress_session(c, "z", ALICE)
