/*
 * imap_cmd.h - the table of IMAP commands the analyzer knows.
 *
 * One row per command: its name as sent (upper case; UID commands as
 * "UID FETCH"), the states it is valid in, flags that drive findings, and
 * the range of top-level arguments it takes (a list or a literal counts
 * as one; -1 = no upper bound).  Commands starting with X are
 * experimental extensions and are never looked up as unknown.
 */
#ifndef IMT_IMAP_CMD_H
#define IMT_IMAP_CMD_H

#include <stddef.h>

/* States, as bits so a row can allow several. */
#define ST_NOTAUTH  0x1
#define ST_AUTH     0x2
#define ST_SELECTED 0x4
#define ST_LOGOUT   0x8
#define ST_ANY      (ST_NOTAUTH | ST_AUTH | ST_SELECTED)
#define ST_AUTHSEL  (ST_AUTH | ST_SELECTED)

/* Flags. */
#define CMDF_MSN      0x01  /* refers to messages by number (no EXPUNGE may cross it) */
#define CMDF_WRITE    0x02  /* changes the selected mailbox */
#define CMDF_CREDS    0x04  /* carries credentials */
#define CMDF_SELECT   0x08  /* opens a mailbox */

#define IMAP_COMMANDS(X) \
	X(CAPABILITY,   "CAPABILITY",   ST_ANY,      0,             0, 0, "RFC 3501 §6.1.1") \
	X(NOOP,         "NOOP",         ST_ANY,      0,             0, 0, "RFC 3501 §6.1.2") \
	X(LOGOUT,       "LOGOUT",       ST_ANY,      0,             0, 0, "RFC 3501 §6.1.3") \
	X(ID,           "ID",           ST_ANY,      0,             1, 1, "RFC 2971 §3.1") \
	X(STARTTLS,     "STARTTLS",     ST_NOTAUTH,  0,             0, 0, "RFC 3501 §6.2.1") \
	X(AUTHENTICATE, "AUTHENTICATE", ST_NOTAUTH,  CMDF_CREDS,    1, 2, "RFC 3501 §6.2.2") \
	X(LOGIN,        "LOGIN",        ST_NOTAUTH,  CMDF_CREDS,    2, 2, "RFC 3501 §6.2.3") \
	X(SELECT,       "SELECT",       ST_AUTHSEL,  CMDF_SELECT,   1, 2, "RFC 3501 §6.3.1") \
	X(EXAMINE,      "EXAMINE",      ST_AUTHSEL,  CMDF_SELECT,   1, 2, "RFC 3501 §6.3.2") \
	X(CREATE,       "CREATE",       ST_AUTHSEL,  0,             1, 2, "RFC 3501 §6.3.3") \
	X(DELETE,       "DELETE",       ST_AUTHSEL,  0,             1, 1, "RFC 3501 §6.3.4") \
	X(RENAME,       "RENAME",       ST_AUTHSEL,  0,             2, 3, "RFC 3501 §6.3.5") \
	X(SUBSCRIBE,    "SUBSCRIBE",    ST_AUTHSEL,  0,             1, 1, "RFC 3501 §6.3.6") \
	X(UNSUBSCRIBE,  "UNSUBSCRIBE",  ST_AUTHSEL,  0,             1, 1, "RFC 3501 §6.3.7") \
	X(LIST,         "LIST",         ST_AUTHSEL,  0,             2, -1, "RFC 3501 §6.3.8") \
	X(LSUB,         "LSUB",         ST_AUTHSEL,  0,             2, 2, "RFC 3501 §6.3.9") \
	X(XLIST,        "XLIST",        ST_AUTHSEL,  0,             2, 2, "") \
	X(STATUS,       "STATUS",       ST_AUTHSEL,  0,             2, 2, "RFC 3501 §6.3.10") \
	X(APPEND,       "APPEND",       ST_AUTHSEL,  CMDF_WRITE,    2, -1, "RFC 3501 §6.3.11") \
	X(NAMESPACE,    "NAMESPACE",    ST_AUTHSEL,  0,             0, 0, "RFC 2342 §5") \
	X(IDLE,         "IDLE",         ST_AUTHSEL,  0,             0, 0, "RFC 2177 §3") \
	X(COMPRESS,     "COMPRESS",     ST_AUTHSEL,  0,             1, 1, "RFC 4978 §3") \
	X(GETQUOTA,     "GETQUOTA",     ST_AUTHSEL,  0,             1, 1, "RFC 9208 §4.2") \
	X(GETQUOTAROOT, "GETQUOTAROOT", ST_AUTHSEL,  0,             1, 1, "RFC 9208 §4.3") \
	X(SETQUOTA,     "SETQUOTA",     ST_AUTHSEL,  0,             2, 2, "RFC 9208 §4.1") \
	X(GETACL,       "GETACL",       ST_AUTHSEL,  0,             1, 1, "RFC 4314 §3.3") \
	X(SETACL,       "SETACL",       ST_AUTHSEL,  0,             3, 3, "RFC 4314 §3.1") \
	X(DELETEACL,    "DELETEACL",    ST_AUTHSEL,  0,             2, 2, "RFC 4314 §3.2") \
	X(LISTRIGHTS,   "LISTRIGHTS",   ST_AUTHSEL,  0,             2, 2, "RFC 4314 §3.4") \
	X(MYRIGHTS,     "MYRIGHTS",     ST_AUTHSEL,  0,             1, 1, "RFC 4314 §3.5") \
	X(GETMETADATA,  "GETMETADATA",  ST_AUTHSEL,  0,             2, -1, "RFC 5464 §4.2") \
	X(SETMETADATA,  "SETMETADATA",  ST_AUTHSEL,  0,             2, 2, "RFC 5464 §4.3") \
	X(NOTIFY,       "NOTIFY",       ST_AUTHSEL,  0,             1, -1, "RFC 5465 §6") \
	X(UNAUTHENTICATE, "UNAUTHENTICATE", ST_AUTHSEL, 0,          0, 0, "RFC 8437 §2") \
	X(GENURLAUTH,   "GENURLAUTH",   ST_AUTHSEL,  0,             2, -1, "RFC 4467 §7.1") \
	X(RESETKEY,     "RESETKEY",     ST_AUTHSEL,  0,             0, -1, "RFC 4467 §7.3") \
	X(URLFETCH,     "URLFETCH",     ST_AUTHSEL,  0,             1, -1, "RFC 4467 §7.4") \
	X(ENABLE,       "ENABLE",       ST_AUTH,     0,             1, -1, "RFC 5161 §3.1") \
	X(CHECK,        "CHECK",        ST_SELECTED, 0,             0, 0, "RFC 3501 §6.4.1") \
	X(CLOSE,        "CLOSE",        ST_SELECTED, CMDF_WRITE,    0, 0, "RFC 3501 §6.4.2") \
	X(UNSELECT,     "UNSELECT",     ST_SELECTED, 0,             0, 0, "RFC 3691 §2") \
	X(EXPUNGE,      "EXPUNGE",      ST_SELECTED, CMDF_WRITE,    0, 0, "RFC 3501 §6.4.3") \
	X(SEARCH,       "SEARCH",       ST_SELECTED, CMDF_MSN,      1, -1, "RFC 3501 §6.4.4") \
	X(FETCH,        "FETCH",        ST_SELECTED, CMDF_MSN,      2, 3, "RFC 3501 §6.4.5") \
	X(STORE,        "STORE",        ST_SELECTED, CMDF_MSN | CMDF_WRITE, 3, 4, "RFC 3501 §6.4.6") \
	X(COPY,         "COPY",         ST_SELECTED, CMDF_MSN,      2, 2, "RFC 3501 §6.4.7") \
	X(MOVE,         "MOVE",         ST_SELECTED, CMDF_MSN | CMDF_WRITE, 2, 2, "RFC 6851 §3.1") \
	X(SORT,         "SORT",         ST_SELECTED, CMDF_MSN,      3, -1, "RFC 5256 §3") \
	X(THREAD,       "THREAD",       ST_SELECTED, CMDF_MSN,      3, -1, "RFC 5256 §3") \
	X(ESEARCH,      "ESEARCH",      ST_AUTHSEL,  0,             1, -1, "RFC 7377 §2") \
	X(REPLACE,      "REPLACE",      ST_SELECTED, CMDF_WRITE,    3, -1, "RFC 8508 §3.3") \
	X(UID_COPY,     "UID COPY",     ST_SELECTED, 0,             2, 2, "RFC 3501 §6.4.8") \
	X(UID_MOVE,     "UID MOVE",     ST_SELECTED, CMDF_WRITE,    2, 2, "RFC 6851 §3.2") \
	X(UID_FETCH,    "UID FETCH",    ST_SELECTED, 0,             2, 3, "RFC 3501 §6.4.8") \
	X(UID_SEARCH,   "UID SEARCH",   ST_SELECTED, 0,             1, -1, "RFC 3501 §6.4.8") \
	X(UID_STORE,    "UID STORE",    ST_SELECTED, CMDF_WRITE,    3, 4, "RFC 3501 §6.4.8") \
	X(UID_EXPUNGE,  "UID EXPUNGE",  ST_SELECTED, CMDF_WRITE,    1, 1, "RFC 4315 §2.1") \
	X(UID_SORT,     "UID SORT",     ST_SELECTED, 0,             3, -1, "RFC 5256 §3") \
	X(UID_THREAD,   "UID THREAD",   ST_SELECTED, 0,             3, -1, "RFC 5256 §3") \
	X(UID_REPLACE,  "UID REPLACE",  ST_SELECTED, CMDF_WRITE,    3, -1, "RFC 8508 §3.4")

enum imap_cmd {
#define IMAP_CMD_ENUM(e, name, states, flags, amin, amax, rfc) CMD_##e,
	IMAP_COMMANDS(IMAP_CMD_ENUM)
#undef IMAP_CMD_ENUM
	CMD__COUNT,
	CMD_UNKNOWN = CMD__COUNT
};

struct imap_cmd_info {
	const char *name;
	unsigned states;
	unsigned flags;
	int min_args;
	int max_args;            /* -1 = unbounded */
	const char *rfc;
};

/*
 * Looks a command name up, case-insensitively (`name` need not be
 * NUL-terminated; "UID FETCH" with one space for UID commands).  Returns
 * the command, or CMD_UNKNOWN.
 */
enum imap_cmd imap_cmd_lookup(const char *name, size_t len);

/* Returns the row of cmd (cmd < CMD__COUNT). */
const struct imap_cmd_info *imap_cmd_info(enum imap_cmd cmd);

/* Returns the name of a state bit ("not_authenticated", "authenticated",
 * "selected", "logout"), or "unknown". */
const char *imap_state_name(unsigned state);

#endif
