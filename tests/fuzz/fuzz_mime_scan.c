/*
 * fuzz_mime_scan.c - libFuzzer harness for the MIME scan (mime_scan.h):
 * the message is fed whole and cut in two at an offset taken from its
 * first byte, under small caps; both must give the same result, and the
 * cut must lie inside the message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <gmime/gmime.h>

#include "mime_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mime_scan_result fz_scan(const uint8_t *data, size_t size, size_t at)
{
	struct imt_limits lim;
	struct mime_scan *s;
	struct mime_scan_result r = { 0 };

	imt_limits_default(&lim);
	lim.max_mime_parts = 64;
	lim.max_mime_depth = 8;
	lim.max_mime_header = 512;
	lim.max_mime_headers = 8192;
	s = mime_scan_new(&lim);
	if (s == NULL)
		return r;
	mime_scan_feed(s, data, at);
	mime_scan_feed(s, data + at, size - at);
	mime_scan_finish(s, &r);
	mime_scan_free(s);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct mime_scan_result a, b;

	if (!ready) {
		g_mime_init();
		ready = 1;
	}
	a = fz_scan(data, size, size);
	b = fz_scan(data, size, size > 0 ? data[0] % (size + 1) : 0);
	if (a.cut != b.cut || a.limits != b.limits || a.parts != b.parts ||
	    a.depth != b.depth || a.cut > size)
		abort();
	return 0;
}
