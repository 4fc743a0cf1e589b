#!/bin/sh
# The evidence export end to end (docs/extract.md): --extract on every
# real sample gives byte for byte the messages the sample scripts seeded
# or appended (FETCH BODY[] and BODY.PEEK[], RFC822, several literals in
# one FETCH, APPEND; through COMPRESS too), the manifest is valid and
# matches the files, the message events match the manifest; the crafted
# captures give a gap's exact missing range, a literal cut by the end of
# the capture, a literal in one-byte segments, APPEND {N+}, MULTIAPPEND
# and CATENATE; nothing is written outside DIR, nothing is overwritten by
# a second run; without --extract the output is as it was.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PY=/usr/bin/python3

. tests/helpers/checker.sh
result() {	# result NAME FILE-OF-CHECKER-OUTPUT
	checker_result "extract $1" "$2"
}

# Every real sample: known messages only, and the ones the issue names.
: >"$tmp/all"
for f in samples/*.pcap; do
	b=$(basename "$f" .pcap)
	mkdir "$tmp/p-$b"
	"$IMAPTRACE" -q --extract "$tmp/p-$b/x" "$f" >"$tmp/$b.ndjson" 2>"$tmp/$b.err" ||
		echo "FAIL extract $b: exit status $?"
	[ "$(ls -A "$tmp/p-$b")" = x ] || echo "FAIL extract $b: written outside DIR: $(ls -A "$tmp/p-$b")"
	$PY tests/e2e/extract_check.py "$tmp/p-$b/x" "$tmp/$b.ndjson" --samples >"$tmp/$b.chk"
	$PY tests/e2e/validate.py "$tmp/$b.ndjson" >>"$tmp/$b.chk" || echo "FAIL events invalid" >>"$tmp/$b.chk"
	sed "s/^/$b /" "$tmp/$b.chk" >>"$tmp/all"
	result "$b" "$tmp/$b.chk"
	# The analysis is the same, message events aside.
	"$IMAPTRACE" -q "$f" >"$tmp/$b.plain"
	grep -v '"type":"message"' "$tmp/$b.ndjson" | cmp -s - "$tmp/$b.plain" ||
		echo "FAIL extract $b: the events other than message differ from a run without --extract"
done
for want in "dovecot-imaplib-session message .*= alice/INBOX/3" \
	    "dovecot-large-fetch message .*= alice/INBOX/4" \
	    "dovecot-compress message .*= alice/INBOX/2" \
	    "cyrus-offlineimap message .*= alice/INBOX/2" \
	    "dovecot-pipelining message .*append.*= appended" \
	    "cyrus-fetch-parts header+text .*= alice/INBOX/3"; do
	if grep -q "^$want" "$tmp/all"; then
		echo "ok extract sample has: $want"
	else
		echo "FAIL extract sample lacks: $want"
	fi
done

# Crafted captures, each against the messages its generator wrote.
for c in gap cut onebyte; do
	f=tests/captures/extract-$c.pcap
	mkdir "$tmp/c-$c"
	"$IMAPTRACE" -q --extract "$tmp/c-$c/x" "$f" >"$tmp/c-$c.ndjson"
	[ "$(ls -A "$tmp/c-$c")" = x ] || echo "FAIL extract $c: written outside DIR"
	$PY tests/e2e/extract_check.py "$tmp/c-$c/x" "$tmp/c-$c.ndjson" --expect "tests/captures/extract-$c.expect" >"$tmp/c-$c.chk"
	$PY tests/e2e/validate.py "$tmp/c-$c.ndjson" >>"$tmp/c-$c.chk" || echo "FAIL events invalid" >>"$tmp/c-$c.chk"
	result "crafted $c" "$tmp/c-$c.chk"
done
field() {	# field DIR PATH-GLOB KEY: the KEY of the object record of PATH
	$PY -c 'import json,sys,fnmatch
for l in open(sys.argv[1] + "/manifest.ndjson"):
    r = json.loads(l)
    if r["record"] == "object" and fnmatch.fnmatch(r["path"], sys.argv[2]):
        print(json.dumps(r[sys.argv[3]], sort_keys=True)); break' "$1" "$2" "$3"
}
expect() {	# expect NAME GOT WANT
	if [ "$2" = "$3" ]; then echo "ok extract $1"; else echo "FAIL extract $1: $2, wanted $3"; fi
}
expect "gap: the missing range" "$(field "$tmp/c-gap/x" '*uid11*' missing)" '[{"length": 1000, "offset": 2000}]'
expect "gap: reasons" "$(field "$tmp/c-gap/x" '*uid11*' reasons)" '["gap"]'
expect "gap: declared length kept" "$(field "$tmp/c-gap/x" '*uid11*' size)" "$(field "$tmp/c-gap/x" '*uid11*' declared_size)"
expect "cut: reasons" "$(field "$tmp/c-cut/x" '*uid12*' reasons)" '["capture-end"]'
expect "catenate: a TEXT piece" "$(field "$tmp/c-onebyte/x" '*catenate*' kind)" '"catenate"'
expect "multiappend: second message index" "$(field "$tmp/c-onebyte/x" '*append-1.eml' index)" '1'
expect "append: mailbox" "$(field "$tmp/c-onebyte/x" '*append-0.eml' mailbox)" '"Sent Items"'
expect "partial fetch: section" "$(field "$tmp/c-onebyte/x" '*uid21-BODY___0_*' section)" '"BODY[]<0>"'
expect "partial fetch: reasons" "$(field "$tmp/c-onebyte/x" '*uid21-BODY___0_*' reasons)" '["partial-fetch"]'
expect "partial fetch: origin from the response, length from the command" \
	"$(field "$tmp/c-onebyte/x" '*uid21-BODY___0_*' partial)" '{"length": 10, "origin": 0}'
if grep -q '"filename":"../../etc/passwd"' "$tmp/c-onebyte.ndjson" && [ ! -e "$tmp/etc" ] &&
   [ -z "$(find "$tmp" -name passwd)" ]; then
	echo "ok extract a declared file name is reported, never used"
else
	echo "FAIL extract the declared file name ../../etc/passwd"
fi

# A second run into the same directory keeps every file of the first.
x=$tmp/c-onebyte/x
(cd "$x" && find . -type f ! -name manifest.ndjson -exec sha256sum {} + | sort) >"$tmp/before"
n1=$(wc -l <"$x/manifest.ndjson")
"$IMAPTRACE" -q --extract "$x" tests/captures/extract-onebyte.pcap >/dev/null
(cd "$x" && find . -type f ! -name manifest.ndjson -exec sha256sum {} + | sort) >"$tmp/after"
n2=$(wc -l <"$x/manifest.ndjson")
if [ -z "$(comm -23 "$tmp/before" "$tmp/after")" ] && [ "$n2" -eq $((2 * n1)) ]; then
	echo "ok extract a second run overwrites nothing and continues the manifest"
else
	echo "FAIL extract a second run: files changed or manifest not continued ($n1 -> $n2)"
fi

# An unusable directory stops before reading, naming the path.
: >"$tmp/notadir"
"$IMAPTRACE" -q --extract "$tmp/notadir" tests/captures/extract-onebyte.pcap >/dev/null 2>"$tmp/err"
st=$?
if [ $st -eq 2 ] && grep -q "$tmp/notadir" "$tmp/err"; then
	echo "ok extract an unusable DIR: exit 2, the path named"
else
	echo "FAIL extract an unusable DIR: status $st, $(cat "$tmp/err")"
fi
