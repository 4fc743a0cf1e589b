#!/bin/sh
# Makes tests/captures/compressed/: a real session (a Dovecot sample) and
# tests/captures/eth.pcap compressed with gzip, zstd and lz4 (frame
# format), whole, cut in the middle of a packet, and with garbage written
# over a compressed block.  Run from the top of the tree; needs gzip,
# zstd, lz4 and editcap.
set -e
S=samples/dovecot-imaplib-session.pcap
D=tests/captures/compressed
mkdir -p "$D"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
editcap -F pcapng "$S" "$tmp/session.pcapng"
gzip -9 -n -c tests/captures/eth.pcap >"$D/eth.pcap.gz"
zstd -q -19 -c tests/captures/eth.pcap >"$D/eth.pcap.zst"
lz4 -q -9 -c tests/captures/eth.pcap >"$D/eth.pcap.lz4"
gzip -n -c "$S" >"$D/session.pcap.gz"
# zstd and lz4 in frames of 1 KiB each, one after another (as a
# streaming writer makes them), so that a cut or a bad frame leaves the
# frames before it readable.
split -b 1024 "$tmp/session.pcapng" "$tmp/ng."
split -b 1024 "$S" "$tmp/p."
for f in "$tmp"/ng.*; do zstd -q -c "$f"; done >"$D/session.pcapng.zst"
for f in "$tmp"/p.*; do lz4 -q -c "$f"; done >"$D/session.pcap.lz4"
# Cut: the first half of the compressed bytes, which ends inside a packet.
for f in session.pcap.gz session.pcapng.zst session.pcap.lz4; do
	n=$(wc -c <"$D/$f")
	head -c $((n / 2)) "$D/$f" >"$D/cut-$f"
done
# Garbage: 64 bytes of 0x5a over the middle of the compressed data.
for f in session.pcap.gz session.pcapng.zst session.pcap.lz4; do
	n=$(wc -c <"$D/$f")
	cp "$D/$f" "$D/bad-$f"
	head -c 64 /dev/zero | tr '\0' 'Z' |
		dd of="$D/bad-$f" bs=1 seek=$((n / 2)) conv=notrunc status=none
done
