/*
 * dec.h - the one decimal number parser: IMAP numbers and literal sizes,
 * response-code arguments, command-line options; and the one writer of
 * decimal numbers (event fields, endpoints, literal markers).
 *
 * Only ASCII digits: no sign, no white space, no base prefix.  Leading
 * zeros are allowed ("007" is 7), as RFC 3501's number and the command
 * line both take them.
 */
#ifndef IMT_DEC_H
#define IMT_DEC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses s[0, len), which must be all digits, with an overflow check and
 * a range check.  Returns 0 and sets *v_r when the number is at most max;
 * returns -1 and leaves *v_r alone when len is 0, when a byte is not a
 * digit, or when the value passes max (2^64 - 1 and beyond included).
 */
static inline int dec_parse_u64(const char *s, size_t len, uint64_t max,
				uint64_t *v_r)
{
	uint64_t v = 0;

	/* Inline: the tokenizer calls it for every number of every line. */
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return -1;
		/* Nineteen digits always fit in 64 bits; only longer
		 * numbers need the check. */
		if (i >= 19 && v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*v_r = v;
	return 0;
}

/* The number of digits at the start of s[0, len): 0 when s[0] is not a
 * digit or len is 0. */
size_t dec_span(const char *s, size_t len);

/* Room dec_format_u64() needs at most: 2^64 - 1 has 20 digits. */
#define DEC_U64_MAXLEN 20

/*
 * Writes v in decimal just before end (no NUL) and returns where the
 * digits start: end - 1 for 0 to 9, end - 20 for UINT64_MAX.  At least
 * DEC_U64_MAXLEN bytes must precede end.  Inline, two digits a step:
 * frame numbers and offsets are most of an event's numbers.
 */
static inline char *dec_format_u64(char *end, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";

	while (v >= 100) {
		unsigned k = (unsigned)(v % 100) * 2;

		v /= 100;
		*--end = pairs[k + 1];
		*--end = pairs[k];
	}
	if (v >= 10) {
		*--end = pairs[v * 2 + 1];
		*--end = pairs[v * 2];
	} else {
		*--end = (char)('0' + v);
	}
	return end;
}

#endif
