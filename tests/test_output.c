/*
 * test_output.c - the output stage.  Its NDJSON writer must produce
 * exactly what json-c's own serializer produces for the same objects,
 * and the selections (--summary, --violations-only) must keep the right
 * events.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "output.h"

/* Writes ev through an NDJSON output into a memory buffer; returns it. */
static char *ndjson_of(struct json_object *ev, const struct out_options *opt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o;

	ck_assert_ptr_nonnull(fp);
	o = out_new(fp, opt);
	ck_assert_int_eq(out_event(o, ev), 0);
	ck_assert_int_eq(out_finish(o), 0);
	out_free(o);
	fclose(fp);
	return buf;
}

static struct json_object *event(const char *type)
{
	struct json_object *ev = json_object_new_object();

	json_object_object_add(ev, "ts", json_object_new_string("2026-01-01T00:00:00.000001Z"));
	json_object_object_add(ev, "session", json_object_new_int64(1));
	json_object_object_add(ev, "type", json_object_new_string(type));
	return ev;
}

/* The writer's line equals json-c's PLAIN|NOSLASHESCAPE text plus "\n". */
static void assert_same_as_json_c(struct json_object *ev)
{
	struct out_options opt = { .format = OUT_NDJSON };
	const char *ref = json_object_to_json_string_ext(ev,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *want = malloc(strlen(ref) + 2);
	char *got;

	sprintf(want, "%s\n", ref);
	got = ndjson_of(json_object_get(ev), &opt);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
}

START_TEST(ndjson_strings_match_json_c)
{
	/* Every byte value, escapes, slashes, quotes, UTF-8 and \xNN text. */
	char all[256];
	struct json_object *ev = event("command");

	for (int i = 0; i < 256; i++)
		all[i] = (char)(i == 0 ? 1 : i);
	json_object_object_add(ev, "bytes", json_object_new_string_len(all, 256));
	json_object_object_add(ev, "nul", json_object_new_string_len("a\0b", 3));
	json_object_object_add(ev, "text",
			       json_object_new_string("a/b \"q\" \\ \t\r\n \xc3\xa9 \\xFF"));
	json_object_object_add(ev, "empty", json_object_new_string(""));
	assert_same_as_json_c(ev);
	json_object_put(ev);
}
END_TEST

START_TEST(ndjson_numbers_match_json_c)
{
	struct json_object *ev = event("result");
	struct json_object *nested = json_object_new_object();
	struct json_object *arr = json_object_new_array();

	json_object_object_add(ev, "zero", json_object_new_int64(0));
	json_object_object_add(ev, "neg", json_object_new_int64(-42));
	json_object_object_add(ev, "min", json_object_new_int64(INT64_MIN));
	json_object_object_add(ev, "max", json_object_new_int64(INT64_MAX));
	json_object_object_add(ev, "big", json_object_new_uint64(UINT64_MAX));
	json_object_object_add(ev, "ms", json_object_new_double_s(0.03, "0.030000"));
	json_object_object_add(ev, "raw_double", json_object_new_double(1.5));
	json_object_object_add(ev, "yes", json_object_new_boolean(1));
	json_object_object_add(ev, "no", json_object_new_boolean(0));
	json_object_object_add(ev, "null", NULL);
	json_object_array_add(arr, json_object_new_string("IMAP4rev1"));
	json_object_array_add(arr, json_object_new_int64(7));
	json_object_object_add(nested, "c2s", json_object_new_int64(12));
	json_object_object_add(nested, "list", arr);
	json_object_object_add(ev, "bytes", nested);
	json_object_object_add(ev, "empty_obj", json_object_new_object());
	json_object_object_add(ev, "empty_arr", json_object_new_array());
	assert_same_as_json_c(ev);
	json_object_put(ev);
}
END_TEST

START_TEST(selections_keep_the_right_events)
{
	struct out_options summary = { .format = OUT_NDJSON, .summary = 1 };
	struct out_options vonly = { .format = OUT_NDJSON, .violations_only = 1 };
	char *out;

	out = ndjson_of(event("command"), &vonly);
	ck_assert_str_eq(out, "");
	free(out);
	out = ndjson_of(event("session_start"), &vonly);
	ck_assert_ptr_nonnull(strstr(out, "session_start"));
	free(out);
	/* --summary ends with the totals object. */
	out = ndjson_of(event("response"), &summary);
	ck_assert_ptr_null(strstr(out, "response"));
	ck_assert_ptr_nonnull(strstr(out, "\"type\":\"totals\""));
	free(out);
}
END_TEST

START_TEST(max_severity_counts_filtered_events)
{
	/* --fail-on must see findings even when they are not written. */
	struct out_options summary = { .format = OUT_NDJSON, .summary = 1 };
	struct json_object *ev = event("violation");
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	struct output *o = out_new(fp, &summary);

	json_object_object_add(ev, "severity", json_object_new_string("medium"));
	ck_assert_int_eq(out_max_severity(o), -1);
	out_event(o, ev);
	ck_assert_int_eq(out_max_severity(o), SEV_MEDIUM);
	out_free(o);
	fclose(fp);
	free(buf);
}
END_TEST

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *tc = tcase_create("output");

	tcase_add_test(tc, ndjson_strings_match_json_c);
	tcase_add_test(tc, ndjson_numbers_match_json_c);
	tcase_add_test(tc, selections_keep_the_right_events);
	tcase_add_test(tc, max_severity_counts_filtered_events);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(output_suite());
}
