#!/usr/bin/python3
"""Error paths: NO on bad credentials / missing mailbox, BAD on garbage."""
import imaplib

from common import HOST, PORT, ALICE, ok

M = imaplib.IMAP4(HOST, PORT)
try:
    M.login("alice", "not-the-password")
    raise SystemExit("login with a wrong password unexpectedly succeeded")
except imaplib.IMAP4.error as e:
    print("expected failure:", e)
ok(M.login(*ALICE), "login")
typ, data = M.select("NoSuchFolder")
assert typ == "NO", (typ, data)
print("expected NO:", data)
ok(M.select("INBOX"), "select")
for name, args in (("FROBNICATE", ("now",)),        # unknown command -> BAD
                   ("FETCH", ("0", "(FLAGS)")),      # invalid message set -> BAD
                   ("FETCH", ("1", "(FLAGS"))):      # unbalanced parenthesis -> BAD
    try:
        print(M.xatom(name, *args))
    except imaplib.IMAP4.error as e:
        print("expected BAD:", e)
try:
    print(M.fetch("99", "(FLAGS)"))                # beyond EXISTS -> BAD
except imaplib.IMAP4.error as e:
    print("expected BAD:", e)
ok(M.uid("FETCH", "99", "(FLAGS)"), "uid fetch of missing uid")  # empty OK
M.logout()
