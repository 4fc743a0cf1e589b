"""Shared settings for the scenario clients."""
import datetime
import os
import random
import ssl
import sys

# imaplib picks its tag prefix with random.randint(); seed it so that the
# regenerated captures use the same tags every time.
random.seed(int(os.environ.get("IMAPTRACE_SEED", "4242")))

HOST = os.environ.get("IMAP_HOST", "127.0.0.1")
PORT = int(os.environ.get("IMAP_PORT", "10143"))
ALICE = ("alice", "wonderland")
BOB = ("bob", "builder")
# fixed INTERNALDATE for APPENDs
APPEND_DATE = datetime.datetime(2024, 3, 14, 9, 26, 53, tzinfo=datetime.timezone.utc)


def insecure_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # NSS key log so the TLS part of the capture can be decrypted
    # (tshark -o tls.keylog_file:FILE); make-samples.sh sets IMAPTRACE_KEYLOG.
    if os.environ.get("IMAPTRACE_KEYLOG"):
        ctx.keylog_filename = os.environ["IMAPTRACE_KEYLOG"]
    return ctx


def ok(res, what):
    typ, data = res
    if typ != "OK":
        sys.exit("%s failed: %r %r" % (what, typ, data))
    return data


def tls_shutdown(m):
    """A shutdown() for an imaplib connection under TLS.  imaplib would
    close the socket right away; if Dovecot's close_notify arrives after
    that, the kernel answers with RST, and if we sent our own close_notify
    after Dovecot closed, Dovecot's kernel would.  Both are timing-
    dependent, so: wait for Dovecot's close_notify + FIN (recv() returns
    b""), then close without sending anything -> clean FIN/FIN."""
    def shutdown():
        m.file.close()
        try:
            while m.sock.recv(4096):
                pass
        except OSError:
            pass
        m.sock.close()
    return shutdown
