/*
 * test_extract.c - the extraction directory writer on its own.
 *
 * Objects are written whole, one byte at a time and split at every
 * offset, and must give the same file and the same SHA-256 (computed
 * here independently, in one call).  Gaps, cuts, caps, names that try
 * to leave the directory, existing files and symbolic links in the way,
 * an unusable directory and a failing write are each checked, and every
 * manifest record is read back with json-c and validated against
 * docs/extract-manifest.schema.json.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "check_main.h"
#include "extract.h"
#include "test_files.h"

/* ---- helpers ----------------------------------------------------------------- */

/* The manifest's records, parsed. */
static size_t manifest(const char *dir, json_object **recs, size_t max)
{
	size_t len, n = 0;
	unsigned char *text = tf_slurp(dir, "manifest.ndjson", &len);
	char *line = (char *)text;

	text[len] = '\0';
	while (*line != '\0') {
		char *nl = strchr(line, '\n');

		ck_assert_ptr_nonnull(nl);
		*nl = '\0';
		ck_assert_uint_lt(n, max);
		recs[n] = json_tokener_parse(line);
		ck_assert_msg(recs[n] != NULL, "record not JSON: %s", line);
		n++;
		line = nl + 1;
	}
	free(text);
	return n;
}

static void put_all(json_object **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_object_put(recs[i]);
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no field %s", key);
	return v;
}

static const char *str_field(json_object *o, const char *key)
{
	return json_object_get_string(field(o, key));
}

static uint64_t u64_field(json_object *o, const char *key)
{
	return (uint64_t)json_object_get_int64(field(o, key));
}

struct finding_log {
	int n;
	char limit[8][32];
	uint64_t session[8];
};

static void on_finding(void *user, uint64_t session, const struct imt_finding_report *f)
{
	struct finding_log *log = user;

	ck_assert_int_eq(f->id, F_LIMIT_REACHED);
	ck_assert_ptr_nonnull(f->limit);
	ck_assert_ptr_nonnull(f->detail);
	if (log->n < 8) {
		snprintf(log->limit[log->n], sizeof(log->limit[0]), "%s", f->limit);
		log->session[log->n] = session;
	}
	log->n++;
}

static struct extract_meta fetch_meta(const char *section, uint64_t size)
{
	struct extract_meta m = {
		.session = 7, .client = "192.0.2.1:50000", .server = "192.0.2.2:143",
		.dir = 1, .kind = EXTRACT_FETCH, .command = "UID FETCH",
		.tag = "A5", .tag_len = 2, .mailbox = "INBOX", .mailbox_len = 5,
		.has_msn = 1, .msn = 3, .has_uid = 1, .uid = 42,
		.section = section, .section_len = section != NULL ? strlen(section) : 0,
		.declared_size = size, .first_frame = 10,
		.ts = "2026-11-22T04:36:07.949549Z",
	};

	return m;
}

static struct extract *open_dir(const char *dir, const struct imt_limits *lim,
				struct finding_log *log)
{
	struct imt_limits def;
	char err[512];
	struct extract *x;

	if (lim == NULL) {
		imt_limits_default(&def);
		lim = &def;
	}
	x = extract_open(dir, lim, on_finding, log, err, sizeof(err));
	ck_assert_msg(x != NULL, "extract_open: %s", err);
	return x;
}

static unsigned char *pattern(size_t n)
{
	unsigned char *p = malloc(n);
	uint32_t v = 2463534242u;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) {
		v ^= v << 13;
		v ^= v >> 17;
		v ^= v << 5;
		p[i] = (unsigned char)v;
	}
	return p;
}

/* Writes data as one object in chunks of `step` bytes (split at `split`
 * first when step is 0); returns the result, the path copied to path_r. */
