/* imap_cmd.c - the command table behind imap_cmd.h. */
#include "imap_cmd.h"

#include <pthread.h>
#include <strings.h>

static const struct imap_cmd_info cmd_table[CMD__COUNT] = {
#define IMAP_CMD_ROW(e, name, states, flags, amin, amax, rfc) \
	[CMD_##e] = { name, states, flags, amin, amax, rfc },
	IMAP_COMMANDS(IMAP_CMD_ROW)
#undef IMAP_CMD_ROW
};

/* Name lengths: a name is compared only with the rows of its length. */
static const unsigned char cmd_len[CMD__COUNT] = {
#define IMAP_CMD_LEN(e, name, states, flags, amin, amax, rfc) \
	[CMD_##e] = sizeof(name) - 1,
	IMAP_COMMANDS(IMAP_CMD_LEN)
#undef IMAP_CMD_LEN
};

/* The longest name: each has its rows of that length. */
#define CMD_NAME_MAX 24
#define IMAP_CMD_FITS(e, name, states, flags, amin, amax, rfc) \
	_Static_assert(sizeof(name) - 1 <= CMD_NAME_MAX, "command name too long");
IMAP_COMMANDS(IMAP_CMD_FITS)
#undef IMAP_CMD_FITS

/* The rows of each name length, in table order, ended by CMD__COUNT;
 * built once (both threads look names up). */
_Static_assert(CMD__COUNT < 255, "row numbers fit a byte");
static unsigned char cmd_by_len[CMD_NAME_MAX + 1][CMD__COUNT + 1];
static pthread_once_t cmd_index_once = PTHREAD_ONCE_INIT;

static void cmd_index_build(void)
{
	size_t fill[CMD_NAME_MAX + 1] = { 0 };

	for (size_t i = 0; i < CMD__COUNT; i++)
		cmd_by_len[cmd_len[i]][fill[cmd_len[i]]++] = (unsigned char)i;
	for (size_t l = 0; l <= CMD_NAME_MAX; l++)
		cmd_by_len[l][fill[l]] = CMD__COUNT;
}

static int cmd_name_is(const char *name, size_t len, const char *n)
{
	size_t j = 0;

	while (j < len && n[j] != '\0' &&
	       (name[j] | 0x20) == (n[j] | 0x20) &&
	       ((name[j] == ' ') == (n[j] == ' ')))
		j++;
	return j == len && n[j] == '\0';
}

enum imap_cmd imap_cmd_lookup(const char *name, size_t len)
{
	if (len == 0 || len > CMD_NAME_MAX)
		return CMD_UNKNOWN;
	pthread_once(&cmd_index_once, cmd_index_build);
	for (const unsigned char *r = cmd_by_len[len]; *r != CMD__COUNT; r++)
		if (cmd_name_is(name, len, cmd_table[*r].name))
			return (enum imap_cmd)*r;
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
