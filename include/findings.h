/*
 * findings.h - the catalog of findings, in one table.
 *
 * Each row gives the enum constant, the stable id (kebab-case, never
 * renamed once released), the category, the default severity, the RFC
 * section where one applies ("" otherwise) and a one-line message a
 * person understands without the RFC.  docs/violations.md and the JSON
 * Schema are checked against this table by the test suite.  Rows are
 * only ever appended within a category.
 */
#ifndef IMT_FINDINGS_H
#define IMT_FINDINGS_H

#include <stdint.h>

#include "imt_dir.h"

enum imt_severity { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH };

#define IMT_FINDINGS(X) \
	/* transport */ \
	X(TCP_GAP, "tcp-gap", "transport", LOW, "", \
	  "bytes are missing from the capture in this direction") \
	X(TCP_OVERLAP_MISMATCH, "tcp-overlap-mismatch", "transport", HIGH, "", \
	  "a retransmitted or overlapping TCP segment carries different bytes than the first copy") \
	X(TCP_MIDSTREAM, "tcp-midstream", "transport", INFO, "", \
	  "the session was picked up without its TCP handshake") \
	X(TCP_RESET, "tcp-reset", "transport", INFO, "", \
	  "the session was ended by a TCP reset") \
	X(TCP_DATA_AFTER_CLOSE, "tcp-data-after-close", "transport", LOW, "", \
	  "payload was sent after FIN or RST") \
	X(LIMIT_REACHED, "limit-reached", "transport", MEDIUM, "", \
	  "an analysis limit was reached and data was dropped") \
	X(TRUNCATED_PACKET, "truncated-packet", "transport", INFO, "", \
	  "packets were cut by the capture's snapshot length") \
	/* framing */ \
	X(BARE_LF, "bare-lf", "framing", LOW, "RFC 3501 §2.2", \
	  "a line ended with LF without CR") \
	X(BARE_CR, "bare-cr", "framing", LOW, "RFC 3501 §2.2", \
	  "a CR was not followed by LF") \
	X(LINE_TOO_LONG, "line-too-long", "framing", MEDIUM, "RFC 7162 §4", \
	  "a protocol line (literals excluded) is longer than the line limit") \
	X(NUL_IN_LINE, "nul-in-line", "framing", MEDIUM, "RFC 3501 §9", \
	  "a NUL octet appeared outside a literal8") \
	X(EIGHT_BIT_IN_LINE, "eight-bit-in-line", "framing", LOW, "RFC 3501 §9", \
	  "8-bit octets appeared outside literals and quoted strings without UTF8=ACCEPT") \
	X(SYNTAX_ERROR, "syntax-error", "framing", LOW, "RFC 3501 §9", \
	  "a line does not follow the IMAP grammar") \
	X(LITERAL_NOT_SYNCHRONIZED, "literal-not-synchronized", "framing", LOW, "RFC 3501 §7.5", \
	  "the client sent a synchronizing literal's data before the server's continuation") \
	X(NONSYNC_LITERAL_UNADVERTISED, "nonsync-literal-unadvertised", "framing", LOW, "RFC 7888 §4", \
	  "a non-synchronizing literal was used without LITERAL+ (or over 4096 octets with only LITERAL-)") \
	X(LITERAL_TRUNCATED, "literal-truncated", "framing", MEDIUM, "", \
	  "the stream ended inside a literal") \
	X(LITERAL_TOO_LARGE, "literal-too-large", "framing", MEDIUM, "", \
	  "a literal declares a size beyond any sane message") \
	/* pairing */ \
	X(INVALID_TAG, "invalid-tag", "pairing", MEDIUM, "RFC 3501 §9 (tag)", \
	  "a client tag contains a forbidden character or is * or +") \
	X(DUPLICATE_TAG, "duplicate-tag", "pairing", MEDIUM, "RFC 3501 §2.2.1", \
	  "a tag was reused while the command that first used it is still outstanding") \
	X(TAG_REUSED, "tag-reused", "pairing", INFO, "RFC 3501 §2.2.1", \
	  "a tag was reused after its command completed") \
	X(UNKNOWN_TAG_RESULT, "unknown-tag-result", "pairing", MEDIUM, "RFC 3501 §2.2.2", \
	  "a tagged result matches no outstanding command") \
	X(UNANSWERED_COMMAND, "unanswered-command", "pairing", LOW, "RFC 3501 §2.2.2", \
	  "a command got no tagged result before the session ended") \
	X(UNEXPECTED_CONTINUATION, "unexpected-continuation", "pairing", LOW, "RFC 3501 §7.5", \
	  "the server sent a continuation request when nothing was waiting for one") \
	X(BAD_STATUS, "bad-status", "pairing", MEDIUM, "RFC 3501 §7.1", \
	  "a tagged result has a status other than OK, NO or BAD") \
	/* state */ \
	X(MISSING_GREETING, "missing-greeting", "state", LOW, "RFC 3501 §7.1", \
	  "the server's first line is not an untagged OK, PREAUTH or BYE greeting") \
	X(CLIENT_BEFORE_GREETING, "client-before-greeting", "state", LOW, "RFC 3501 §7.1", \
	  "the client sent a command before the server greeting") \
	X(COMMAND_INVALID_IN_STATE, "command-invalid-in-state", "state", MEDIUM, "RFC 3501 §3", \
	  "a command was sent in a state that does not allow it") \
	X(UNKNOWN_COMMAND, "unknown-command", "state", LOW, "RFC 3501 §6", \
	  "a command that no RFC or known extension defines") \
	X(BAD_ARGUMENTS, "bad-arguments", "state", LOW, "RFC 3501 §6", \
	  "a known command has the wrong number or form of arguments") \
	X(COMMAND_DURING_IDLE, "command-during-idle", "state", MEDIUM, "RFC 2177 §3", \
	  "the client sent something other than DONE while IDLE was active") \
	X(COMMAND_AFTER_LOGOUT, "command-after-logout", "state", MEDIUM, "RFC 3501 §6.1.3", \
	  "the client sent data after LOGOUT or after the server's BYE") \
	X(DATA_AFTER_BYE, "data-after-bye", "state", LOW, "RFC 3501 §7.1.5", \
	  "the server sent data after its BYE other than the LOGOUT result") \
	X(STARTTLS_NOT_ADVERTISED, "starttls-not-advertised", "state", LOW, "RFC 3501 §6.2.1", \
	  "STARTTLS was sent although the server's capabilities lack it") \
	X(LOGIN_DISABLED, "login-disabled", "state", MEDIUM, "RFC 3501 §6.2.3", \
	  "LOGIN was sent although the server advertised LOGINDISABLED") \
	X(SERVER_BAD, "server-bad", "state", INFO, "RFC 3501 §7.1.3", \
	  "the server answered BAD") \
	X(UNEXPECTED_BYE, "unexpected-bye", "state", INFO, "RFC 3501 §7.1.5", \
	  "the server sent BYE without a LOGOUT") \
	X(LOGOUT_WITHOUT_BYE, "logout-without-bye", "state", LOW, "RFC 3501 §6.1.3", \
	  "LOGOUT completed without the BYE the protocol requires before it") \
	X(STARTTLS_REPEATED, "starttls-repeated", "state", LOW, "RFC 3501 §6.2.1", \
	  "STARTTLS was sent again after TLS was active or refused") \
	X(VANISHED_WITHOUT_QRESYNC, "vanished-without-qresync", "state", LOW, "RFC 7162 §3.2.10", \
	  "VANISHED was sent although QRESYNC was not enabled") \
	X(UNKNOWN_RESPONSE, "unknown-response", "state", LOW, "RFC 3501 §7", \
	  "an untagged response or response code that no RFC or registered extension defines") \
	/* consistency */ \
	X(EXPUNGE_OUT_OF_RANGE, "expunge-out-of-range", "consistency", MEDIUM, "RFC 3501 §7.4.1", \
	  "EXPUNGE names a message number above the current message count") \
	X(FETCH_OUT_OF_RANGE, "fetch-out-of-range", "consistency", MEDIUM, "RFC 3501 §7.4.2", \
	  "FETCH names a message number above the current message count") \
	X(EXISTS_DECREASED, "exists-decreased", "consistency", MEDIUM, "RFC 3501 §7.3.1", \
	  "EXISTS reports fewer messages than the count implied by earlier EXISTS and EXPUNGE") \
	X(EXPUNGE_DURING_MSN_COMMAND, "expunge-during-msn-command", "consistency", MEDIUM, "RFC 3501 §7.4.1", \
	  "EXPUNGE was sent while a FETCH, STORE or SEARCH by message number was in progress") \
	X(UIDVALIDITY_CHANGED, "uidvalidity-changed", "consistency", MEDIUM, "RFC 3501 §2.3.1.1", \
	  "UIDVALIDITY changed for the same mailbox within one session") \
	X(UID_NOT_ASCENDING, "uid-not-ascending", "consistency", LOW, "RFC 3501 §2.3.1.1", \
	  "a UID is at or above UIDNEXT, or UIDs do not ascend with message numbers") \
	X(WRITE_ON_READ_ONLY, "write-on-read-only", "consistency", LOW, "RFC 3501 §6.3.2", \
	  "a write to a mailbox opened read-only was answered OK") \
	/* security */ \
	X(CLEARTEXT_CREDENTIALS, "cleartext-credentials", "security", HIGH, "RFC 3501 §11.1", \
	  "credentials were sent on a connection without TLS") \
	X(AUTH_FAILED, "auth-failed", "security", INFO, "RFC 3501 §6.2", \
	  "an authentication attempt was refused") \
	X(AUTH_BRUTE_FORCE, "auth-brute-force", "security", HIGH, "", \
	  "repeated authentication failures from one client address") \
	X(STARTTLS_INJECTION, "starttls-injection", "security", HIGH, "RFC 3501 §11.1", \
	  "plaintext was sent after STARTTLS and before the TLS handshake") \
	X(STARTTLS_STRIPPED, "starttls-stripped", "security", HIGH, "RFC 3501 §11.1", \
	  "STARTTLS was stripped: hidden from this session, overwritten, or refused by a server that offered it") \
	X(STARTTLS_REFUSED, "starttls-refused", "security", MEDIUM, "RFC 3501 §6.2.1", \
	  "a server that advertised STARTTLS refused it") \
	X(PREAUTH_CLEARTEXT, "preauth-cleartext", "security", LOW, "RFC 3501 §7.1.4", \
	  "a PREAUTH greeting on a cleartext connection leaves no chance for STARTTLS") \
	X(OVERSIZED_ARGUMENT, "oversized-argument", "security", HIGH, "", \
	  "an argument or line far beyond normal use, the shape of buffer-overflow exploits") \
	X(SERVER_ALERT, "server-alert", "security", INFO, "RFC 3501 §7.1", \
	  "the server sent an ALERT for the user") \
	X(PLAINTEXT_AFTER_STARTTLS, "plaintext-after-starttls", "security", HIGH, "RFC 3501 §6.2.1", \
	  "the session went on in plaintext after the server accepted STARTTLS") \
	/* tls */ \
	X(TLS_AUTH_FAILED, "tls-auth-failed", "tls", MEDIUM, "RFC 8446 §5.2", \
	  "a TLS record failed authentication with the logged key") \
	X(TLS_KEYS_MISSING, "tls-keys-missing", "tls", INFO, "", \
	  "the key log holds no secret for this TLS session") \
	X(TLS_OLD_VERSION, "tls-old-version", "tls", MEDIUM, "RFC 8996", \
	  "the TLS session uses a protocol version older than TLS 1.2") \
	X(TLS_MALFORMED, "tls-malformed", "tls", MEDIUM, "RFC 8446 §5.1", \
	  "bytes that should be a TLS record or handshake message do not parse") \
	X(TLS_RECORD_TOO_LONG, "tls-record-too-long", "tls", MEDIUM, "RFC 8446 §5.2", \
	  "a TLS record is longer than the protocol allows") \
	X(TLS_HANDSHAKE_TOO_LONG, "tls-handshake-too-long", "tls", MEDIUM, "", \
	  "a TLS handshake message is longer than any real one") \
	X(TLS_TRUNCATED, "tls-truncated", "tls", LOW, "", \
	  "the stream ended inside a TLS record or handshake message") \
	X(TLS_ALERT, "tls-alert", "tls", INFO, "RFC 8446 §6", \
	  "a TLS alert was sent (close_notify included)")