static struct extract_result write_object(struct extract *x, const unsigned char *data,
					  size_t n, size_t step, size_t split,
					  char *path_r, size_t path_size)
{
	struct extract_meta m = fetch_meta("BODY[]", n);
	struct extract_obj *o = extract_begin(x, &m);
	struct extract_result res;

	ck_assert_ptr_nonnull(o);
	if (step == 0) {
		ck_assert_int_eq(extract_data(o, data, split, 11), 0);
		ck_assert_int_eq(extract_data(o, data + split, n - split, 12), 0);
	} else {
		for (size_t i = 0; i < n; i += step)
			ck_assert_int_eq(extract_data(o, data + i,
						      n - i < step ? n - i : step, 11 + i / step), 0);
	}
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	snprintf(path_r, path_size, "%s", res.path);
	return res;
}

/* ---- streaming ------------------------------------------------------------- */

START_TEST(whole_bytewise_and_every_split_agree)
{
	const size_t big = 200000, small = 300;
	unsigned char *data = pattern(big);
	char *dir = tf_make_dir("imt-extract"), expect[65], path[256];
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_result r;
	unsigned char *got;
	size_t len;

	/* Large: whole, one byte at a time, in odd chunks around the
	 * write buffer's size. */
	tf_sha_hex(data, big, expect);
	const size_t steps[] = { big, 1, 7, 32767, 32768, 32769, 65536 };
	for (size_t i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
		r = write_object(x, data, big, steps[i], 0, path, sizeof(path));
		ck_assert_str_eq(r.sha256, expect);
		ck_assert_uint_eq(r.size, big);
		ck_assert(r.complete && r.whole);
		got = tf_slurp(dir, path, &len);
		ck_assert_uint_eq(len, big);
		ck_assert_mem_eq(got, data, big);
		free(got);
	}
	/* Small: split at every offset. */
	tf_sha_hex(data, small, expect);
	for (size_t split = 0; split <= small; split++) {
		r = write_object(x, data, small, 0, split, path, sizeof(path));
		ck_assert_str_eq(r.sha256, expect);
		got = tf_slurp(dir, path, &len);
		ck_assert_uint_eq(len, small);
		ck_assert_mem_eq(got, data, small);
		free(got);
	}
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
	free(data);
}
END_TEST

