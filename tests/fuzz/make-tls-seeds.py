#!/usr/bin/python3
"""Write the seeds of the TLS stage's fuzz harness (tests/fuzz/fuzz_tls.c)
into tests/fuzz/seeds/fuzz_tls/, in its input layout (see fuzz_tls.h):
two option bytes, then segments of a 2-byte header (bit 15: server to
client, bits 0-14: length) and their bytes.

  rfc8448            the RFC 8448 section 3 exchange, from the record hex
                     strings of tests/test_tls.c
  <sample>           the first TCP flow of some implicit-TLS captures in
                     samples/tls/, segment by segment as tshark follows it

Run from the repository root; needs tshark."""
import os
import re
import subprocess
import sys

OUT = "tests/fuzz/seeds/fuzz_tls"
SAMPLES = ["curl-tls13-aes128gcm-imaps", "curl-tls13-chacha20-imaps",
           "curl-tls12-ecdhe-aes128gcm-imaps", "imaplib-tls12-resumed-imaps",
           "imaplib-tls12-ecdhe-aes256cbc-sha384-etm-imaps",
           "imaplib-tls10-ecdhe-aes128cbc-sha-imaps", "imaplib-tls13-resumed-imaps"]


def segment(server, data):
    out = b""
    while data:
        part, data = data[:0x7fff], data[0x7fff:]
        out += (len(part) | (0x8000 if server else 0)).to_bytes(2, "big") + part
    return out


def rfc8448():
    src = open("tests/test_tls.c").read()
    recs = {}
    for name, body in re.findall(r"static const char (r8448_\w+)\[\] =\s*((?:\"[^\"]*\"\s*)+);", src):
        recs[name] = bytes.fromhex("".join(re.findall(r"\"([^\"]*)\"", body)).replace(" ", ""))
    order = [(0, ["r8448_ch_rec"]),
             (1, ["r8448_sh_rec", "r8448_flight_rec", "r8448_nst_rec",
                  "r8448_s_app_rec", "r8448_s_alert_rec"]),
             (0, ["r8448_cfin_rec", "r8448_c_app_rec", "r8448_c_alert_rec"])]
    return b"\x00\x00" + b"".join(segment(srv, b"".join(recs[n] for n in names))
                                  for srv, names in order)


def sample(name):
    out = subprocess.run(["tshark", "-r", "samples/tls/%s.pcap" % name, "-q",
                          "-z", "follow,tcp,raw,0"], check=True,
                         capture_output=True, text=True).stdout
    seed = b"\x00\x00"
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1]
    for line in body.splitlines():
        if line.startswith("="):
            break
        if line.strip():
            seed += segment(line.startswith("\t"), bytes.fromhex(line.strip()))
    return seed


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {"rfc8448": rfc8448()}
    for name in SAMPLES:
        seeds[name] = sample(name)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print("%s: %d bytes" % (name, len(data)), file=sys.stderr)


main()
