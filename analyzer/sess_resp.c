/*
 * sess_resp.c - the defined or exempt response names and codes (see
 * sess_resp.h).
 */
#include <string.h>

#include "imap_names.h"
#include "sess_resp.h"

int sess_resp_name_known(const char *name, int numbered)
{
	size_t len = strlen(name);

	if (len > 0 && (name[0] | 0x20) == 'x')
		return 1;
	return imap_resp_name_defined(name, len, numbered);
}

int sess_resp_code_known(const char *code, size_t len)
{
	if (len > 0 && (code[0] | 0x20) == 'x')
		return 1;
	return imap_resp_code_defined(code, len);
}
