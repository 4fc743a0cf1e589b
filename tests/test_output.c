/*
 * test_output.c - the event writer and the output stage.  The writer's
 * text must be exactly what json-c's own serializer writes for the same
 * object (the NDJSON contract, and the golden outputs, rest on it), its
 * strings valid UTF-8 with "\xNN" for other bytes; the selections
 * (--summary, --violations-only) must keep the right events, and the
 * json document and text formats must read events back whole.  The
 * human-readable formats write control characters as "\xNN", choose
 * what to print by the event's enum type, and the html report keeps
 * markup from the capture out of its page.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "event.h"
#include "out_int.h"
#include "output.h"

static struct imt_event ev;

static void start(enum imt_event_type type)
{
	event_begin(&ev, type, 0);
	event_ascii(&ev, "ts", "2026-01-01T00:00:00.000001Z", 27);
	event_u64(&ev, "session", 1);
	event_cstring(&ev, "type", event_type_name(type));
}

/* ev's text as a C string (caller frees). */
static char *text_of(void)
{
	char *t;

	ck_assert_int_eq(event_end(&ev), 0);
	t = malloc(ev.len + 1);
	memcpy(t, ev.text, ev.len);
	t[ev.len] = '\0';
	return t;
}

/* The writer's text is valid JSON that json-c writes back identically. */
static void assert_json_c_agrees(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	ck_assert_msg(o != NULL, "not JSON: %s", text);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), text);
	json_object_put(o);
}

/* Writes ev through an output into a memory buffer; returns it. */
static char *output_of(const struct out_options *opt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o;

	ck_assert_ptr_nonnull(fp);
	o = out_new(fp, opt);
	ck_assert_int_eq(event_end(&ev), 0);
	ck_assert_int_eq(out_event(o, &ev), 0);
	ck_assert_int_eq(out_finish(o), 0);
	out_free(o);
	fclose(fp);
	return buf;
}

