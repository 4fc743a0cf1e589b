/*
 * event.c - writing one event's JSON text as it is built (event.h).
 *
 * The text matches json-c's PLAIN | NOSLASHESCAPE serializer: strings
 * escape '"', '\\' and the control bytes (\b \f \n \r \t by name, the
 * others as \u00xx in lower-case hex), and nothing else; integers in
 * decimal; no white space.
 */
#include <stdlib.h>
#include <string.h>

#include "dec.h"
#include "event.h"
#include "mem.h"
#include "scan8.h"

static const char *const type_names[] = {
#define X(e, name) name,
	IMT_EVENT_TYPES(X)
#undef X
};

static const struct {
	const char *text;
	size_t len;
} type_members[] = {
#define X(e, name) { "\"type\":\"" name "\"", sizeof("\"type\":\"" name "\"") - 1 },
	IMT_EVENT_TYPES(X)
#undef X
};

const char *event_type_name(enum imt_event_type t)
{
	if ((unsigned)t >= EV__COUNT)
		return "unknown";
	return type_names[t];
}

/* A huge event should not pin its buffer for the rest of the run. */
#define EVENT_KEEP_CAP (1u << 20)

int event_grow_(struct imt_event *ev, size_t n)
{
	if (n > SIZE_MAX - ev->len ||
	    mem_grow(&ev->text, &ev->cap, ev->len + n, 1, 4096, SIZE_MAX) != 0) {
		ev->failed = 1;
		return -1;
	}
	return 0;
}

/* Room for n more bytes: 0, or -1 (then nothing may be written). */
static inline int event_room(struct imt_event *ev, size_t n)
{
	if (ev->muted || ev->failed)
		return -1;
	if (n <= ev->cap - ev->len)
		return 0;
	return event_grow_(ev, n);
}

void event_begin(struct imt_event *ev, enum imt_event_type type, int muted)
{
	if (ev->cap > EVENT_KEEP_CAP) {
		free(ev->text);
		ev->text = NULL;
		ev->cap = 0;
	}
	ev->type = type;
	ev->severity = -1;
	ev->muted = muted;
	ev->failed = 0;
	ev->len = 0;
	ev->depth = 1;
	ev->has_member = 0;
	ev->is_array = 0;
	/* muted itself, not ev->muted: reading back the flags just stored
	 * as one word stalls the store forwarding, once per event. */
	if (!muted && (ev->cap > 0 || event_grow_(ev, 1) == 0))
		ev->text[ev->len++] = '{';
}

int event_end(struct imt_event *ev)
{
	while (ev->depth > 0)
		event_close(ev);
	return ev->failed ? -1 : 0;
}

void event_release(struct imt_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->text);
	ev->text = NULL;
	ev->len = ev->cap = 0;
}

static inline void put(struct imt_event *ev, const char *s, size_t n)
{
	memcpy(ev->text + ev->len, s, n);
	ev->len += n;
}

/* ---- strings ----------------------------------------------------------- */

/* The high bit of each of the 8 bytes of w that needs a look (not
 * printable ASCII, or '"', or '\\'); the lowest one set is exact. */
static inline uint64_t special8(uint64_t w)
{
	return (w & SCAN8_HIGHS) | scan8_below(w, 0x20) | scan8_eq(w, '"') |
	       scan8_eq(w, '\\');
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* Writes s as a JSON string, quotes included; room is reserved. */
void event_put_string_(struct imt_event *ev, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	static const char lower[] = "0123456789abcdef";
	static const char upper[] = "0123456789ABCDEF";
	char *d = ev->text + ev->len;
	size_t i = 0;

	*d++ = '"';
	while (i < n) {
		unsigned char c;
		size_t k;

		/* Nearly all protocol text is plain ASCII: eight bytes a step,
		 * up to the first byte that needs a look. */
		while (i + 8 <= n) {
			uint64_t w, m;

			memcpy(&w, s + i, 8);
			memcpy(d, s + i, 8);
			m = special8(w);
			if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/* Byte k of the word is bits 8k..8k+7. */
				size_t k0 = (size_t)__builtin_ctzll(m) / 8;
#else
				size_t k0 = 0;
#endif

				d += k0;
				i += k0;
				break;
			}
			d += 8;
			i += 8;
		}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* The last few bytes as one zero-padded word: room for eight
		 * is reserved, and the padding is masked out. */
		if (i < n && n - i < 8) {
			size_t r = n - i;
			uint64_t w = scan8_load_short_le(s + i, r), m;

			m = special8(w) & scan8_first_octets(r);
			memcpy(d, &w, 8);
			if (m == 0) {
				d += r;
				break;
			}
			d += (size_t)__builtin_ctzll(m) / 8;
			i += (size_t)__builtin_ctzll(m) / 8;
		}
#endif
		if (i == n)
			break;
		c = s[i];
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*d++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_seq(s + i, n - i);
			if (k > 0) {
				memcpy(d, s + i, k);
				d += k;
				i += k;
				continue;
			}
			/* Not UTF-8: the text "\xNN", its backslash escaped. */
			memcpy(d, "\\\\x", 3);
			d[3] = upper[c >> 4];
			d[4] = upper[c & 0xf];
			d += 5;
			i++;
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		default:
			memcpy(d, "u00", 3);
			d[3] = lower[c >> 4];
			d[4] = lower[c & 0xf];
			d += 5;
			break;
		}
		i++;
	}
	*d++ = '"';
	ev->len = (size_t)(d - ev->text);
}

