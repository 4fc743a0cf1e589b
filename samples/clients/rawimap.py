"""Tiny raw-socket IMAP client used by the sample-capture scenarios.

It deliberately does NOT use imaplib so that the exact bytes on the wire
(pipelined writes, LITERAL+, IDLE/DONE, COMPRESS=DEFLATE) are under our
control.  Responses are parsed just enough to know where a response ends
(literals {N} are honoured) and when a tagged completion arrives.
"""
import re
import socket
import sys
import zlib

LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n$")


class RawIMAP:
    def __init__(self, host="127.0.0.1", port=10143,
                 timeout=20.0, verbose=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.verbose = verbose
        self.deflate = None    # compressobj once COMPRESS DEFLATE is active
        self.inflate = None    # decompressobj once COMPRESS DEFLATE is active

    # -- transport ---------------------------------------------------
    def _log(self, direction, data):
        if self.verbose:
            for line in data.split(b"\r\n"):
                if line:
                    shown = line if len(line) < 200 else line[:200] + b"..."
                    sys.stderr.write("%s %s\n" % (direction, shown.decode("latin-1")))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self._log("C:", data)
        if self.deflate is not None:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the connection")
        if self.inflate is not None:
            chunk = self.inflate.decompress(chunk)
        self.buf += chunk

    def start_compress(self):
        """Switch both directions to raw DEFLATE (RFC 4978)."""
        assert not self.buf, "unread data before COMPRESS took effect"
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflate = zlib.decompressobj(-15)

    # -- responses ---------------------------------------------------
    def read_response(self):
        """Return one complete server response (line plus any literals)."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\r\n", 1)
            line += b"\r\n"
            out += line
            m = LITERAL_RE.search(line)
            if not m:
                break
            n = int(m.group(1))
            while len(self.buf) < n:
                self._fill()
            out += self.buf[:n]
            self.buf = self.buf[n:]
        self._log("S:", out if len(out) < 400 else out[:400])
        return out

    def read_until(self, pred):
        """Read responses until pred(resp) is true; return all of them."""
        got = []
        while True:
            r = self.read_response()
            got.append(r)
            if pred(r):
                return got

    def read_tagged(self, tag):
        t = tag.encode() + b" "
        return self.read_until(lambda r: r.startswith(t))

    def read_tags(self, tags):
        """Read until every tag in tags completed (any order: Dovecot runs
        pipelined commands concurrently and may complete them out of order)."""
        pending = {t.encode() for t in tags}
        got = []
        while pending:
            r = self.read_response()
            got.append(r)
            pending.discard(r.split(b" ", 1)[0])
        return got

    def greeting(self):
        return self.read_response()

    def cmd(self, tag, text, expect=b"OK"):
        self.send("%s %s\r\n" % (tag, text))
        resp = self.read_tagged(tag)
        status = resp[-1].split(b" ", 2)[1]
        if expect is not None and status != expect:
            raise RuntimeError("%s: expected %r, got %r" % (tag, expect, resp[-1]))
        return resp

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def logout(c, tag):
    c.send("%s LOGOUT\r\n" % tag)
    c.read_tagged(tag)
    # read until the server closes so the FIN exchange is in the capture
    try:
        while True:
            c._fill()
    except (EOFError, OSError):
        pass
    c.close()


def compress_session(c, t, login):
    """After the greeting: LOGIN (login = (user, password)), COMPRESS
    DEFLATE, then inside the compressed streams SELECT, FETCH
    (flags+headers), FETCH a body, NOOP, LOGOUT; tags t1..t7."""
    c.cmd(t + "1", "LOGIN %s %s" % login)
    c.send("%s2 COMPRESS DEFLATE\r\n" % t)
    r = c.read_tagged(t + "2")
    assert r[-1].startswith(("%s2 OK" % t).encode()), r
    c.start_compress()
    c.cmd(t + "3", "SELECT INBOX")
    c.cmd(t + "4", "FETCH 1:3 (FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
    c.cmd(t + "5", "FETCH 3 (BODY.PEEK[TEXT])")
    c.cmd(t + "6", "NOOP")
    logout(c, t + "7")
