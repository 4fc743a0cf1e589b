#!/usr/bin/python3
"""(Re)create the test users' mailboxes on the private Cyrus instance.

usage: cyrus_seed.py ADMIN PASSWORD USER...

Cyrus keeps its mail in its own spool and databases, so the deterministic
message set of messages.py is loaded over IMAP by the admin user (this
traffic happens before tcpdump starts and is never captured): any existing
user/NAME tree is deleted (delete_mode and expunge_mode are `immediate` in
the private imapd.conf), then user/NAME and its folders are created and the
messages APPENDed with their flags and fixed INTERNALDATEs.  Cyrus picks
UIDVALIDITY itself (from the clock), so unlike the Dovecot captures the
UIDVALIDITY values differ from run to run.
"""
import datetime
import imaplib
import sys

import messages
from common import HOST, PORT

FLAGS = {"": None, "S": "(\\Seen)"}


def main():
    admin, password, users = sys.argv[1], sys.argv[2], sys.argv[3:]
    M = imaplib.IMAP4(HOST, PORT)
    typ, data = M.login(admin, password)
    assert typ == "OK", data
    for user in users:
        top = "user/%s" % user
        typ, data = M.list('""', top)
        if typ == "OK" and data and data[0]:
            # the admin needs the x (delete) right on a user's mailbox
            M.setacl(top, admin, "lrswipkxtecda")
            typ, data = M.delete(top)
            assert typ == "OK", ("delete", top, data)
        for name, msgs in messages.mailbox_for(user):
            box = top if name == "INBOX" else "%s/%s" % (top, name)
            typ, data = M.create(box)     # INBOX (user/NAME) comes first
            assert typ == "OK", ("create", box, data)
            # an admin may administer (la) but not insert: grant it for the
            # APPENDs, take it back afterwards
            M.setacl(box, admin, "lrswipkxtecda")
            for mtime, flags, body in msgs:
                body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                date = imaplib.Time2Internaldate(
                    datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc))
                typ, data = M.append(box, FLAGS[flags], date, body)
                assert typ == "OK", ("append", box, data)
            M.deleteacl(box, admin)
    M.logout()


if __name__ == "__main__":
    main()
