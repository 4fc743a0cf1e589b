/*
 * sess_event.h - the session engine's events and findings.
 *
 * Every event of a session starts with the same members (ts, session,
 * client, server, type, frame, and dir/offset when tied to stream
 * bytes), taken from the session's current packet; the rest is written
 * field by field with the writers of event.h.  An event the output does
 * not want is muted: every writer call on it is free.  Findings are
 * events of type violation whose id, category, severity, message and
 * RFC come from the catalog (findings.h); they are counted per session
 * and for the capture.
 */
#ifndef IMT_SESS_EVENT_H
#define IMT_SESS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "findings.h"
#include "imap.h"
#include "tcp.h"

struct session;

/* Starts an event of s with the common members; never NULL.  Events are
 * built one at a time (a few may nest: SESS_EVENT_POOL); each ends with
 * sess_ev_emit(). */
struct imt_event *sess_ev_new(struct session *s, enum imt_event_type type,
			      enum imt_dir dir, uint64_t offset);

/* The same with the time and frame of m instead of the current
 * packet's (a record about an earlier packet). */
struct imt_event *sess_ev_new_at(struct session *s, enum imt_event_type type,
				 enum imt_dir dir, uint64_t offset,
				 const struct tcp_meta *m);

/* Ends ev and hands it to the output; ev is free again. */
void sess_ev_emit(struct session *s, struct imt_event *ev);

/* Gives back the prefix the events of s were made with (it is made
 * again by the next event). */
void sess_ev_forget(struct session *s);

/* Writes "<key>_truncated": true. */
void sess_ev_truncated(struct imt_event *ev, const char *key);

/* p[0..len) cut at cap bytes, with "<key>_truncated": true when cut.
 * Inline, so that a literal key's length is known when compiling. */
static inline void sess_ev_str(struct imt_event *ev, const char *key,
			       const char *p, size_t len, size_t cap)
{
	event_string(ev, key, p, len < cap ? len : cap);
	if (len > cap)
		sess_ev_truncated(ev, key);
}

/* Writes el's tokens as readable text into ev[key], cut at cap, with
 * "<key>_truncated" when anything was cut; top-level arguments from
 * redact_from on (-1: none) become "<redacted>". */
void sess_ev_tokens(struct imt_event *ev, const char *key,
		    const struct imap_element *el, size_t cap, int redact_from);

/* The time of the packet at hand, as the events write it. */
size_t sess_ev_ts(const struct session *s, char *buf, size_t size);

/* (s1, n1) - (s0, n0) in nanoseconds, clamped rather than wrapped. */
int64_t sess_ts_diff_ns(int64_t s1, uint32_t n1, int64_t s0, uint32_t n0);

/* Raises finding id at offset of direction dir, with an optional detail
 * (cut at the args-text limit) and the tag of the command it concerns
 * (or NULL). */
void sess_finding(struct session *s, enum imt_finding id, enum imt_dir dir,
		  uint64_t offset, const char *detail, const char *tag);
/* The same with a detail of detail_len bytes, not NUL-terminated. */
void sess_finding_n(struct session *s, enum imt_finding id, enum imt_dir dir,
		    uint64_t offset, const char *detail, size_t detail_len,
		    const char *tag);
/* A finding as a lower stage reported it (its frame, when not 0, is
 * the evidence instead of the current packet). */
void sess_finding_report(struct session *s, const struct imt_finding_report *f);

#endif
