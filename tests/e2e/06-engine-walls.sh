#!/bin/sh
# The session engine's walls, read from its object files: every symbol a
# file of the engine exports carries the sess_ prefix, and the calls
# between its files form no circle (tsort finds none).  The parsers reach
# the client and server sides only through callbacks, which nm does not
# see as calls: that is the one way back, and it is by design.
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build/out}
files="session sess_client sess_server sess_stream sess_plain sess_state sess_event sess_pending sess_caps sess_memory sess_token sess_txn sess_extract"
command -v nm >/dev/null 2>&1 || { echo "ok engine-walls skipped: no nm"; exit 0; }
for f in $files; do
	[ -f "$BUILD/$f.o" ] || { echo "FAIL engine-walls: $BUILD/$f.o missing"; exit 0; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in $files; do
	nm --defined-only -g "$BUILD/$f.o" | awk 'NF == 3 { print $3 }' >"$tmp/$f.def"
done
bad=$(for f in $files; do grep -v '^sess_' "$tmp/$f.def" | sed "s/^/$f: /"; done)
if [ -z "$bad" ]; then
	echo "ok engine-walls every exported name has the sess_ prefix"
else
	echo "FAIL engine-walls names without the sess_ prefix:"
	echo "$bad"
fi
: >"$tmp/edges"
for f in $files; do
	nm -u "$BUILD/$f.o" | awk '{ print $2 }' | grep '^sess_' | while read -r sym; do
		for g in $files; do
			[ "$g" = "$f" ] && continue
			grep -qx "$sym" "$tmp/$g.def" && echo "$f $g"
		done
	done >>"$tmp/edges"
done
sort -u "$tmp/edges" >"$tmp/graph"
if [ -s "$tmp/graph" ] && tsort "$tmp/graph" >/dev/null 2>"$tmp/loop"; then
	echo "ok engine-walls the engine's files call each other in no circle ($(wc -l <"$tmp/graph") edges)"
else
	echo "FAIL engine-walls a circle between the engine's files:"
	cat "$tmp/loop"
fi