START_TEST(strings_match_json_c)
{
	/* Every ASCII byte value, escapes, slashes, quotes, valid UTF-8. */
	char ascii[128];
	struct json_object *ref = json_object_new_object();
	char *t;

	for (int i = 0; i < 128; i++)
		ascii[i] = (char)(i == 0 ? 1 : i);
	start(EV_COMMAND);
	event_string(&ev, "bytes", ascii, sizeof(ascii));
	event_string(&ev, "nul", "a\0b", 3);
	event_cstring(&ev, "text", "a/b \"q\" \\ \t\r\n\b\f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	event_cstring(&ev, "empty", "");
	event_string(&ev, "none", NULL, 5);
	t = text_of();
	assert_json_c_agrees(t);
	/* And the same object built with json-c serializes to the same text. */
	json_object_object_add(ref, "ts", json_object_new_string("2026-01-01T00:00:00.000001Z"));
	json_object_object_add(ref, "session", json_object_new_int64(1));
	json_object_object_add(ref, "type", json_object_new_string("command"));
	json_object_object_add(ref, "bytes", json_object_new_string_len(ascii, 128));
	json_object_object_add(ref, "nul", json_object_new_string_len("a\0b", 3));
	json_object_object_add(ref, "text", json_object_new_string(
		"a/b \"q\" \\ \t\r\n\b\f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	json_object_object_add(ref, "empty", json_object_new_string(""));
	json_object_object_add(ref, "none", json_object_new_string(""));
	ck_assert_str_eq(json_object_to_json_string_ext(ref,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), t);
	json_object_put(ref);
	free(t);
}
END_TEST

/* One string through the writer; returns the JSON text of the value. */
static char *string_text(const char *p, size_t n)
{
	char *t, *v;

	event_begin(&ev, EV_RESPONSE, 0);
	event_string(&ev, "s", p, n);
	t = text_of();
	assert_json_c_agrees(t);
	/* {"s":VALUE} */
	v = strdup(t + 5);
	v[strlen(v) - 1] = '\0';
	free(t);
	return v;
}

START_TEST(invalid_utf8_becomes_hex_text)
{
	static const struct { const char *in; size_t n; const char *out; } cases[] = {
		{ "\xff", 1, "\"\\\\xFF\"" },
		{ "a\x80z", 3, "\"a\\\\x80z\"" },
		{ "\xc0\x80", 2, "\"\\\\xC0\\\\x80\"" },              /* overlong */
		{ "\xed\xa0\x80", 3, "\"\\\\xED\\\\xA0\\\\x80\"" },   /* surrogate */
		{ "\xf4\x90\x80\x80", 4, "\"\\\\xF4\\\\x90\\\\x80\\\\x80\"" }, /* > U+10FFFF */
		{ "\xe2\x82", 2, "\"\\\\xE2\\\\x82\"" },              /* cut short */
		{ "\xc3\xa9", 2, "\"\xc3\xa9\"" },                    /* valid */
		{ "\xc3", 1, "\"\\\\xC3\"" },
		{ "12345678\xff" "abcdefgh", 17, "\"12345678\\\\xFFabcdefgh\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *v = string_text(cases[i].in, cases[i].n);

		ck_assert_str_eq(v, cases[i].out);
		free(v);
	}
}
END_TEST

START_TEST(every_byte_at_every_position)
{
	/* The word-at-a-time paths (whole words, and the last few bytes as
	 * one) must not change any text: each byte value at each position
	 * of strings of 1 to 17 bytes gives the same as alone. */
	for (int c = 1; c < 256; c++) {
		char one = (char)c;
		char *alone = string_text(&one, 1);
		size_t an = strlen(alone) - 2;   /* without the quotes */

		for (size_t len = 1; len <= 17; len++) {
			for (size_t pos = 0; pos < len; pos++) {
				char s[17];
				char want[64];
				char *v, *src;

				memset(s, 'a', sizeof(s));
				s[pos] = one;
				snprintf(want, sizeof(want), "\"%.*s%.*s%.*s\"",
					 (int)pos, "aaaaaaaaaaaaaaaaa", (int)an,
					 alone + 1, (int)(len - 1 - pos),
					 "aaaaaaaaaaaaaaaaa");
				/* Exactly len bytes: a read past them is an
				 * error under AddressSanitizer. */
				src = malloc(len);
				ck_assert_ptr_nonnull(src);
				memcpy(src, s, len);
				v = string_text(src, len);
				free(src);
				ck_assert_str_eq(v, want);
				free(v);
			}
		}
		free(alone);
	}
}
END_TEST

START_TEST(numbers_and_nesting_match_json_c)
{
	char *t;

	start(EV_RESULT);
	event_u64(&ev, "zero", 0);
	event_i64(&ev, "neg", -42);
	event_i64(&ev, "min", INT64_MIN);
	event_i64(&ev, "max", INT64_MAX);
	event_u64(&ev, "big", UINT64_MAX);
	event_ms(&ev, "ms", 30000);
	event_ms(&ev, "whole", 1000000);
	event_ms(&ev, "back", -1500000);
	event_ms(&ev, "tiny", 1);
	event_bool(&ev, "yes", 1);
	event_bool(&ev, "no", 0);
	event_null(&ev, "null");
	event_object(&ev, "bytes");
	event_u64(&ev, "c2s", 12);
	event_array(&ev, "list");
	event_cstring(&ev, NULL, "IMAP4rev1");
	event_u64(&ev, NULL, 7);
	event_object(&ev, NULL);
	event_close(&ev);
	event_close(&ev);
	event_close(&ev);
	event_object(&ev, "empty_obj");
	event_close(&ev);
	event_array(&ev, "empty_arr");
	event_close(&ev);
	event_array(&ev, "left_open");
	event_bool(&ev, NULL, 1);
	t = text_of();
	assert_json_c_agrees(t);
	ck_assert_str_eq(t, "{\"ts\":\"2026-01-01T00:00:00.000001Z\",\"session\":1,"
		"\"type\":\"result\",\"zero\":0,\"neg\":-42,\"min\":-9223372036854775808,"
		"\"max\":9223372036854775807,\"big\":18446744073709551615,"
		"\"ms\":0.030000,\"whole\":1.000000,\"back\":-1.500000,\"tiny\":0.000001,"
		"\"yes\":true,\"no\":false,\"null\":null,"
		"\"bytes\":{\"c2s\":12,\"list\":[\"IMAP4rev1\",7,{}]},"
		"\"empty_obj\":{},\"empty_arr\":[],\"left_open\":[true]}");
	free(t);
}
END_TEST

START_TEST(muted_events_write_nothing)
{
	event_begin(&ev, EV_RESPONSE, 1);
	event_cstring(&ev, "name", "FETCH");
	event_object(&ev, "literals");
	event_u64(&ev, "count", 1);
	event_close(&ev);
	ck_assert_int_eq(event_end(&ev), 0);
	ck_assert_uint_eq(ev.len, 0);
	ck_assert_uint_eq(ev.depth, 0);
}
END_TEST

START_TEST(large_strings_grow_the_buffer)
{
	size_t n = 3u << 20;
	char *big = malloc(n);
	char *t;

	memset(big, '"', n);   /* each becomes two characters */
	start(EV_RESPONSE);
	event_string(&ev, "data", big, n);
	t = text_of();
	ck_assert_uint_eq(strlen(t), ev.len);
	ck_assert_uint_gt(ev.len, 2 * n);
	assert_json_c_agrees(t);
	free(t);
	free(big);
	/* The next event does not keep the huge buffer. */
	start(EV_RESPONSE);
	ck_assert_uint_le(ev.cap, 1u << 20);
}
END_TEST

START_TEST(event_types_have_names)
{
	ck_assert_str_eq(event_type_name(EV_SESSION_START), "session_start");
	ck_assert_str_eq(event_type_name(EV_CLIENT_DATA), "client_data");
	ck_assert_str_eq(event_type_name(EV_SESSION_END), "session_end");
	ck_assert_str_eq(event_type_name(EV__COUNT), "unknown");
}
END_TEST

START_TEST(ndjson_is_the_text_and_a_newline)
{
	struct out_options opt = { .format = OUT_NDJSON };
	char *out, *t;

	start(EV_COMMAND);
	event_cstring(&ev, "tag", "A1");
	t = text_of();
	out = output_of(&opt);
	ck_assert_uint_eq(strlen(out), strlen(t) + 1);
	ck_assert_int_eq(strncmp(out, t, strlen(t)), 0);
	ck_assert_int_eq(out[strlen(t)], '\n');
	free(out);
	free(t);
}
END_TEST

START_TEST(selections_keep_the_right_events)
{
	struct out_options summary = { .format = OUT_NDJSON, .summary = 1 };
	struct out_options vonly = { .format = OUT_NDJSON, .violations_only = 1 };
	char *out;

	start(EV_COMMAND);
	out = output_of(&vonly);
	ck_assert_str_eq(out, "");
	free(out);
	start(EV_SESSION_START);
	out = output_of(&vonly);
	ck_assert_ptr_nonnull(strstr(out, "session_start"));
	free(out);
	/* --summary ends with the totals object. */
	start(EV_RESPONSE);
	out = output_of(&summary);
	ck_assert_ptr_null(strstr(out, "response"));
	ck_assert_ptr_nonnull(strstr(out, "\"type\":\"totals\""));
	free(out);
}
END_TEST

START_TEST(max_severity_counts_filtered_events)
{
	/* --fail-on must see findings even when they are not written. */
	struct out_options summary = { .format = OUT_NDJSON, .summary = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o = out_new(fp, &summary);

	ck_assert_int_eq(out_wants(o, EV_VIOLATION), 0);
	event_begin(&ev, EV_VIOLATION, !out_wants(o, EV_VIOLATION));
	ev.severity = SEV_MEDIUM;
	event_end(&ev);
	ck_assert_int_eq(out_max_severity(o), -1);
	ck_assert_int_eq(out_event(o, &ev), 0);
	ck_assert_int_eq(out_max_severity(o), SEV_MEDIUM);
	out_free(o);
	fclose(fp);
	free(buf);
}
END_TEST

START_TEST(json_and_text_read_events_back)
{
	struct out_options json = { .format = OUT_JSON };
	struct out_options text = { .format = OUT_TEXT };
	struct json_object *doc, *sessions, *timeline, *e0;
	char *out;

	start(EV_RESULT);
	event_u64(&ev, "frame", 7);
	event_cstring(&ev, "tag", "A1");
	event_cstring(&ev, "status", "OK");
	event_cstring(&ev, "text", "done \xff");
	event_ms(&ev, "latency_ms", 1234567);
	out = output_of(&json);
	doc = json_tokener_parse(out);
	ck_assert_ptr_nonnull(doc);
	sessions = json_object_object_get(doc, "sessions");
	ck_assert_uint_eq(json_object_array_length(sessions), 1);
	timeline = json_object_object_get(json_object_array_get_idx(sessions, 0), "timeline");
	e0 = json_object_array_get_idx(timeline, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(e0, "text")), "done \\xFF");
	ck_assert_ptr_nonnull(strstr(out, "\"latency_ms\": 1.234567"));
	json_object_put(doc);
	free(out);

	start(EV_RESULT);
	event_u64(&ev, "frame", 7);
	event_cstring(&ev, "tag", "A1");
	event_cstring(&ev, "status", "OK");
	event_cstring(&ev, "text", "done");
	event_cstring(&ev, "command", "NOOP");
	event_ms(&ev, "latency_ms", 1234567);
	out = output_of(&text);
	ck_assert_ptr_nonnull(strstr(out, "A1 OK done  (NOOP 1.235 ms)"));
	free(out);
}
END_TEST

START_TEST(ecs_reads_keys_past_escaped_strings)
{
	struct out_options ecs = { .format = OUT_ECS };
	struct json_object *doc, *event;
	char *out;

	/* Strings ending in an escaped quote or backslash, and a nested
	 * object holding a key the head reads, come before the command. */
	start(EV_RESULT);
	event_cstring(&ev, "tag", "A1\\");
	event_cstring(&ev, "text", "say \"command\":\"X\" \\\"");
	event_object(&ev, "nested");
	event_cstring(&ev, "command", "WRONG");
	event_close(&ev);
	event_cstring(&ev, "command", "NOOP");
	event_cstring(&ev, "status", "NO");
	event_ms(&ev, "latency_ms", 1234567);
	out = output_of(&ecs);
	doc = json_tokener_parse(out);
	ck_assert_ptr_nonnull(doc);
	event = json_object_object_get(doc, "event");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(event, "action")), "NOOP");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(event, "outcome")), "failure");
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(event, "duration")), 1234567);
	json_object_put(doc);
	free(out);
}
END_TEST

