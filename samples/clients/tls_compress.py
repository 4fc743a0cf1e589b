#!/usr/bin/python3
"""COMPRESS DEFLATE (RFC 4978) inside implicit TLS, from the raw client so
that the compressed bytes are known: TLS 1.3, then LOGIN, COMPRESS
DEFLATE, and after the switch SELECT, FETCH (flags+headers), FETCH a body,
NOOP, LOGOUT.  The key log goes to IMAPTRACE_KEYLOG."""
import os
import ssl

from common import HOST, ALICE
from rawimap import RawIMAP, compress_session

IMAPS_PORT = int(os.environ.get("IMAPS_PORT", "10993"))

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.keylog_filename = os.environ["IMAPTRACE_KEYLOG"]

c = RawIMAP(HOST, IMAPS_PORT)
c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
c.greeting()
compress_session(c, "c", ALICE)
