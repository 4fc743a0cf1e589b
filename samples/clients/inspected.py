#!/usr/bin/python3
"""A TLS-inspecting appliance in the path of a STARTTLS session.

    client --STARTTLS, TLS--> front --plaintext leg--> back --STARTTLS, TLS--> Dovecot

The front half answers the client's TLS with the appliance's own
certificate (APPLIANCE_CERT, APPLIANCE_KEY); the back half does STARTTLS
with Dovecot (IMAP_PORT).  Between them, the leg on LEG_PORT carries the
session as the appliance sees it: the greeting, STARTTLS and its OK, then
the decrypted IMAP in plaintext.  make-samples-inspected.sh captures that
leg.  The client is Python's imaplib: STARTTLS, CAPABILITY, LOGIN, SELECT,
FETCH, LOGOUT.
"""
import imaplib
import os
import select
import socket
import ssl
import threading

from common import HOST, PORT, ALICE, insecure_ctx, ok

LEG_PORT = int(os.environ["LEG_PORT"])
FRONT_PORT = int(os.environ["FRONT_PORT"])


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, port))
    s.listen(1)
    return s


def lines(sock):
    """Reads CRLF lines from a plaintext socket, one byte at a time (only
    until STARTTLS: nothing may be read past the OK)."""
    buf = b""
    while True:
        c = sock.recv(1)
        if not c:
            return
        buf += c
        if buf.endswith(b"\r\n"):
            yield buf
            buf = b""


def until_starttls(client, server):
    """Relays line by line, command then its responses, until a STARTTLS
    is answered OK.  client and server are plaintext sockets."""
    from_server = lines(server)
    from_client = lines(client)
    client.sendall(next(from_server))            # greeting
    for cmd in from_client:
        server.sendall(cmd)
        tag = cmd.split(b" ", 1)[0]
        for resp in from_server:
            client.sendall(resp)
            if resp.startswith(tag + b" "):
                break
        if cmd.split(b" ")[1].strip().upper() == b"STARTTLS":
            return resp.split(b" ")[1] == b"OK"
    return False


def pump(a, b):
    """Copies both ways until one side ends; then half-closes the other
    (a FIN on the plaintext leg) and drains it."""
    socks = [a, b]
    while True:
        ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
        if not ready:
            ready, _, _ = select.select(socks, [], [], 30)
            if not ready:
                break
        src = ready[0]
        dst = b if src is a else a
        try:
            data = src.recv(65536)
        except ssl.SSLWantReadError:
            continue
        except OSError:
            data = b""
        if not data:
            try:
                if isinstance(dst, ssl.SSLSocket):
                    dst.close()
                else:
                    dst.shutdown(socket.SHUT_WR)
                    while dst.recv(65536):
                        pass
            except OSError:
                pass
            break
        try:
            dst.sendall(data)
        except OSError:
            pass
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def front(lst):
    client, _ = lst.accept()
    leg = socket.create_connection((HOST, LEG_PORT))
    if until_starttls(client, leg):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["APPLIANCE_CERT"], os.environ["APPLIANCE_KEY"])
        client = ctx.wrap_socket(client, server_side=True)
    pump(client, leg)


def back(lst):
    leg, _ = lst.accept()
    server = socket.create_connection((HOST, PORT))
    if until_starttls(leg, server):
        server = insecure_ctx().wrap_socket(server, server_hostname="localhost")
    pump(leg, server)


legs = listener(LEG_PORT)
fronts = listener(FRONT_PORT)
threads = [threading.Thread(target=back, args=(legs,)),
           threading.Thread(target=front, args=(fronts,))]
for t in threads:
    t.start()

M = imaplib.IMAP4(HOST, FRONT_PORT)
ok(M.starttls(ssl_context=insecure_ctx()), "starttls")
ok(M.login(*ALICE), "login")
ok(M.select("INBOX"), "select")
ok(M.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE)"), "fetch")
M.logout()
for t in threads:
    t.join()