/* The json document of interleaved sessions, events of all sizes (some
 * past what a session holds in memory, many past what all together
 * hold), session 0 findings and a repeated session_end: exactly what
 * json-c prints for the same document built as one object tree. */
static void json_document_matches_json_c(const char *tmpdir)
{
	struct out_options opt = { .format = OUT_JSON };
	struct json_object *ref = json_object_new_object(), *sessions = json_object_new_array();
	struct json_object *by_id = json_object_new_object();
	char *buf = NULL, *big = malloc(40000), key[16];
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o;

	if (tmpdir != NULL)
		setenv("TMPDIR", tmpdir, 1);
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', 40000);
	o = out_new(fp, &opt);
	/* 4 KiB held by a session, 24 KiB by all: most sessions go to the
	 * file through the latter. */
	out_json_set_holds(o->json, 4096, 24576);
	for (int i = 0; i < 1500; i++) {
		int sess = (i * 7) % 23, end = i >= 1400 && i % 5 == 0;
		enum imt_event_type type = end ? EV_SESSION_END : EV_RESPONSE;
		struct json_object *obj, *so, *tl;
		char *t;

		event_begin(&ev, type, 0);
		event_ascii(&ev, "ts", "2026-01-01T00:00:00.000001Z", 27);
		if (sess > 0) {
			event_u64(&ev, "session", (uint64_t)sess);
			event_cstring(&ev, "client", "[::1]:1\"\n");
		}
		event_cstring(&ev, "type", event_type_name(type));
		event_u64(&ev, "frame", (uint64_t)i);
		event_string(&ev, "data", big, (size_t)(i % 97 == 0 ? 40000 : i % 300));
		event_array(&ev, "list");
		event_u64(&ev, NULL, (uint64_t)i);
		event_object(&ev, NULL);
		event_close(&ev);
		event_close(&ev);
		event_ms(&ev, "latency_ms", i * 1000);
		t = text_of();
		ck_assert_int_eq(out_event(o, &ev), 0);
		obj = json_tokener_parse(t);
		ck_assert_ptr_nonnull(obj);
		snprintf(key, sizeof(key), "%d", sess);
		if (!json_object_object_get_ex(by_id, key, &so)) {
			so = json_object_new_object();
			json_object_object_add(so, "session",
				json_object_get(json_object_object_get(obj, "session")));
			json_object_object_add(so, "client",
				json_object_get(json_object_object_get(obj, "client")));
			json_object_object_add(so, "server",
				json_object_get(json_object_object_get(obj, "server")));
			json_object_object_add(so, "timeline", json_object_new_array());
			json_object_array_add(sessions, so);
			json_object_object_add(by_id, key, json_object_get(so));
		}
		if (end)
			json_object_object_add(so, "summary", json_object_get(obj));
		tl = json_object_object_get(so, "timeline");
		json_object_array_add(tl, obj);
		free(t);
	}
	out_capture(o, "a \"file\"\n", NULL);
	ck_assert_int_eq(out_finish(o), 0);
	out_free(o);
	fclose(fp);
	json_object_object_add(ref, "captures", json_object_new_array());
	json_object_array_add(json_object_object_get(ref, "captures"), json_object_new_object());
	json_object_object_add(json_object_array_get_idx(json_object_object_get(ref, "captures"), 0),
			       "file", json_object_new_string("a \"file\"\n"));
	json_object_object_add(ref, "sessions", sessions);
	json_object_object_add(ref, "totals", json_object_new_object());
	{
		const char *want = json_object_to_json_string_ext(ref, JSON_C_TO_STRING_PRETTY |
			JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);

		ck_assert_uint_eq(len, strlen(want) + 1);
		ck_assert_int_eq(memcmp(buf, want, len - 1), 0);
	}
	json_object_put(ref);
	json_object_put(by_id);
	free(buf);
	free(big);
	unsetenv("TMPDIR");
}

