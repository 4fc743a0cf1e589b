/* imap_cmd.c - the command table behind imap_cmd.h. */
#include "imap_cmd.h"

#include <strings.h>

static const struct imap_cmd_info cmd_table[CMD__COUNT] = {
#define IMAP_CMD_ROW(e, name, states, flags, amin, amax, rfc) \
	[CMD_##e] = { name, states, flags, amin, amax, rfc },
	IMAP_COMMANDS(IMAP_CMD_ROW)
#undef IMAP_CMD_ROW
};

/* Name lengths, so that most rows are passed over on one compare. */
static const unsigned char cmd_len[CMD__COUNT] = {
#define IMAP_CMD_LEN(e, name, states, flags, amin, amax, rfc) \
	[CMD_##e] = sizeof(name) - 1,
	IMAP_COMMANDS(IMAP_CMD_LEN)
#undef IMAP_CMD_LEN
};

enum imap_cmd imap_cmd_lookup(const char *name, size_t len)
{
	/* A linear scan: the table is short and lookups happen once per
	 * command line, not per byte. */
	for (size_t i = 0; i < CMD__COUNT; i++) {
		const char *n = cmd_table[i].name;
		size_t j = 0;

		if (cmd_len[i] != len || len == 0 || (name[0] | 0x20) != (n[0] | 0x20))
			continue;
		while (j < len && n[j] != '\0' &&
		       (name[j] | 0x20) == (n[j] | 0x20) &&
		       ((name[j] == ' ') == (n[j] == ' ')))
			j++;
		if (j == len && n[j] == '\0')
			return (enum imap_cmd)i;
	}
	return CMD_UNKNOWN;
}

const struct imap_cmd_info *imap_cmd_info(enum imap_cmd cmd)
{
	return &cmd_table[cmd];
}

const char *imap_state_name(unsigned state)
{
	switch (state) {
	case ST_NOTAUTH: return "not_authenticated";
	case ST_AUTH: return "authenticated";
	case ST_SELECTED: return "selected";
	case ST_LOGOUT: return "logout";
	default: return "unknown";
	}
}