START_TEST(manifest_record_fields)
{
	char *dir = tf_make_dir("imt-extract"), expect[65], path[256];
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_meta m = fetch_meta("BODY[]", 11);
	struct extract_obj *o;
	struct extract_result res;
	json_object *recs[4], *partial;

	m.mailbox = "Entw\xc3\xbcrfe \"x\"\x01";
	m.mailbox_len = strlen(m.mailbox);
	m.has_uid = 0;
	o = extract_begin(x, &m);
	/* The UID came after the body in the response. */
	extract_set_uid(o, 42);
	ck_assert_int_eq(extract_data(o, "hello", 5, 20), 0);
	ck_assert_int_eq(extract_data(o, " world", 6, 21), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	snprintf(path, sizeof(path), "%s", res.path);
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	ck_assert_uint_eq(manifest(dir, recs, 4), 1);
	tf_sha_hex("hello world", 11, expect);
	ck_assert_str_eq(str_field(recs[0], "record"), "object");
	ck_assert_str_eq(str_field(recs[0], "path"), path);
	ck_assert_uint_eq(u64_field(recs[0], "session"), 7);
	ck_assert_str_eq(str_field(recs[0], "client"), "192.0.2.1:50000");
	ck_assert_str_eq(str_field(recs[0], "server"), "192.0.2.2:143");
	ck_assert_str_eq(str_field(recs[0], "dir"), "s2c");
	ck_assert_str_eq(str_field(recs[0], "kind"), "fetch");
	ck_assert_str_eq(str_field(recs[0], "command"), "UID FETCH");
	ck_assert_str_eq(str_field(recs[0], "tag"), "A5");
	ck_assert_str_eq(str_field(recs[0], "mailbox"), "Entw\xc3\xbcrfe \"x\"\x01");
	ck_assert_uint_eq(u64_field(recs[0], "msn"), 3);
	ck_assert_uint_eq(u64_field(recs[0], "uid"), 42);
	ck_assert_str_eq(str_field(recs[0], "section"), "BODY[]");
	partial = field(recs[0], "partial");
	ck_assert(json_object_is_type(partial, json_type_null));
	ck_assert_uint_eq(u64_field(recs[0], "first_frame"), 10);
	ck_assert_uint_eq(u64_field(recs[0], "last_frame"), 21);
	ck_assert_str_eq(str_field(recs[0], "ts"), "2026-11-22T04:36:07.949549Z");
	ck_assert_uint_eq(u64_field(recs[0], "declared_size"), 11);
	ck_assert_uint_eq(u64_field(recs[0], "size"), 11);
	ck_assert_str_eq(str_field(recs[0], "sha256"), expect);
	ck_assert(json_object_get_boolean(field(recs[0], "complete")));
	ck_assert(json_object_get_boolean(field(recs[0], "whole_message")));
	ck_assert_uint_eq(json_object_array_length(field(recs[0], "reasons")), 0);
	ck_assert_uint_eq(json_object_array_length(field(recs[0], "missing")), 0);
	put_all(recs, 1);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
}
END_TEST

/* ---- gaps and cuts ------------------------------------------------------------ */

START_TEST(gap_keeps_offsets_and_is_listed)
{
	unsigned char *data = pattern(300), *got, expect_bytes[300];
	char *dir = tf_make_dir("imt-extract"), expect[65];
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_meta m = fetch_meta("BODY[]", 300);
	struct extract_obj *o = extract_begin(x, &m);
	struct extract_result res;
	json_object *recs[4], *missing, *r0;
	size_t len;

	ck_assert_int_eq(extract_data(o, data, 100, 11), 0);
	ck_assert_int_eq(extract_gap(o, 100, 50), 0);
	ck_assert_int_eq(extract_data(o, data + 150, 100, 13), 0);
	/* The rest is missing too: the file still ends at 300. */
	ck_assert_int_eq(extract_gap(o, 250, 50), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	memcpy(expect_bytes, data, 300);
	memset(expect_bytes + 100, 0, 50);
	memset(expect_bytes + 250, 0, 50);
	tf_sha_hex(expect_bytes, 300, expect);
	ck_assert_str_eq(res.sha256, expect);
	ck_assert(!res.complete);
	ck_assert_uint_eq(res.reasons, EXTRACT_REASON_BIT(EXTRACT_R_GAP));
	got = tf_slurp(dir, res.path, &len);
	ck_assert_uint_eq(len, 300);
	ck_assert_mem_eq(got, expect_bytes, 300);
	free(got);
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	ck_assert_uint_eq(manifest(dir, recs, 4), 1);
	r0 = recs[0];
	missing = field(r0, "missing");
	ck_assert_uint_eq(json_object_array_length(missing), 2);
	ck_assert_uint_eq(u64_field(json_object_array_get_idx(missing, 0), "offset"), 100);
	ck_assert_uint_eq(u64_field(json_object_array_get_idx(missing, 0), "length"), 50);
	ck_assert_uint_eq(u64_field(json_object_array_get_idx(missing, 1), "offset"), 250);
	ck_assert_uint_eq(u64_field(json_object_array_get_idx(missing, 1), "length"), 50);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(field(r0, "reasons"), 0)),
			 "gap");
	put_all(recs, 1);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
	free(data);
}
END_TEST