START_TEST(json_document_streams_as_json_c_prints_it)
{
	json_document_matches_json_c(NULL);
	/* No temporary file: everything held, the same document. */
	json_document_matches_json_c("/nonexistent/dir");
}
END_TEST

START_TEST(json_document_without_sessions)
{
	struct out_options opt = { .format = OUT_JSON };
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o = out_new(fp, &opt);

	ck_assert_int_eq(out_finish(o), 0);
	out_free(o);
	fclose(fp);
	ck_assert_str_eq(buf, "{\n  \"captures\": [\n  ],\n  \"sessions\": [\n  ],\n  \"totals\": {\n  }\n}\n");
	free(buf);
}
END_TEST

/* The ECS document of a message event with these headers, parsed. */
static struct json_object *ecs_message(const char *from, const char *date)
{
	struct out_options ecs = { .format = OUT_ECS };
	struct json_object *doc;
	char *out;

	start(EV_MESSAGE);
	event_cstring(&ev, "from", from);
	event_null(&ev, "to");
	event_cstring(&ev, "date", date);
	event_array(&ev, "attachments");
	event_object(&ev, NULL);
	event_cstring(&ev, "part", "2");
	event_null(&ev, "filename");
	event_cstring(&ev, "content_type", "text/csv");
	event_u64(&ev, "size", 58);
	event_cstring(&ev, "sha256", "945f");
	event_close(&ev);
	event_close(&ev);
	out = output_of(&ecs);
	doc = json_tokener_parse(out);
	ck_assert_ptr_nonnull(doc);
	free(out);
	return doc;
}

