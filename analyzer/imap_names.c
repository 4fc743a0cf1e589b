/*
 * imap_names.c - the defined response names and codes (see imap_names.h).
 */
#include <string.h>
#include <strings.h>

#include "imap_names.h"

struct imap_name_row {
	const char *name;
	size_t len;
};

#define IMAP_RESP_ROW(name) { name, sizeof(name) - 1 },

static const struct imap_name_row numbered_names[] = { IMAP_RESP_NUMBERED(IMAP_RESP_ROW) };
static const struct imap_name_row data_names[] = { IMAP_RESP_DATA(IMAP_RESP_ROW) };
static const struct imap_name_row code_names[] = { IMAP_RESP_CODES(IMAP_RESP_ROW) };

/* True when word[0..len) is one of the n names, in any case.  The lengths
 * are compared first: most rows differ in length from the word. */
static int in_table(const struct imap_name_row *names, size_t n, const char *word,
		    size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (names[i].len == len && strncasecmp(names[i].name, word, len) == 0)
			return 1;
	return 0;
}

int imap_resp_name_defined(const char *name, size_t len, int numbered)
{
	if (numbered)
		return in_table(numbered_names, sizeof(numbered_names) / sizeof(*numbered_names),
				name, len);
	return in_table(data_names, sizeof(data_names) / sizeof(*data_names), name, len);
}

int imap_resp_code_defined(const char *code, size_t len)
{
	return in_table(code_names, sizeof(code_names) / sizeof(*code_names), code, len);
}
