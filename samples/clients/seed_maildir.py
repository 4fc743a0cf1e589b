#!/usr/bin/python3
"""Create a deterministic Maildir++ tree for one test user.

usage: seed_maildir.py MAILDIR USER

Fixed Message-IDs, dates, file names, mtimes (INTERNALDATE) and a fixed
UIDVALIDITY (via a pre-written dovecot-uidlist) so that regenerated captures
are byte-for-byte as similar as Dovecot allows.
"""
import hashlib
import os
import sys

import messages

UIDVALIDITY = 1700000000


def write_folder(path, msgs, uidvalidity):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    lines = []
    for uid, (mtime, flags, body) in enumerate(msgs, start=1):
        data = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        # store with CRLF; Dovecot handles both, CRLF keeps S= == W=
        base = "%d.M%dP1000Q%d.imaptrace-samples" % (mtime, uid, uid)
        base += ",S=%d,W=%d" % (len(data), len(data))
        fn = os.path.join(path, "cur", base + ":2," + flags)
        with open(fn, "wb") as f:
            f.write(data)
        os.utime(fn, (mtime, mtime))
        lines.append("%d :%s" % (uid, base))
    guid = hashlib.md5(("%s/%d" % (os.path.basename(path), uidvalidity)).encode()).hexdigest()
    with open(os.path.join(path, "dovecot-uidlist"), "w") as f:
        f.write("3 V%d N%d G%s\n" % (uidvalidity, len(msgs) + 1, guid))
        for l in lines:
            f.write(l + "\n")


def main():
    root, user = sys.argv[1], sys.argv[2]
    folders = messages.mailbox_for(user)
    subs = []
    for i, (name, msgs) in enumerate(folders):
        path = root if name == "INBOX" else os.path.join(root, "." + name)
        write_folder(path, msgs, UIDVALIDITY + i)
        if name != "INBOX":
            subs.append(name)
    with open(os.path.join(root, "subscriptions"), "w") as f:
        f.write("".join("%s\n" % s for s in ["INBOX"] + subs))


if __name__ == "__main__":
    main()