START_TEST(cut_by_capture_end_reset_and_partial)
{
	char *dir = tf_make_dir("imt-extract");
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_meta m = fetch_meta("BODY[]", 1000);
	struct extract_obj *o;
	struct extract_result res;
	json_object *recs[8], *p;

	o = extract_begin(x, &m);
	ck_assert_int_eq(extract_data(o, "0123456789", 10, 11), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_CAPTURE_END, &res), 0);
	ck_assert(!res.complete);
	ck_assert_uint_eq(res.reasons, EXTRACT_REASON_BIT(EXTRACT_R_CAPTURE_END));
	ck_assert_uint_eq(res.size, 10);

	o = extract_begin(x, &m);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_RESET, &res), 0);
	ck_assert_uint_eq(res.reasons, EXTRACT_REASON_BIT(EXTRACT_R_RESET));

	/* A partial fetch is complete as bytes but not a whole message. */
	m = fetch_meta("BODY[]<100>", 4);
	m.has_partial_length = 1;
	m.partial_length = 4;
	o = extract_begin(x, &m);
	ck_assert_int_eq(extract_data(o, "abcd", 4, 11), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	ck_assert_uint_eq(res.reasons, EXTRACT_REASON_BIT(EXTRACT_R_PARTIAL));
	ck_assert(!res.whole);
	ck_assert_ptr_nonnull(strstr(res.path, ".part"));

	/* An object left open is ended by extract_close(). */
	m = fetch_meta("BODY[TEXT]", 50);
	o = extract_begin(x, &m);
	ck_assert_int_eq(extract_data(o, "abc", 3, 11), 0);
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);

	ck_assert_uint_eq(manifest(dir, recs, 8), 4);
	p = field(recs[2], "partial");
	ck_assert_uint_eq(u64_field(p, "origin"), 100);
	ck_assert_uint_eq(u64_field(p, "length"), 4);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(field(recs[3], "reasons"), 0)),
			 "capture-end");
	ck_assert(!json_object_get_boolean(field(recs[3], "whole_message")));
	put_all(recs, 4);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
}
END_TEST

/* ---- names and safety --------------------------------------------------------- */

START_TEST(tricky_sections_stay_inside)
{
	static const char *const sections[] = {
		"../../etc/passwd", "/etc/passwd", "BODY[HEADER.FIELDS (FROM TO)]",
		"BODY[1.2]<0>", ".hidden", "a\nb\rc\x01\x7f\xff", "..", "",
		"BODY[\\\\server\\share]",
	};
	char *dir = tf_make_dir("imt-extract"), longsec[2000];
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_result res;
	struct stat sb;
	size_t n = sizeof(sections) / sizeof(*sections);

	memset(longsec, '/', sizeof(longsec) - 1);
	longsec[sizeof(longsec) - 1] = '\0';
	for (size_t i = 0; i <= n; i++) {
		const char *s = i < n ? sections[i] : longsec;
		struct extract_meta m = fetch_meta(s, 1);
		struct extract_obj *o;

		m.section_len = strlen(s);
		o = extract_begin(x, &m);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(extract_data(o, "x", 1, 11), 0);
		ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
		ck_assert_ptr_null(strchr(res.path, '/'));
		ck_assert_int_ne(res.path[0], '.');
		ck_assert_uint_lt(strlen(res.path), 128);
		for (const char *c = res.path; *c != '\0'; c++)
			ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789._-", *c) != NULL, "bad byte in %s", res.path);
		ck_assert_int_eq(fstatat(AT_FDCWD, dir, &sb, 0), 0);
	}
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	/* The objects and the manifest, nothing else. */
	ck_assert_int_eq(tf_count_entries(dir), (int)n + 2);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
}
END_TEST

