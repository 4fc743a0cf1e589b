/*
 * dec.h - the one decimal number parser: IMAP numbers and literal sizes,
 * response-code arguments, command-line options.
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

#endif
