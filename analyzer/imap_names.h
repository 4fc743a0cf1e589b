/*
 * imap_names.h - the untagged response names (RFC 3501 §7.2-§7.4 and
 * extensions) and response codes (§7.1, the IANA "IMAP Response Codes"
 * registry) the protocol defines.  One table serves the parser, which
 * ends a resync only at an untagged response with a defined name, and
 * the session engine's unknown-response finding (sess_resp.h), which
 * adds the exempt experimental X names.
 *
 * Each table is one X-macro list; docs/violations.md repeats the names
 * that are exempt (experimental X names and vendor codes known in use).
 * Plain data: no events.
 */
#ifndef IMT_IMAP_NAMES_H
#define IMT_IMAP_NAMES_H

#include <stddef.h>

/* Untagged responses that start with a message number (RFC 3501 §7.3,
 * §7.4). */
#define IMAP_RESP_NUMBERED(X) \
	X("FETCH") X("EXISTS") X("EXPUNGE") X("RECENT")

/* Untagged data responses without a number: RFC 3501 §7.2, RFC 9051,
 * and the extensions that define one. */
#define IMAP_RESP_DATA(X) \
	X("CAPABILITY") X("LIST") X("LSUB") X("STATUS") X("SEARCH") X("FLAGS") \
	X("XLIST")       /* Gmail and Apple, before RFC 6154; in use */ \
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
#define IMAP_RESP_CODES(X) \
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

/* True when name[0..len) (any case) is a defined untagged response
 * name; numbered: the response starts with a message number. */
int imap_resp_name_defined(const char *name, size_t len, int numbered);

/* True when code[0..len) (any case) is a defined response code. */
int imap_resp_code_defined(const char *code, size_t len);

#endif
