/*
 * sess_resp.c - the defined response names and codes (see sess_resp.h).
 */
#include <string.h>
#include <strings.h>

#include "sess_resp.h"

#define SESS_RESP_ROW(name) name,

static const char *const numbered_names[] = { SESS_RESP_NUMBERED(SESS_RESP_ROW) };
static const char *const data_names[] = { SESS_RESP_DATA(SESS_RESP_ROW) };
static const char *const code_names[] = { SESS_RESP_CODES(SESS_RESP_ROW) };

/* True when word[0..len) is one of the n names, in any case. */
static int in_table(const char *const *names, size_t n, const char *word, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && strncasecmp(names[i], word, len) == 0)
			return 1;
	return 0;
}

int sess_resp_name_known(const char *name, int numbered)
{
	size_t len = strlen(name);

	if (len > 0 && (name[0] | 0x20) == 'x')
		return 1;
	if (numbered)
		return in_table(numbered_names, sizeof(numbered_names) / sizeof(*numbered_names),
				name, len);
	return in_table(data_names, sizeof(data_names) / sizeof(*data_names), name, len);
}

int sess_resp_code_known(const char *code, size_t len)
{
	if (len > 0 && (code[0] | 0x20) == 'x')
		return 1;
	return in_table(code_names, sizeof(code_names) / sizeof(*code_names), code, len);
}
