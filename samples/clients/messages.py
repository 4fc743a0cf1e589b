"""Deterministic message set for the sample captures (RFC 5322 content)."""
import base64
import hashlib

# 2024-03-11 .. 2024-03-13, fixed epoch seconds (used as INTERNALDATE/mtime)
T1, T2, T3, T4, T5 = 1710151200, 1710237600, 1710324000, 1710331200, 1710338400

MSG_WELCOME = b"""\
Return-Path: <bob@example.org>
Delivered-To: alice@example.org
Received: from mail.example.org (mail.example.org [192.0.2.25])
\tby imap.example.org (Postfix) with ESMTPS id 4TtX0R2Zq9z9sRk
\tfor <alice@example.org>; Mon, 11 Mar 2024 10:00:00 +0000 (UTC)
Message-ID: <welcome-0001@example.org>
Date: Mon, 11 Mar 2024 09:59:58 +0000
From: Bob Builder <bob@example.org>
To: Alice Liddell <alice@example.org>
Subject: Welcome to the team
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hi Alice,

welcome aboard! Your mailbox is set up and the shared calendar
invitation should arrive later today.

Cheers,
Bob
"""

MSG_MULTIPART = b"""\
Return-Path: <reports@example.net>
Delivered-To: alice@example.org
Message-ID: <q1-report-7731@example.net>
Date: Tue, 12 Mar 2024 10:00:00 +0100
From: "Reporting Robot" <reports@example.net>
To: alice@example.org
Cc: Bob Builder <bob@example.org>
Subject: =?UTF-8?Q?Quarterly_report_=E2=80=93_Q1?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=-outer-7731"

This is a multi-part message in MIME format.

--=-outer-7731
Content-Type: multipart/alternative; boundary="=-inner-7731"

--=-inner-7731
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello,

the Q1 figures are attached. Revenue is up 4 % =E2=80=93 details in the CSV.

--=-inner-7731
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p>Hello,</p><p>the Q1 figures are attached. Revenue is up
4&nbsp;% =E2=80=93 details in the CSV.</p></body></html>

--=-inner-7731--

--=-outer-7731
Content-Type: text/csv; charset=us-ascii; name="q1.csv"
Content-Disposition: attachment; filename="q1.csv"
Content-Transfer-Encoding: base64

""" + base64.encodebytes(
    b"month,revenue,cost\njan,1200,800\nfeb,1350,820\nmar,1420,790\n") + b"""
--=-outer-7731--
"""

# Body lines that look like IMAP protocol responses: a parser that does not
# honour the literal length will mis-detect a tagged OK / BYE here.
MSG_TRAP = b"""\
Return-Path: <carol@example.com>
Delivered-To: alice@example.org
Message-ID: <trap-4242@example.com>
Date: Wed, 13 Mar 2024 10:00:00 -0500
From: Carol <carol@example.com>
To: alice@example.org
Subject: IMAP transcript from the bug report
X-Mailer: imaptrace-samples
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Here is the transcript you asked for, pasted verbatim:

A003 FETCH 1 (BODY[])
* 1 FETCH (BODY[] {42}
A004 OK fake
* BYE fake
X-Spam-Flag: NO
)
A005 LOGOUT
+ idling
* 3 EXISTS

The last line above is not a real server response either.
-- 
Carol
"""

MSG_SENT = b"""\
Message-ID: <sent-0002@example.org>
Date: Mon, 11 Mar 2024 11:15:00 +0000
From: Alice Liddell <alice@example.org>
To: Bob Builder <bob@example.org>
Subject: Re: Welcome to the team
In-Reply-To: <welcome-0001@example.org>
References: <welcome-0001@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thanks Bob, glad to be here!

> welcome aboard!
"""

MSG_BOB = b"""\
Message-ID: <build-88@example.org>
Date: Mon, 11 Mar 2024 08:00:00 +0000
From: CI <ci@example.org>
To: bob@example.org
Subject: Build #88 passed
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

All 412 tests passed.
"""


def _pseudo_random(n, seed=b"imaptrace-large"):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        i += 1
    return bytes(out[:n])


def large_message():
    blob = base64.encodebytes(_pseudo_random(790000))
    return b"""\
Message-ID: <scan-2024-03-13@example.org>
Date: Wed, 13 Mar 2024 14:00:00 +0000
From: Scanner <scanner@example.org>
To: alice@example.org
Subject: Scanned document (large attachment)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="scan-boundary"

--scan-boundary
Content-Type: text/plain; charset=us-ascii

Scanned document attached.

--scan-boundary
Content-Type: application/octet-stream; name="scan-0001.bin"
Content-Disposition: attachment; filename="scan-0001.bin"
Content-Transfer-Encoding: base64

""" + blob + b"""
--scan-boundary--
"""


# Message appended by clients during the sessions (fixed content).
APPENDED = b"""\
Message-ID: <appended-1@example.org>
Date: Thu, 14 Mar 2024 09:26:53 +0000
From: Alice Liddell <alice@example.org>
To: Alice Liddell <alice@example.org>
Subject: Note to self
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Remember to water the roses.
""".replace(b"\n", b"\r\n")


def mailbox_for(user):
    """[(folder, [(mtime, maildir_flags, bytes)])]"""
    if user == "alice":
        return [
            ("INBOX", [(T1, "S", MSG_WELCOME),
                       (T2, "", MSG_MULTIPART),
                       (T3, "", MSG_TRAP),
                       (T4, "", large_message())]),
            ("Sent", [(T1 + 4500, "S", MSG_SENT)]),
            ("Trash", []),
        ]
    return [("INBOX", [(T1 - 7200, "", MSG_BOB)]), ("Sent", [])]