/* email.* of the document, as compact JSON text. */
static const char *email_of(struct json_object *doc)
{
	return json_object_to_json_string_ext(json_object_object_get(doc, "email"),
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

START_TEST(ecs_email_addresses_and_dates)
{
	struct json_object *doc;

	/* A comma in a quoted name, a comment, a group, an address without
	 * an '@': only the addresses, in order. */
	doc = ecs_message("\"Builder, Bob\" <bob@x.org>, alice@example.org (Alice, A.), "
			  "Team: c@d.org, e@f.org;, undisclosed-recipients:;",
			  "1 Jan 99 00:00 EST");
	ck_assert_str_eq(email_of(doc),
		"{\"from\":{\"address\":[\"bob@x.org\",\"alice@example.org\",\"c@d.org\",\"e@f.org\"]},"
		"\"origination_timestamp\":\"1999-01-01T00:00:00-05:00\","
		"\"attachments\":[{\"file\":{\"mime_type\":\"text/csv\",\"size\":58,"
		"\"hash\":{\"sha256\":\"945f\"}}}]}");
	json_object_put(doc);
	/* Not a date (29 February of a common year, an unknown zone, text
	 * after the zone): no origination_timestamp; no address: no from. */
	doc = ecs_message("undisclosed-recipients:;", "Wed, 29 Feb 2023 10:00:00 +0000");
	ck_assert_ptr_null(strstr(email_of(doc), "origination_timestamp"));
	ck_assert_ptr_null(strstr(email_of(doc), "from"));
	json_object_put(doc);
	doc = ecs_message("a@b.c", "Thu, 29 Feb 2024 23:59:60 XYZ");
	ck_assert_ptr_null(strstr(email_of(doc), "origination_timestamp"));
	json_object_put(doc);
	doc = ecs_message("a@b.c", "Thu, 29 Feb 2024 23:59:59 +0000 junk");
	ck_assert_ptr_null(strstr(email_of(doc), "origination_timestamp"));
	json_object_put(doc);
	doc = ecs_message("<a@b.c>", "Thu, 29 Feb 2024 23:59 +0530 (IST)");
	ck_assert_ptr_nonnull(strstr(email_of(doc), "\"2024-02-29T23:59:00+05:30\""));
	ck_assert_ptr_nonnull(strstr(email_of(doc), "[\"a@b.c\"]"));
	json_object_put(doc);
}
END_TEST

START_TEST(controls_become_hex_text)
{
	char out[64];
	unsigned char in[2];

	/* Every single byte: C0, DEL as \xNN; everything else as it is. */
	for (int b = 0; b < 256; b++) {
		char want[8];

		in[0] = (unsigned char)b;
		out_escape_controls(out, sizeof(out), (const char *)in, 1);
		if (b < 0x20 || b == 0x7f)
			snprintf(want, sizeof(want), "\\x%02X", b);
		else
			snprintf(want, sizeof(want), "%c", b);
		ck_assert_str_eq(out, want);
	}
	/* C1 controls are the UTF-8 pairs C2 80..C2 9F: both bytes escaped. */
	for (int b = 0x80; b <= 0xbf; b++) {
		char want[16];

		in[0] = 0xc2;
		in[1] = (unsigned char)b;
		out_escape_controls(out, sizeof(out), (const char *)in, 2);
		if (b <= 0x9f)
			snprintf(want, sizeof(want), "\\xC2\\x%02X", b);
		else
			snprintf(want, sizeof(want), "\xc2%c", b);
		ck_assert_str_eq(out, want);
	}
	/* A terminal title sequence, with a NUL inside: all of it kept. */
	ck_assert_uint_eq(out_escape_controls(out, sizeof(out), "a\033]0;x\007\0b", 9), 18);
	ck_assert_str_eq(out, "a\\x1B]0;x\\x07\\x00b");
	/* A unit that does not fit whole is left out, never cut. */
	ck_assert_uint_eq(out_escape_controls(out, 6, "ab\033c", 4), 2);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(out_escape_controls(out, 7, "ab\033c", 4), 6);
	ck_assert_str_eq(out, "ab\\x1B");
}
END_TEST

START_TEST(text_follows_the_enum_and_escapes)
{
	struct out_options text = { .format = OUT_TEXT };
	char *out;

	/* The enum says state; a "type" string saying otherwise is ignored. */
	event_begin(&ev, EV_STATE, 0);
	event_ascii(&ev, "ts", "2026-01-01T00:00:00.000001Z", 27);
	event_u64(&ev, "session", 1);
	event_cstring(&ev, "type", "command");
	event_u64(&ev, "frame", 3);
	event_cstring(&ev, "from", "authenticated");
	event_cstring(&ev, "to", "selected");
	event_cstring(&ev, "cause", "a\033[2J");
	out = output_of(&text);
	ck_assert_ptr_nonnull(strstr(out, "state authenticated -> selected (a\\x1B[2J)"));
	ck_assert_ptr_null(strchr(out, '\033'));
	free(out);
}
END_TEST

START_TEST(html_keeps_markup_out_of_the_page)
{
	struct out_options html = { .format = OUT_HTML };
	char *buf = NULL, *s;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o = out_new(fp, &html);
	static const enum imt_event_type types[] = {
		EV_SESSION_START, EV_COMMAND, EV_VIOLATION, EV_RESULT, EV_SESSION_END,
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		start(types[i]);
		event_u64(&ev, "frame", i + 1);
		event_cstring(&ev, "tag", "</script><script>alert(1)</script>");
		event_cstring(&ev, "command", "<img src=x onerror=alert(2)>");
		event_cstring(&ev, "status", "NO");
		event_cstring(&ev, "user", "\033]0;x\007&amp;");
		if (types[i] == EV_VIOLATION) {
			event_cstring(&ev, "id", "auth-failed");
			event_cstring(&ev, "severity", "info");
			ev.severity = SEV_INFO;
		}
		ck_assert_int_eq(event_end(&ev), 0);
		ck_assert_int_eq(out_event(o, &ev), 0);
	}
	out_read_stats(o, 5, 500);
	ck_assert_int_eq(out_finish(o), 0);
	out_free(o);
	fclose(fp);
	ck_assert_ptr_nonnull(strstr(buf, "<meta http-equiv=\"Content-Security-Policy\" "
				  "content=\"default-src 'none'; script-src 'sha256-"));
	/* the strings are there, escaped; none as markup */
	ck_assert_ptr_nonnull(strstr(buf, "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"));
	ck_assert_ptr_nonnull(strstr(buf, "\\u003cimg src=x onerror=alert(2)\\u003e"));
	ck_assert_ptr_nonnull(strstr(buf, "\\\\x1B]0;x\\\\x07\\u0026amp;"));
	ck_assert_ptr_null(strstr(buf, "alert(1)</script>"));
	ck_assert_ptr_null(strstr(buf, "<img"));
	/* one session, in the table and drawn, its finding counted */
	ck_assert_ptr_nonnull(strstr(buf, "\"frames\":5,\"bytes\":500"));
	ck_assert_ptr_nonnull(strstr(buf, "\"findings\":{\"auth-failed\":[1,0]}"));
	s = strstr(buf, "id=\"imt-details\">[{\"id\":1,\"rows\":[{\"k\":\"c\"");
	ck_assert_ptr_nonnull(s);
	free(buf);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, strings_match_json_c);
	tcase_add_test(tc, invalid_utf8_becomes_hex_text);
	tcase_add_test(tc, every_byte_at_every_position);
	tcase_add_test(tc, numbers_and_nesting_match_json_c);
	tcase_add_test(tc, muted_events_write_nothing);
	tcase_add_test(tc, large_strings_grow_the_buffer);
	tcase_add_test(tc, event_types_have_names);
	tcase_add_test(tc, ndjson_is_the_text_and_a_newline);
	tcase_add_test(tc, selections_keep_the_right_events);
	tcase_add_test(tc, max_severity_counts_filtered_events);
	tcase_add_test(tc, json_and_text_read_events_back);
	tcase_add_test(tc, ecs_reads_keys_past_escaped_strings);
	tcase_add_test(tc, json_document_streams_as_json_c_prints_it);
	tcase_add_test(tc, json_document_without_sessions);
	tcase_add_test(tc, ecs_email_addresses_and_dates);
	tcase_add_test(tc, controls_become_hex_text);
	tcase_add_test(tc, text_follows_the_enum_and_escapes);
	tcase_add_test(tc, html_keeps_markup_out_of_the_page);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc = imt_check_main(output_suite());

	event_release(&ev);
	return rc;
}
