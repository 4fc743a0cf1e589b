#!/usr/bin/python3
"""Print the plaintext IMAP transcript of a capture that uses COMPRESS=DEFLATE.

usage: decompress_pcap.py FILE.pcap [PORT]

Needs tshark.  Reassembles each TCP stream per direction (in capture order,
no retransmissions expected on loopback), passes bytes through unchanged
until the tagged "OK" to "COMPRESS DEFLATE", then inflates the rest of each
direction with a raw-DEFLATE (wbits=-15) decompressor.  Handy to check what
an analyzer should reconstruct from dovecot-compress*.pcap.
"""
import re
import subprocess
import sys
import zlib

path = sys.argv[1]
port = sys.argv[2] if len(sys.argv) > 2 else "10143"
out = subprocess.run(
    ["tshark", "-r", path, "-Y", "tcp.len > 0", "-T", "fields",
     "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
    check=True, capture_output=True, text=True).stdout

streams = {}
for line in out.splitlines():
    sid, sport, payload = line.split("\t")
    d = "S" if sport == port else "C"
    streams.setdefault(sid, []).append((d, bytes.fromhex(payload.replace(":", ""))))

for sid, segs in streams.items():
    print("=== stream", sid)
    cmd_tag = None
    active = {"C": None, "S": None}   # decompressobj once compression starts
    pending_switch = False
    for d, data in segs:
        if active[d] is not None:
            text = active[d].decompress(data)
            tag = "%s(z %d->%d)" % (d, len(data), len(text))
        else:
            text = data
            tag = d
            if d == "C":
                m = re.search(rb"^(\S+) COMPRESS DEFLATE\r\n", data, re.M | re.I)
                if m:
                    cmd_tag = m.group(1)
            elif cmd_tag and re.search(rb"^" + re.escape(cmd_tag) + rb" OK", data, re.M):
                # everything after the OK line (both directions) is deflated
                pending_switch = True
        for l in text.decode("latin-1").split("\r\n"):
            if l:
                print("%-16s %s" % (tag, l[:160]))
        if pending_switch:
            active = {"C": zlib.decompressobj(-15), "S": zlib.decompressobj(-15)}
            pending_switch = False