enum imt_finding {
#define IMT_FINDING_ENUM(e, id, cat, sev, rfc, msg) F_##e,
	IMT_FINDINGS(IMT_FINDING_ENUM)
#undef IMT_FINDING_ENUM
	F__COUNT
};

struct imt_finding_info {
	const char *id;
	const char *category;
	enum imt_severity severity;
	const char *rfc;
	const char *message;
};

/*
 * A finding as a lower stage reports it.  Strings live only during the
 * callback.  `frame` and `offset` are the evidence; stages that do not
 * know one leave it 0 and the session engine fills it in.
 */
struct imt_finding_report {
	enum imt_finding id;
	uint64_t frame;          /* packet that shows it, 0 = current */
	uint64_t other_frame;    /* second piece of evidence (overlap), or 0 */
	enum imt_dir dir;        /* IMT_DIR_NONE: not tied to a direction */
	uint64_t offset;         /* stream offset in that direction */
	const char *detail;      /* extra explanation, or NULL */
	const char *limit;       /* for F_LIMIT_REACHED: the limit's option name */
	uint64_t value;          /* a size or count the finding is about, or 0 */
};

/* Returns the catalog row of id; id must be < F__COUNT. */
const struct imt_finding_info *imt_finding_info(enum imt_finding id);
/* Returns "info", "low", "medium" or "high". */
const char *imt_severity_name(enum imt_severity s);
/* Parses a severity name; returns 0 and sets *sev_r, or -1. */
int imt_severity_parse(const char *name, enum imt_severity *sev_r);

#endif