/* ---- numbers and the rest ---------------------------------------------- */

void event_put_number_(struct imt_event *ev, int neg, uint64_t mag)
{
	char buf[EVENT_NUMBER_MAX];
	char *p = dec_format_u64(buf + sizeof(buf), mag);

	if (neg)
		*--p = '-';
	put(ev, p, (size_t)(buf + sizeof(buf) - p));
}

void event_raw(struct imt_event *ev, const char *members, size_t len)
{
	/* The members carry their own keys: none is written here. */
	if (len > 0 && event_member_(ev, NULL, 0, len) == 0)
		put(ev, members, len);
}

void event_head(struct imt_event *ev, const struct event_head *h)
{
	static const char unknown[] = "\"type\":\"unknown\"";
	char fbuf[24], obuf[24];
	char *f = dec_format_u64(fbuf + sizeof(fbuf), h->frame), *o = obuf + sizeof(obuf);
	size_t flen = (size_t)(fbuf + sizeof(fbuf) - f), olen = 0;
	const char *type = unknown;
	size_t tlen = sizeof(unknown) - 1, need;
	char *d;

	if ((unsigned)ev->type < EV__COUNT) {
		type = type_members[ev->type].text;
		tlen = type_members[ev->type].len;
	}
	if (h->dir != IMT_DIR_NONE) {
		o = dec_format_u64(o, h->offset);
		olen = (size_t)(obuf + sizeof(obuf) - o);
	}
	/* "ts":"…", members, "type":…, "frame":N, "dir":"c2s","offset":N */
	need = 8 + h->ts_len + 1 + h->members_len + 1 + tlen + 9 + flen +
	       (h->dir != IMT_DIR_NONE ? 22 + olen : 0);
	if (event_member_(ev, NULL, 0, need) != 0)
		return;
	d = ev->text + ev->len;
	memcpy(d, "\"ts\":\"", 6);
	memcpy(d + 6, h->ts, h->ts_len);
	d += 6 + h->ts_len;
	*d++ = '"';
	if (h->members_len > 0) {
		*d++ = ',';
		memcpy(d, h->members, h->members_len);
		d += h->members_len;
	}
	*d++ = ',';
	memcpy(d, type, tlen);
	d += tlen;
	memcpy(d, ",\"frame\":", 9);
	memcpy(d + 9, f, flen);
	d += 9 + flen;
	if (h->dir != IMT_DIR_NONE) {
		memcpy(d, h->dir == IMT_C2S ? ",\"dir\":\"c2s\",\"offset\":" :
		       ",\"dir\":\"s2c\",\"offset\":", 22);
		memcpy(d + 22, o, olen);
		d += 22 + olen;
	}
	ev->len = (size_t)(d - ev->text);
}

void event_put_ms_(struct imt_event *ev, int64_t ns)
{
	uint64_t mag = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t frac = mag % 1000000;
	char buf[EVENT_MS_MAX];
	char *end = buf + sizeof(buf);
	char *p = end;

	for (int i = 0; i < 6; i++) {
		*--p = (char)('0' + frac % 10);
		frac /= 10;
	}
	*--p = '.';
	p = dec_format_u64(p, mag / 1000000);
	if (ns < 0)
		*--p = '-';
	put(ev, p, (size_t)(end - p));
}

void event_open_k(struct imt_event *ev, const char *key, size_t klen, int array)
{
	uint32_t bit;

	if (ev->depth >= EVENT_MAX_DEPTH) {
		/* A programming error, not input: the tables nest two deep. */
		ev->failed = 1;
		return;
	}
	/* The depth is kept even when nothing is written (a muted or
	 * failed event), so that every event_close() has its opening. */
	if (event_member_(ev, key, klen, 1) == 0)
		ev->text[ev->len++] = array ? '[' : '{';
	ev->depth++;
	bit = 1u << ev->depth;
	ev->has_member &= ~bit;
	if (array)
		ev->is_array |= bit;
	else
		ev->is_array &= ~bit;
}

void event_close(struct imt_event *ev)
{
	uint32_t bit = 1u << ev->depth;

	if (ev->depth == 0)
		return;
	if (event_room(ev, 1) == 0)
		ev->text[ev->len++] = (ev->is_array & bit) ? ']' : '}';
	ev->depth--;
}
