/*
 * sess_resp.h - which untagged response names (RFC 3501 §7.2-§7.4 and
 * extensions) and response codes (§7.1, the IANA "IMAP Response Codes"
 * registry) the protocol defines, for unknown-response.
 *
 * Each table is one X-macro list; docs/violations.md repeats the names
 * that are exempt (experimental X names and vendor codes known in use).
 * Plain data: no events.
 */
#ifndef IMT_SESS_RESP_H
#define IMT_SESS_RESP_H

#include <stddef.h>

/* Untagged responses that start with a message number (RFC 3501 §7.3,
 * §7.4). */
#define SESS_RESP_NUMBERED(X) \
	X("FETCH") X("EXISTS") X("EXPUNGE") X("RECENT")

/* Untagged data responses without a number: RFC 3501 §7.2, RFC 9051,
 * and the extensions that define one. */
#define SESS_RESP_DATA(X) \
	X("CAPABILITY") X("LIST") X("LSUB") X("STATUS") X("SEARCH") X("FLAGS") \
	X("ESEARCH")     /* RFC 4731 */ \
	X("ENABLED")     /* RFC 5161 */ \
	X("NAMESPACE")   /* RFC 2342 */ \
	X("ID")          /* RFC 2971 */ \
	X("VANISHED")    /* RFC 7162 */ \
	X("QUOTA") X("QUOTAROOT")                /* RFC 9208 */ \
	X("ACL") X("LISTRIGHTS") X("MYRIGHTS")   /* RFC 4314 */ \
	X("METADATA")    /* RFC 5464 */ \
	X("SORT") X("THREAD")                    /* RFC 5256 */ \
	X("LANGUAGE") X("COMPARATOR")            /* RFC 5255 */ \
	X("CONVERTED")   /* RFC 5259 */ \
	X("URLMECH") X("GENURLAUTH")             /* RFC 4467 */ \
	X("ANNOTATION")  /* Cyrus (draft-daboo-imap-annotatemore), in use */

/* Response codes: RFC 3501 §7.1 and the IANA registry. */
#define SESS_RESP_CODES(X) \
	X("ALERT") X("BADCHARSET") X("CAPABILITY") X("PARSE") \
	X("PERMANENTFLAGS") X("READ-ONLY") X("READ-WRITE") X("TRYCREATE") \
	X("UIDNEXT") X("UIDVALIDITY") X("UNSEEN") X("NEWNAME") X("REFERRAL") \
	X("UNKNOWN-CTE") X("UIDNOTSTICKY") X("APPENDUID") X("COPYUID") \
	X("URLMECH") X("TOOBIG") X("BADURL") X("HIGHESTMODSEQ") X("NOMODSEQ") \
	X("MODIFIED") X("COMPRESSIONACTIVE") X("CLOSED") X("NOTSAVED") \
	X("BADCOMPARATOR") X("ANNOTATE") X("ANNOTATIONS") X("TEMPFAIL") \
	X("MAXCONVERTMESSAGES") X("MAXCONVERTPARTS") X("NOUPDATE") \
	X("NOTIFICATIONOVERFLOW") X("BADEVENT") X("UNDEFINED-FILTER") \
	X("METADATA") X("UNAVAILABLE") X("AUTHENTICATIONFAILED") \
	X("AUTHORIZATIONFAILED") X("EXPIRED") X("PRIVACYREQUIRED") \
	X("CONTACTADMIN") X("NOPERM") X("INUSE") X("EXPUNGEISSUED") \
	X("CORRUPTION") X("SERVERBUG") X("CLIENTBUG") X("CANNOT") X("LIMIT") \
	X("OVERQUOTA") X("ALREADYEXISTS") X("NONEXISTENT") X("USEATTR") \
	X("DOWNGRADED") X("HASCHILDREN") X("MAILBOXID") X("INPROGRESS") \
	X("UIDREQUIRED") \
	X("WEBALERT") X("THROTTLED")             /* Gmail, in use */

/* True when an untagged response named name (upper case; numbered: it
 * starts with a message number) is defined or exempt: the tables above,
 * or a name starting with X (experimental, RFC 3501 §9 x-command's
 * counterpart). */
int sess_resp_name_known(const char *name, int numbered);

/* True when the response code code[0..len) is defined or exempt (any
 * case; a code starting with X is experimental). */
int sess_resp_code_known(const char *code, size_t len);

#endif
