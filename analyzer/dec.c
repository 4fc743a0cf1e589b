/* dec.c - decimal numbers (dec.h). */
#include "dec.h"

size_t dec_span(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}
