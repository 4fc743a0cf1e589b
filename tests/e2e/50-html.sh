#!/bin/sh
# The html report (-F html), opened in headless Chromium (tests/e2e/cdp.py
# drives it over the DevTools protocol, python3 standard library only):
#   - every sample, a gap capture, and 130 generated sessions (more than
#     the report draws, one of them longer than a ladder): the page loads
#     with no console error, the DOM has the sessions, commands and findings
#     the NDJSON of the same capture has, a real click on a finding marker
#     shows its details, and the report says what it left out;
#   - a hostile capture (markup, script, javascript: URLs, invalid UTF-8 in
#     every string shown), with and without its Content-Security-Policy: no
#     script from the capture runs and the strings show as text.
# Without chromium: one "ok html: skipped" line saying so.
cd "$(dirname "$0")/../.." || exit 2
IMAPTRACE=${IMAPTRACE:-./imaptrace}
if ! command -v chromium >/dev/null 2>&1; then
	echo "ok html: skipped, chromium is not installed (apt-get install chromium; .ci/run installs it)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tests/crafted/make_output_captures.py --many "$tmp/many-sessions.pcap" ||
	echo "FAIL html: could not generate the many-session capture"
/usr/bin/python3 tests/e2e/html_check.py "$IMAPTRACE" "$tmp" samples/*.pcap \
	tests/captures/tcp-gap.pcap tests/captures/imap-clean-full.pcap "$tmp/many-sessions.pcap"
/usr/bin/python3 tests/e2e/html_check.py --hostile "$IMAPTRACE" "$tmp" \
	tests/captures/out-hostile-html.pcap tests/captures/out-escapes.pcap