START_TEST(existing_files_and_links_are_not_overwritten)
{
	char *dir = tf_make_dir("imt-extract"), first[256], path[512], outside[64], target[300];
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_result r1, r2;
	unsigned char *got;
	size_t len;
	json_object *recs[4];
	int fd;

	r1 = write_object(x, (const unsigned char *)"first", 5, 5, 0, first, sizeof(first));
	(void)r1;
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);

	/* A second run numbers its objects from 1 again: the same name is
	 * taken, so the next free one is used.  A symbolic link placed on
	 * the name after that is not followed. */
	snprintf(outside, sizeof(outside), "/tmp/imt-outside-XXXXXX");
	fd = mkstemp(outside);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);
	snprintf(target, sizeof(target), "%.*s-1.eml", (int)(strlen(first) - 4), first);
	snprintf(path, sizeof(path), "%s/%s", dir, target);
	ck_assert_int_eq(symlink(outside, path), 0);

	x = open_dir(dir, NULL, NULL);
	r2 = write_object(x, (const unsigned char *)"second", 6, 6, 0, path, sizeof(path));
	ck_assert_str_ne(r2.path, first);
	ck_assert_str_ne(r2.path, target);
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);

	got = tf_slurp(dir, first, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(got, "first", 5);
	free(got);
	got = tf_slurp(dir, path, &len);
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(got, "second", 6);
	free(got);
	got = tf_slurp(NULL, outside, &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(got, "keep", 4);
	free(got);
	/* The manifest was continued, not replaced. */
	ck_assert_uint_eq(manifest(dir, recs, 4), 2);
	put_all(recs, 2);
	unlink(outside);
	tf_remove_tree(dir);
}
END_TEST

START_TEST(unusable_directory_is_a_clear_error)
{
	struct imt_limits lim;
	char err[512], file[64], bad[128], *dir;
	int fd;

	imt_limits_default(&lim);
	snprintf(file, sizeof(file), "/tmp/imt-file-XXXXXX");
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* A directory below a regular file cannot exist. */
	snprintf(bad, sizeof(bad), "%s/sub", file);
	err[0] = '\0';
	ck_assert_ptr_null(extract_open(bad, &lim, NULL, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, bad));
	ck_assert_ptr_nonnull(strstr(err, "Not a directory"));
	/* The file itself is not a directory either. */
	ck_assert_ptr_null(extract_open(file, &lim, NULL, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, file));
	/* A manifest that is a symbolic link is not followed. */
	dir = tf_make_dir("imt-extract");
	snprintf(bad, sizeof(bad), "%s/manifest.ndjson", dir);
	ck_assert_int_eq(symlink(file, bad), 0);
	ck_assert_ptr_null(extract_open(dir, &lim, NULL, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, bad));
	tf_remove_tree(dir);
	unlink(file);
}
END_TEST

START_TEST(write_failure_names_the_file)
{
	char *dir = tf_make_dir("imt-extract"), err[512];
	unsigned char *data = pattern(1 << 20);
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_meta m = fetch_meta("BODY[]", 1 << 20);
	struct extract_obj *o;
	struct rlimit rl;
	json_object *recs[2], *reasons;
	int rc = 0;

	/* A file size limit fails writes as a full disk would. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = 100000;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	o = extract_begin(x, &m);
	ck_assert_ptr_nonnull(o);
	for (size_t i = 0; i < (1u << 20) && rc == 0; i += 4096)
		rc = extract_data(o, data + i, 4096, 11);
	/* The writer may still be behind (a loaded machine): once it has
	 * caught up, the error is known to the next call. */
	if (rc == 0) {
		extract_sync(x);
		rc = extract_data(o, data, 4096, 11);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_nonnull(extract_error(x));
	ck_assert_ptr_nonnull(strstr(extract_error(x), dir));
	ck_assert_ptr_nonnull(strstr(extract_error(x), "-fetch-"));
	/* Everything after it does nothing. */
	ck_assert_int_eq(extract_data(o, data, 10, 12), -1);
	ck_assert_ptr_null(extract_begin(x, &m));
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, NULL), -1);
	ck_assert_int_eq(extract_close(x, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, dir));
	/* The manifest still took the failed object's record. */
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_uint_eq(manifest(dir, recs, 2), 1);
	ck_assert(!json_object_get_boolean(field(recs[0], "complete")));
	reasons = field(recs[0], "reasons");
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(reasons, 0)),
			 "write-error");
	put_all(recs, 1);
	tf_validate_manifest(dir);
	free(data);
	tf_remove_tree(dir);
}
END_TEST

/* ---- caps ---------------------------------------------------------------------- */

START_TEST(total_cap_cuts_then_refuses)
{
	char *dir = tf_make_dir("imt-extract");
	unsigned char *data = pattern(600);
	struct imt_limits lim;
	struct finding_log log = { 0 };
	struct extract *x;
	struct extract_meta m = fetch_meta("BODY[]", 600);
	struct extract_obj *o;
	struct extract_result res;
	char expect[65];

	imt_limits_default(&lim);
	lim.max_extract_bytes = 1000;
	x = open_dir(dir, &lim, &log);
	o = extract_begin(x, &m);
	ck_assert_int_eq(extract_data(o, data, 600, 11), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	ck_assert(res.complete);
	ck_assert_int_eq(log.n, 0);

	o = extract_begin(x, &m);
	ck_assert_int_eq(extract_data(o, data, 300, 11), 0);
	ck_assert_int_eq(extract_data(o, data + 300, 300, 12), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	ck_assert_uint_eq(res.size, 400);
	tf_sha_hex(data, 400, expect);
	ck_assert_str_eq(res.sha256, expect);
	ck_assert_uint_eq(res.reasons, EXTRACT_REASON_BIT(EXTRACT_R_LIMIT));
	ck_assert_int_eq(log.n, 1);
	ck_assert_str_eq(log.limit[0], "max-extract-bytes");
	ck_assert_uint_eq(log.session[0], 7);

	/* Later objects are not started; the cap is not reported again. */
	ck_assert_ptr_null(extract_begin(x, &m));
	ck_assert_int_eq(log.n, 1);
	ck_assert_int_eq(extract_data(NULL, data, 10, 1), 0);
	ck_assert_int_eq(extract_gap(NULL, 0, 10), 0);
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
	free(data);
}
END_TEST

START_TEST(open_objects_cap)
{
	char *dir = tf_make_dir("imt-extract");
	struct imt_limits lim;
	struct finding_log log = { 0 };
	struct extract *x;
	struct extract_meta m = fetch_meta("BODY[]", 1);
	struct extract_obj *a, *b;

	imt_limits_default(&lim);
	lim.max_extract_open = 2;
	x = open_dir(dir, &lim, &log);
	a = extract_begin(x, &m);
	b = extract_begin(x, &m);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(extract_begin(x, &m));
	ck_assert_int_eq(log.n, 1);
	ck_assert_str_eq(log.limit[0], "max-extract-open");
	ck_assert_int_eq(extract_end(a, EXTRACT_END_DONE, NULL), 0);
	ck_assert_ptr_nonnull(a = extract_begin(x, &m));
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	tf_remove_tree(dir);
}
END_TEST

/* ---- sections -------------------------------------------------------------------- */

START_TEST(section_parse)
{
	static const struct {
		const char *s;
		int whole, partial;
		uint64_t origin;
	} cases[] = {
		{ "BODY[]", 1, 0, 0 }, { "body.peek[]", 1, 0, 0 }, { "RFC822", 1, 0, 0 },
		{ "BINARY[]", 1, 0, 0 }, { "BINARY.PEEK[]", 1, 0, 0 },
		{ "BODY[]<0>", 0, 1, 0 }, { "BODY[]<1024>", 0, 1, 1024 },
		{ "BODY[1.2]<7>", 0, 1, 7 }, { "BODY[HEADER]", 0, 0, 0 },
		{ "RFC822.HEADER", 0, 0, 0 }, { "RFC822.TEXT", 0, 0, 0 },
		{ "BODY[HEADER.FIELDS (FROM)]", 0, 0, 0 }, { "BODY[]<>", 0, 0, 0 },
		{ "BODY[]<99999999999999999999>", 0, 0, 0 }, { "BODY[]<0x1>", 0, 0, 0 },
		{ "BODY[]<18446744073709551615>", 0, 1, UINT64_MAX }, { ">", 0, 0, 0 },
		{ "<1>", 0, 1, 1 }, { "", 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct extract_section r;

		extract_section_parse(cases[i].s, strlen(cases[i].s), &r);
		ck_assert_msg(r.whole == cases[i].whole && r.partial == cases[i].partial &&
			      r.origin == cases[i].origin, "section %s", cases[i].s);
	}
}
END_TEST

START_TEST(append_objects)
{
	char *dir = tf_make_dir("imt-extract");
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_meta m = {
		.session = 2, .client = "[2001:db8::1]:40000", .server = "[2001:db8::2]:143",
		.dir = 0, .kind = EXTRACT_APPEND, .command = "APPEND",
		.tag = "a1", .tag_len = 2, .mailbox = "Sent", .mailbox_len = 4,
		.declared_size = 3, .first_frame = 4, .ts = "2026-11-22T04:36:07Z",
	};
	struct extract_obj *o;
	struct extract_result res;
	json_object *recs[4];

	for (uint32_t i = 0; i < 2; i++) {
		m.index = i;
		o = extract_begin(x, &m);
		ck_assert_int_eq(extract_data(o, "abc", 3, 5), 0);
		ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
		ck_assert(res.whole && res.complete);
		ck_assert_ptr_nonnull(strstr(res.path, "c2s-append"));
	}
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	ck_assert_uint_eq(manifest(dir, recs, 4), 2);
	ck_assert(json_object_is_type(field(recs[1], "uid"), json_type_null));
	ck_assert(json_object_is_type(field(recs[1], "section"), json_type_null));
	ck_assert_uint_eq(u64_field(recs[1], "index"), 1);
	ck_assert_str_eq(str_field(recs[1], "kind"), "append");
	put_all(recs, 2);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
}
END_TEST

/* "* 3 FETCH (BODY[HEADER] {5}..... BODY[TEXT] {4}.... UID 42)": two
 * objects open until the response ends, the UID learnt last. */
START_TEST(several_literals_in_one_response)
{
	char *dir = tf_make_dir("imt-extract");
	struct extract *x = open_dir(dir, NULL, NULL);
	struct extract_meta h = fetch_meta("BODY[HEADER]", 5), t = fetch_meta("BODY[TEXT]", 4);
	struct extract_obj *a, *b;
	struct extract_result ra, rb;
	char pa[256];
	json_object *recs[4];

	h.has_uid = t.has_uid = 0;
	t.index = 1;
	a = extract_begin(x, &h);
	ck_assert_int_eq(extract_data(a, "H: v\n", 5, 11), 0);
	b = extract_begin(x, &t);
	ck_assert_int_eq(extract_data(b, "body", 4, 12), 0);
	extract_set_uid(a, 42);
	extract_set_uid(b, 42);
	ck_assert_int_eq(extract_end(a, EXTRACT_END_DONE, &ra), 0);
	snprintf(pa, sizeof(pa), "%s", ra.path);
	ck_assert_int_eq(extract_end(b, EXTRACT_END_DONE, &rb), 0);
	ck_assert_str_ne(pa, rb.path);
	ck_assert(ra.complete && !ra.whole && rb.complete && !rb.whole);
	ck_assert_ptr_nonnull(strstr(pa, "BODY_HEADER_.part"));
	ck_assert_ptr_nonnull(strstr(rb.path, "BODY_TEXT_.part"));
	ck_assert_int_eq(extract_close(x, NULL, 0), 0);
	ck_assert_uint_eq(manifest(dir, recs, 4), 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(u64_field(recs[i], "uid"), 42);
		ck_assert_uint_eq(u64_field(recs[i], "index"), (uint64_t)i);
	}
	put_all(recs, 2);
	tf_validate_manifest(dir);
	tf_remove_tree(dir);
}
END_TEST

/* Every reason of the table is in docs/extract.md and in the schema. */
START_TEST(docs_and_schema_list_every_reason)
{
	tf_docs_list_names(extract_reason_name, EXTRACT_R__COUNT);
}
END_TEST

static Suite *extract_suite(void)
{
	Suite *s = suite_create("extract");
	TCase *tc = tcase_create("extract");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, whole_bytewise_and_every_split_agree);
	tcase_add_test(tc, manifest_record_fields);
	tcase_add_test(tc, gap_keeps_offsets_and_is_listed);
	tcase_add_test(tc, cut_by_capture_end_reset_and_partial);
	tcase_add_test(tc, tricky_sections_stay_inside);
	tcase_add_test(tc, existing_files_and_links_are_not_overwritten);
	tcase_add_test(tc, unusable_directory_is_a_clear_error);
	tcase_add_test(tc, write_failure_names_the_file);
	tcase_add_test(tc, total_cap_cuts_then_refuses);
	tcase_add_test(tc, open_objects_cap);
	tcase_add_test(tc, section_parse);
	tcase_add_test(tc, append_objects);
	tcase_add_test(tc, docs_and_schema_list_every_reason);
	tcase_add_test(tc, several_literals_in_one_response);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(extract_suite());
}
