/*
 * test_mime.c - message summaries and attachments of extracted messages.
 *
 * The real messages are the ones the sample captures carry: the test runs
 * samples/clients/seed_maildir.py to get their exact bytes, extracts each
 * through extract.h (whole and one byte at a time) and checks what GMime
 * makes of them against the content messages.py declares (the attachment
 * digests are computed here from that content).  Hostile messages are
 * generated: thousands of parts, deep nesting, endless header fields,
 * broken base64 and quoted-printable, file names that try to leave the
 * directory or carry control characters.  Each must stay within its cap,
 * report it, and write nothing outside the directory.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <openssl/evp.h>

#include "check_main.h"
#include "extract.h"
#include "mime.h"
#include "mime_scan.h"
#include "test_files.h"

/* ---- helpers ------------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

struct finding_log {
	int n;
	char limit[8][32];
};

static void on_finding(void *user, uint64_t session, const struct imt_finding_report *f)
{
	struct finding_log *log = user;

	ck_assert_uint_eq(session, 3);
	ck_assert_int_eq(f->id, F_LIMIT_REACHED);
	ck_assert_ptr_nonnull(f->detail);
	if (log != NULL && log->n < 8)
		snprintf(log->limit[log->n], sizeof(log->limit[0]), "%s", f->limit);
	if (log != NULL)
		log->n++;
}

struct ctx {
	char *dir;
	struct extract *x;
	struct mime *m;
	struct finding_log log;
	char path[256];
};

static void ctx_open(struct ctx *c, const struct imt_limits *lim)
{
	struct imt_limits def;
	char err[512];

	memset(c, 0, sizeof(*c));
	if (lim == NULL) {
		imt_limits_default(&def);
		lim = &def;
	}
	c->dir = tf_make_dir("imt-mime");
	c->x = extract_open(c->dir, lim, on_finding, &c->log, err, sizeof(err));
	ck_assert_msg(c->x != NULL, "%s", err);
	c->m = mime_new(c->x);
	ck_assert_ptr_nonnull(c->m);
}

static void ctx_close(struct ctx *c)
{
	mime_free(c->m);
	ck_assert_int_eq(extract_close(c->x, NULL, 0), 0);
	tf_validate_manifest(c->dir);
	tf_remove_tree(c->dir);
}

/* Extracts msg as a FETCH BODY[] object (in chunks of step bytes) and
 * summarizes it. */
static void summarize(struct ctx *c, const void *msg, size_t len, size_t step,
		      struct mime_summary *s)
{
	struct extract_meta meta = {
		.session = 3, .client = "10.0.0.1:1", .server = "10.0.0.2:143", .dir = 1,
		.kind = EXTRACT_FETCH, .command = "FETCH", .section = "BODY[]",
		.section_len = 6, .declared_size = len, .first_frame = 1, .ts = "t",
	};
	struct extract_obj *o = extract_begin(c->x, &meta);
	struct extract_result res;
	const char *p = msg;

	ck_assert_ptr_nonnull(o);
	if (step == 0)
		step = len ? len : 1;
	for (size_t i = 0; i < len; i += step)
		ck_assert_int_eq(extract_data(o, p + i, len - i < step ? len - i : step, 2), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	ck_assert(res.whole && res.complete);
	snprintf(c->path, sizeof(c->path), "%s", res.path);
	res.path = c->path;
	ck_assert_int_eq(mime_summarize(c->m, &res, s), 0);
}

/* A fresh directory with the message b in it, summarized. */
static void open_summarize(struct ctx *c, const struct imt_limits *lim,
			   const struct buf *b, struct mime_summary *s)
{
	ctx_open(c, lim);
	summarize(c, b->p, b->len, 0, s);
}

static void close_summary(struct ctx *c, struct mime_summary *s)
{
	mime_summary_free(s);
	ctx_close(c);
}

/* The file DIR/attachments/<sha> holds exactly data. */
static void assert_attachment_file(struct ctx *c, const struct mime_attachment *a,
				   const void *data, size_t n)
{
	char path[512];
	unsigned char *got;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", c->dir, a->path);
	got = tf_slurp(NULL, path, &len);
	ck_assert_uint_eq(len, n);
	ck_assert_mem_eq(got, data, n);
	free(got);
}

/* ---- the sample messages -------------------------------------------------------- */

/* samples/clients/messages.py: the CSV attached to the quarterly report. */
static const char q1_csv[] = "month,revenue,cost\njan,1200,800\nfeb,1350,820\nmar,1420,790\n";

/* messages.py _pseudo_random(790000): the scanned document. */
static unsigned char *pseudo_random(size_t n)
{
	static const char seed[] = "imaptrace-large";
	unsigned char *out = malloc(n + 32), in[sizeof(seed) - 1 + 8];
	size_t have = 0;

	ck_assert_ptr_nonnull(out);
	memcpy(in, seed, sizeof(seed) - 1);
	for (uint64_t i = 0; have < n; i++) {
		unsigned int len = 0;

		for (int k = 0; k < 8; k++)
			in[sizeof(seed) - 1 + k] = (unsigned char)(i >> (56 - 8 * k));
		ck_assert_int_eq(EVP_Digest(in, sizeof(in), out + have, &len,
					    EVP_sha256(), NULL), 1);
		have += len;
	}
	return out;
}

struct seeded {
	char root[64];
	char *files[8];
	int n;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the sample seeder; the INBOX messages in order of their names
 * (their INTERNALDATE), then the Sent one. */
static void seed(struct seeded *sd)
{
	static const char *const sub[] = { "cur", ".Sent/cur" };
	char cmd[256];

	memset(sd, 0, sizeof(*sd));
	snprintf(sd->root, sizeof(sd->root), "/tmp/imt-seed-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sd->root));
	snprintf(cmd, sizeof(cmd),
		 "cd samples/clients && /usr/bin/python3 seed_maildir.py '%s' alice", sd->root);
	ck_assert_int_eq(system(cmd), 0);
	for (int k = 0; k < 2; k++) {
		char path[256];
		DIR *d;
		struct dirent *e;
		int first = sd->n;

		snprintf(path, sizeof(path), "%s/%s", sd->root, sub[k]);
		d = opendir(path);
		ck_assert_ptr_nonnull(d);
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			ck_assert_int_lt(sd->n, 8);
			ck_assert_int_ge(asprintf(&sd->files[sd->n++], "%s/%s", path,
						  e->d_name), 0);
		}
		closedir(d);
		qsort(sd->files + first, (size_t)(sd->n - first), sizeof(char *), cmp_str);
	}
	ck_assert_int_eq(sd->n, 5);
}

static void unseed(struct seeded *sd)
{
	for (int i = 0; i < sd->n; i++)
		free(sd->files[i]);
	tf_remove_tree(sd->root);
}

START_TEST(sample_messages)
{
	struct seeded sd;
	struct ctx c;
	struct mime_summary s;
	unsigned char *msg, *scan;
	size_t len;
	char expect[65];

	seed(&sd);
	ctx_open(&c, NULL);

	/* Welcome: one text part, no attachment. */
	msg = tf_slurp(NULL, sd.files[0], &len);
	summarize(&c, msg, len, 0, &s);
	ck_assert_str_eq(s.from, "Bob Builder <bob@example.org>");
	ck_assert_str_eq(s.to, "Alice Liddell <alice@example.org>");
	ck_assert_ptr_null(s.cc);
	ck_assert_str_eq(s.subject, "Welcome to the team");
	ck_assert_str_eq(s.date, "Mon, 11 Mar 2024 09:59:58 +0000");
	ck_assert_str_eq(s.message_id, "welcome-0001@example.org");
	ck_assert_str_eq(s.content_type, "text/plain");
	ck_assert_uint_eq(s.natt, 0);
	ck_assert_uint_eq(s.parts, 1);
	ck_assert_uint_eq(s.depth, 0);
	ck_assert_uint_eq(s.limits, 0);
	ck_assert_uint_eq(s.parsed, len);
	mime_summary_free(&s);
	free(msg);

	/* The quarterly report: nested multiparts, an encoded subject, the
	 * CSV attachment decoded from base64. */
	msg = tf_slurp(NULL, sd.files[1], &len);
	summarize(&c, msg, len, 0, &s);
	ck_assert_str_eq(s.subject, "Quarterly report \xe2\x80\x93 Q1");
	ck_assert_str_eq(s.from, "Reporting Robot <reports@example.net>");
	ck_assert_str_eq(s.to, "alice@example.org");
	ck_assert_str_eq(s.cc, "Bob Builder <bob@example.org>");
	ck_assert_str_eq(s.message_id, "q1-report-7731@example.net");
	ck_assert_str_eq(s.content_type, "multipart/mixed");
	ck_assert_uint_eq(s.parts, 5);
	ck_assert_uint_eq(s.depth, 2);
	ck_assert_uint_eq(s.natt, 1);
	ck_assert_str_eq(s.att[0].filename, "q1.csv");
	ck_assert_str_eq(s.att[0].content_type, "text/csv");
	ck_assert_str_eq(s.att[0].part, "2");
	ck_assert_uint_eq(s.att[0].size, sizeof(q1_csv) - 1);
	tf_sha_hex(q1_csv, sizeof(q1_csv) - 1, expect);
	ck_assert_str_eq(s.att[0].sha256, expect);
	ck_assert(s.att[0].complete);
	assert_attachment_file(&c, &s.att[0], q1_csv, sizeof(q1_csv) - 1);
	mime_summary_free(&s);
	free(msg);

	/* The body whose lines look like IMAP responses is just text. */
	msg = tf_slurp(NULL, sd.files[2], &len);
	summarize(&c, msg, len, 0, &s);
	ck_assert_str_eq(s.subject, "IMAP transcript from the bug report");
	ck_assert_str_eq(s.from, "Carol <carol@example.com>");
	ck_assert_str_eq(s.content_type, "text/plain");
	ck_assert_uint_eq(s.natt, 0);
	ck_assert_uint_eq(s.parsed, len);
	mime_summary_free(&s);
	free(msg);

	/* The large scan: 790 000 bytes decoded from about a megabyte. */
	msg = tf_slurp(NULL, sd.files[3], &len);
	summarize(&c, msg, len, 0, &s);
	ck_assert_str_eq(s.subject, "Scanned document (large attachment)");
	ck_assert_uint_eq(s.natt, 1);
	ck_assert_str_eq(s.att[0].filename, "scan-0001.bin");
	ck_assert_str_eq(s.att[0].content_type, "application/octet-stream");
	ck_assert_uint_eq(s.att[0].size, 790000);
	scan = pseudo_random(790000);
	tf_sha_hex(scan, 790000, expect);
	ck_assert_str_eq(s.att[0].sha256, expect);
	assert_attachment_file(&c, &s.att[0], scan, 790000);
	free(scan);
	mime_summary_free(&s);
	free(msg);

	/* The sent reply. */
	msg = tf_slurp(NULL, sd.files[4], &len);
	summarize(&c, msg, len, 0, &s);
	ck_assert_str_eq(s.subject, "Re: Welcome to the team");
	ck_assert_str_eq(s.from, "Alice Liddell <alice@example.org>");
	mime_summary_free(&s);
	free(msg);

	ck_assert_int_eq(c.log.n, 0);
	ctx_close(&c);
	unseed(&sd);
}
END_TEST

START_TEST(bytewise_extraction_and_dedup)
{
	struct seeded sd;
	struct ctx c;
	struct mime_summary a, b;
	unsigned char *msg;
	size_t len;
	char att[512];

	seed(&sd);
	ctx_open(&c, NULL);
	msg = tf_slurp(NULL, sd.files[1], &len);
	summarize(&c, msg, len, 0, &a);
	summarize(&c, msg, len, 1, &b);
	ck_assert_uint_eq(a.natt, 1);
	ck_assert_uint_eq(b.natt, 1);
	ck_assert_str_eq(a.att[0].sha256, b.att[0].sha256);
	ck_assert_str_eq(a.subject, b.subject);
	/* The attachment is written once; no temporary file is left. */
	snprintf(att, sizeof(att), "%s/attachments", c.dir);
	ck_assert_int_eq(tf_count_entries(att), 1);
	mime_summary_free(&a);
	mime_summary_free(&b);
	free(msg);
	ctx_close(&c);
	unseed(&sd);
}
END_TEST

/* ---- hostile MIME --------------------------------------------------------------- */

static void head(struct buf *b, const char *ct)
{
	puts_(b, "From: Mallory <m@example.com>\r\nTo: a@example.org\r\n"
		 "Subject: hostile\r\nMIME-Version: 1.0\r\n");
	puts_(b, ct);
	puts_(b, "\r\n");
}

START_TEST(thousands_of_parts)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;

	head(&b, "Content-Type: multipart/mixed; boundary=\"b\"\r\n");
	for (int i = 0; i < 20000; i++)
		puts_(&b, "--b\r\nContent-Type: application/x-junk\r\n\r\nx\r\n");
	puts_(&b, "--b--\r\n");
	open_summarize(&c, NULL, &b, &s);
	ck_assert_uint_eq(s.parts, 1000);
	ck_assert(s.limits & (1u << MIME_L_PARTS));
	ck_assert_uint_lt(s.parsed, s.size);
	ck_assert_uint_eq(s.natt, 999);
	/* The same content: one file. */
	ck_assert_str_eq(s.subject, "hostile");
	ck_assert_int_eq(c.log.n, 1);
	ck_assert_str_eq(c.log.limit[0], "max-mime-parts");
	close_summary(&c, &s);
	free(b.p);
}
END_TEST

START_TEST(deep_nesting)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;
	char line[128];
	const int n = 5000;

	head(&b, "Content-Type: multipart/mixed; boundary=\"b0\"\r\n");
	for (int i = 1; i < n; i++) {
		snprintf(line, sizeof(line),
			 "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i - 1, i);
		puts_(&b, line);
	}
	snprintf(line, sizeof(line), "--b%d\r\nContent-Type: image/png\r\n\r\nx\r\n", n - 1);
	puts_(&b, line);
	for (int i = n - 1; i >= 0; i--) {
		snprintf(line, sizeof(line), "--b%d--\r\n", i);
		puts_(&b, line);
	}
	open_summarize(&c, NULL, &b, &s);
	ck_assert(s.limits & (1u << MIME_L_DEPTH));
	ck_assert_uint_le(s.depth, 32);
	ck_assert_uint_eq(s.natt, 0);
	ck_assert_str_eq(c.log.limit[0], "max-mime-depth");
	close_summary(&c, &s);
	free(b.p);
}
END_TEST

START_TEST(endless_header_field)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;
	char *chunk = malloc(1 << 20);

	ck_assert_ptr_nonnull(chunk);
	memset(chunk, 'A', 1 << 20);
	puts_(&b, "From: Mallory <m@example.com>\r\nSubject: ");
	for (int i = 0; i < 8; i++)
		put(&b, chunk, 1 << 20);
	puts_(&b, "\r\n\r\nbody\r\n");
	open_summarize(&c, NULL, &b, &s);
	ck_assert(s.limits & (1u << MIME_L_HEADER));
	ck_assert_str_eq(s.from, "Mallory <m@example.com>");
	ck_assert_ptr_null(s.subject);
	ck_assert_uint_lt(s.parsed, 100);
	ck_assert_str_eq(c.log.limit[0], "max-mime-header");
	close_summary(&c, &s);

	/* Folded lines count as one field. */
	b.len = 0;
	puts_(&b, "From: Mallory <m@example.com>\r\nSubject: x");
	for (int i = 0; i < 20000; i++)
		puts_(&b, "\r\n folded");
	puts_(&b, "\r\n\r\nbody\r\n");
	open_summarize(&c, NULL, &b, &s);
	ck_assert(s.limits & (1u << MIME_L_HEADER));
	ck_assert_ptr_null(s.subject);
	close_summary(&c, &s);

	/* Many short fields: the header bytes of the message are capped. */
	b.len = 0;
	puts_(&b, "From: Mallory <m@example.com>\r\n");
	for (int i = 0; i < 200000; i++)
		puts_(&b, "X-Junk: 0123456789\r\n");
	puts_(&b, "Subject: late\r\n\r\nbody\r\n");
	open_summarize(&c, NULL, &b, &s);
	ck_assert(s.limits & (1u << MIME_L_HEADERS));
	ck_assert_uint_le(s.parsed, (1u << 20));
	ck_assert_str_eq(s.from, "Mallory <m@example.com>");
	ck_assert_ptr_null(s.subject);
	close_summary(&c, &s);
	free(chunk);
	free(b.p);
}
END_TEST

START_TEST(broken_encodings)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;

	head(&b, "Content-Type: multipart/mixed; boundary=\"b\"\r\n");
	puts_(&b, "--b\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\n"
		  "!!!!####====QUJD\r\nR===\r\n\x01\x02\xff\r\n");
	puts_(&b, "--b\r\nContent-Type: application/octet-stream\r\n"
		  "Content-Disposition: attachment; filename=\"q.bin\"\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=ZZ=4=\r\nabc=\r\n=41=\r\n");
	puts_(&b, "--b\r\nContent-Type: application/octet-stream\r\n"
		  "Content-Disposition: attachment; filename=\"u.bin\"\r\n"
		  "Content-Transfer-Encoding: x-uuencode\r\n\r\n"
		  "begin 644 u.bin\r\n#86)C\r\n`\r\nend\r\n");
	/* The boundary is never closed and the stream ends mid-line. */
	puts_(&b, "--b\r\nContent-Type: application/octet-stream; name=\"t.bin\"\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\nQUJDRA");
	open_summarize(&c, NULL, &b, &s);
	ck_assert_uint_eq(s.natt, 4);
	ck_assert_str_eq(s.att[0].filename, "x.pdf");
	ck_assert_str_eq(s.att[1].filename, "q.bin");
	ck_assert_str_eq(s.att[2].filename, "u.bin");
	ck_assert_str_eq(s.att[3].filename, "t.bin");
	for (size_t i = 0; i < s.natt; i++) {
		char path[512];
		unsigned char *got;
		size_t len;
		char hex[65];

		/* Whatever the decoder made of it is stored under its digest. */
		snprintf(path, sizeof(path), "%s/%s", c.dir, s.att[i].path);
		got = tf_slurp(NULL, path, &len);
		ck_assert_uint_eq(len, s.att[i].size);
		tf_sha_hex(got, len, hex);
		ck_assert_str_eq(hex, s.att[i].sha256);
		free(got);
	}
	ck_assert_uint_eq(s.limits, 0);
	close_summary(&c, &s);
	free(b.p);
}
END_TEST

START_TEST(hostile_names_are_only_reported)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;
	char att[512];
	struct stat sb;

	head(&b, "Content-Type: multipart/mixed; boundary=\"b\"\r\n");
	puts_(&b, "--b\r\nContent-Type: text/plain\r\n"
		  "Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\n"
		  "root:x:0:0\r\n");
	puts_(&b, "--b\r\nContent-Type: application/octet-stream\r\n"
		  "Content-Disposition: attachment; filename*=utf-8''..%2F..%2Fx%01y%1B%5B31m.sh\r\n\r\n"
		  "echo\r\n");
	puts_(&b, "--b\r\nContent-Type: application/octet-stream; name=\"=?UTF-8?B?L3RtcC9ldmls?=\"\r\n\r\n"
		  "evil\r\n");
	puts_(&b, "--b--\r\n");
	open_summarize(&c, NULL, &b, &s);
	ck_assert_uint_eq(s.natt, 3);
	ck_assert_str_eq(s.att[0].filename, "../../etc/passwd");
	ck_assert_str_eq(s.att[1].filename, "../../x_y_[31m.sh");
	ck_assert_str_eq(s.att[2].filename, "/tmp/evil");
	for (size_t i = 0; i < s.natt; i++) {
		ck_assert_ptr_nonnull(strstr(s.att[i].path, s.att[i].sha256));
		ck_assert_int_eq(strncmp(s.att[i].path, "attachments/", 12), 0);
	}
	/* Only digests in attachments/, and nothing was made at the
	 * declared names. */
	snprintf(att, sizeof(att), "%s/attachments", c.dir);
	ck_assert_int_eq(tf_count_entries(att), 3);
	ck_assert_int_ne(stat("/tmp/evil", &sb), 0);
	close_summary(&c, &s);
	free(b.p);
}
END_TEST

START_TEST(time_cap)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;
	struct imt_limits lim;

	/* The scan runs as the bytes are written; the time cap bounds the
	 * walk over the parts and their decoding: with no time at all, no
	 * attachment is stored, the headers are still read. */
	head(&b, "Content-Type: multipart/mixed; boundary=\"b\"\r\n");
	for (int i = 0; i < 3; i++)
		puts_(&b, "--b\r\nContent-Type: application/octet-stream\r\n"
			  "Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n"
			  "attached bytes\r\n");
	puts_(&b, "--b--\r\n");
	imt_limits_default(&lim);
	lim.mime_time_ms = 0;
	open_summarize(&c, &lim, &b, &s);
	ck_assert(s.limits & (1u << MIME_L_TIME));
	ck_assert_uint_eq(s.natt, 0);
	ck_assert_uint_eq(s.parts, 4);
	ck_assert_str_eq(s.subject, "hostile");
	ck_assert_str_eq(c.log.limit[0], "mime-time");
	close_summary(&c, &s);
	free(b.p);
}
END_TEST

START_TEST(not_a_message)
{
	static const char *const inputs[] = {
		"", "\r\n", "no header at all", "\x00\x01\x02\xff\xfe",
		"Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n",
		"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n----\r\n",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n",
	};
	struct ctx c;

	ctx_open(&c, NULL);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		struct mime_summary s;
		size_t len = i == 3 ? 5 : strlen(inputs[i]);

		summarize(&c, inputs[i], len, 0, &s);
		ck_assert_uint_eq(s.size, len);
		mime_summary_free(&s);
	}
	ctx_close(&c);
}
END_TEST

START_TEST(attached_messages_nest)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;
	struct imt_limits lim;

	/* Messages attached inside messages, each a level deeper. */
	for (int i = 0; i < 50; i++)
		puts_(&b, "Subject: inner\r\nContent-Type: message/rfc822\r\n\r\n");
	puts_(&b, "Subject: last\r\nContent-Type: application/zip; name=\"z.zip\"\r\n\r\nPK\r\n");
	imt_limits_default(&lim);
	lim.max_mime_depth = 8;
	open_summarize(&c, &lim, &b, &s);
	ck_assert(s.limits & (1u << MIME_L_DEPTH));
	ck_assert_uint_le(s.depth, 8);
	ck_assert_uint_eq(s.natt, 0);
	close_summary(&c, &s);

	/* Within the cap the attachment inside is found. */
	b.len = 0;
	for (int i = 0; i < 3; i++)
		puts_(&b, "Subject: inner\r\nContent-Type: message/rfc822\r\n\r\n");
	puts_(&b, "Subject: last\r\nContent-Type: application/zip; name=\"z.zip\"\r\n\r\nPK\r\n");
	open_summarize(&c, &lim, &b, &s);
	ck_assert_uint_eq(s.limits, 0);
	ck_assert_uint_eq(s.depth, 3);
	ck_assert_uint_eq(s.natt, 1);
	ck_assert_str_eq(s.att[0].filename, "z.zip");
	close_summary(&c, &s);
	free(b.p);
}
END_TEST

START_TEST(event_members)
{
	struct seeded sd;
	struct ctx c;
	struct mime_summary s;
	struct imt_event ev;
	struct extract_result obj = { .session = 3, .path = "p.eml" };
	unsigned char *msg;
	size_t len;
	char *text;

	seed(&sd);
	ctx_open(&c, NULL);
	msg = tf_slurp(NULL, sd.files[1], &len);
	summarize(&c, msg, len, 0, &s);
	memset(obj.sha256, 'a', 64);
	memset(&ev, 0, sizeof(ev));
	event_begin(&ev, EV_SESSION_START, 0);
	mime_summary_members(&ev, &obj, &s);
	ck_assert_int_eq(event_end(&ev), 0);
	text = strndup(ev.text, ev.len);
	ck_assert_ptr_nonnull(strstr(text, "\"subject\":\"Quarterly report \xe2\x80\x93 Q1\""));
	ck_assert_ptr_nonnull(strstr(text, "\"filename\":\"q1.csv\""));
	ck_assert_ptr_nonnull(strstr(text, "\"path\":\"p.eml\""));
	/* The event head carries the session; the members do not repeat it. */
	ck_assert_ptr_null(strstr(text, "\"session\""));
	free(text);
	event_release(&ev);
	mime_summary_free(&s);
	free(msg);
	ctx_close(&c);
	unseed(&sd);
}
END_TEST

/* ---- the scan, however the bytes are cut ------------------------------------------ */

static struct mime_scan_result scan_chunks(const struct imt_limits *lim, const char *p,
					   size_t n, size_t split, size_t step)
{
	struct mime_scan *sc = mime_scan_new(lim);
	struct mime_scan_result r;
	size_t i = 0;

	ck_assert_ptr_nonnull(sc);
	if (step == 0) {
		mime_scan_feed(sc, p, split);
		i = split;
		step = n;
	}
	for (; i < n; i += step)
		mime_scan_feed(sc, p + i, n - i < step ? n - i : step);
	mime_scan_finish(sc, &r);
	mime_scan_free(sc);
	return r;
}

static void assert_same_scan(struct mime_scan_result a, struct mime_scan_result b,
			     const char *what, size_t at)
{
	ck_assert_msg(a.cut == b.cut && a.limits == b.limits && a.parts == b.parts &&
		      a.depth == b.depth, "%s: cut at %zu differs", what, at);
}

/* Whole, one byte at a time and split at every offset: one result. */
static struct mime_scan_result scan_every_way(const struct imt_limits *lim,
					      const struct buf *b, const char *what)
{
	struct mime_scan_result whole = scan_chunks(lim, b->p, b->len, 0, b->len ? b->len : 1);

	assert_same_scan(whole, scan_chunks(lim, b->p, b->len, 0, 1), what, 1);
	for (size_t at = 0; at <= b->len; at++)
		assert_same_scan(whole, scan_chunks(lim, b->p, b->len, at, 0), what, at);
	return whole;
}

START_TEST(scan_is_the_same_however_cut)
{
	struct imt_limits lim;
	struct mime_scan_result r;
	struct buf b = { 0 };
	struct seeded sd;
	unsigned char *msg;
	size_t len;
	char line[128];

	g_mime_init();
	imt_limits_default(&lim);
	seed(&sd);
	msg = tf_slurp(NULL, sd.files[1], &len);
	put(&b, msg, len);
	r = scan_every_way(&lim, &b, "quarterly report");
	ck_assert_uint_eq(r.cut, len);
	ck_assert_uint_eq(r.parts, 5);
	ck_assert_uint_eq(r.depth, 2);
	ck_assert_uint_eq(r.limits, 0);
	free(msg);
	unseed(&sd);

	lim.max_mime_parts = 10;
	lim.max_mime_depth = 4;
	lim.max_mime_header = 256;
	lim.max_mime_headers = 2048;

	/* Parts: LF-only line ends, white space after delimiters. */
	b.len = 0;
	puts_(&b, "Content-Type: multipart/mixed; boundary=b\n\n");
	for (int i = 0; i < 30; i++)
		puts_(&b, "--b \t\nContent-Type: text/plain\n\nx\n");
	puts_(&b, "--b--");
	r = scan_every_way(&lim, &b, "parts");
	ck_assert_uint_eq(r.parts, 10);
	ck_assert_uint_eq(r.limits, 1u << MIME_L_PARTS);
	ck_assert_int_eq(memcmp(b.p + r.cut, "--b", 3), 0);

	/* Nesting. */
	b.len = 0;
	puts_(&b, "Content-Type: multipart/mixed; boundary=\"n0\"\r\n\r\n");
	for (int i = 1; i < 12; i++) {
		snprintf(line, sizeof(line),
			 "--n%d\r\nContent-Type: multipart/mixed;\r\n boundary=\"n%d\"\r\n\r\n",
			 i - 1, i);
		puts_(&b, line);
	}
	r = scan_every_way(&lim, &b, "nesting");
	ck_assert_uint_eq(r.limits, 1u << MIME_L_DEPTH);
	ck_assert_uint_eq(r.depth, 4);

	/* A folded field past the field cap. */
	b.len = 0;
	puts_(&b, "From: a@example.org\r\nSubject: x");
	for (int i = 0; i < 40; i++)
		puts_(&b, "\r\n folded");
	puts_(&b, "\r\n\r\nbody\r\n");
	r = scan_every_way(&lim, &b, "field");
	ck_assert_uint_eq(r.limits, 1u << MIME_L_HEADER);
	ck_assert_uint_eq(r.cut, strlen("From: a@example.org\r\n"));

	/* Header bytes of the message. */
	b.len = 0;
	for (int i = 0; i < 400; i++)
		puts_(&b, "X-A: 1\r\n");
	r = scan_every_way(&lim, &b, "headers");
	ck_assert_uint_eq(r.limits, 1u << MIME_L_HEADERS);
	ck_assert_uint_le(r.cut, 2048);

	/* Attached messages, closed boundaries, an epilogue, no last LF. */
	b.len = 0;
	puts_(&b, "Content-Type: multipart/mixed; boundary=o\r\n\r\npreamble\r\n"
		  "--o\r\nContent-Type: message/rfc822\r\n\r\n"
		  "Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
		  "--i\r\n\r\ntext\r\n--i--\r\n--o\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
		  "--o--\r\nepilogue\r\n--i\r\nnot a delimiter any more");
	r = scan_every_way(&lim, &b, "attached");
	ck_assert_uint_eq(r.limits, 0);
	ck_assert_uint_eq(r.parts, 5);
	ck_assert_uint_eq(r.depth, 3);
	ck_assert_uint_eq(r.cut, b.len);
	free(b.p);
}
END_TEST

/* Entities (header blocks) below and including o. */
static uint32_t gmime_count(GMimeObject *o)
{
	uint32_t n = 1;

	if (o == NULL)
		return 0;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			n += gmime_count(g_mime_multipart_get_part(mp, i));
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));

		if (inner != NULL)
			n += gmime_count(g_mime_message_get_mime_part(inner));
	}
	return n;
}

/* Entities GMime builds from b: the scan must count the same. */
static uint32_t gmime_entities(const struct buf *b)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(b->p, b->len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	uint32_t n = 1;

	if (msg != NULL) {
		GMimeObject *top = g_mime_message_get_mime_part(msg);

		if (top != NULL)
			n = gmime_count(top);
		g_object_unref(msg);
	}
	g_object_unref(p);
	g_object_unref(st);
	return n;
}

START_TEST(scan_counts_what_gmime_builds)
{
	static const char *const inputs[] = {
		/* Conflicting Content-Type fields: the last one counts. */
		"Content-Type: multipart/mixed; boundary=a\r\nContent-Type: text/plain\r\n\r\n"
		"--a\r\n\r\nx\r\n--a\r\n\r\ny\r\n--a--\r\n",
		"Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n"
		"--a\r\n\r\nx\r\n--a\r\n\r\ny\r\n--a--\r\n",
		/* RFC 2231 continued boundary, quoted boundary with spaces. */
		"Content-Type: multipart/mixed; boundary*0=\"ab\"; boundary*1=\"cd\"\r\n\r\n"
		"--abcd\r\n\r\nx\r\n--abcd\r\n\r\ny\r\n--abcd--\r\n",
		"Content-Type: multipart/mixed;\r\n\tboundary=\"a b\"\r\n\r\n"
		"--a b\r\n\r\nx\r\n--a b  \r\n\r\ny\r\n--a b--\r\n",
		/* A multipart without a boundary is a leaf. */
		"Content-Type: multipart/mixed\r\n\r\n--\r\n\r\nx\r\n",
		/* An inner boundary that closes the outer one early. */
		"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
		"Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nx\r\n"
		"--o\r\n\r\ny\r\n--o--\r\n",
		/* Attached messages. */
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\n"
		"Subject: x\r\n\r\nbody\r\n",
		"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
		"Content-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=i\r\n"
		"\r\n--i\r\n\r\na\r\n--i\r\n\r\nb\r\n--i--\r\n--o\r\n\r\nc\r\n--o--\r\n",
	};
	struct imt_limits lim;

	g_mime_init();
	imt_limits_default(&lim);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		struct buf b = { 0 };
		struct mime_scan_result r;

		puts_(&b, inputs[i]);
		r = scan_every_way(&lim, &b, inputs[i]);
		ck_assert_uint_eq(r.limits, 0);
		ck_assert_msg(r.parts == gmime_entities(&b), "input %zu: scan %u, GMime %u",
			      i, r.parts, gmime_entities(&b));
		free(b.p);
	}
}
END_TEST

/* Every cap name of the table is in docs/extract.md and in the schema. */
START_TEST(docs_and_schema_list_every_limit)
{
	tf_docs_list_names(mime_limit_name, MIME_L__COUNT);
}
END_TEST

/* A symbolic link planted as DIR/attachments is not followed: the
 * extraction stops with an error naming it. */
START_TEST(planted_attachments_link)
{
	struct buf b = { 0 };
	struct ctx c;
	struct mime_summary s;
	struct extract_result res;
	struct extract_meta meta = {
		.session = 3, .client = "c", .server = "s", .dir = 1, .kind = EXTRACT_FETCH,
		.command = "FETCH", .section = "BODY[]", .section_len = 6, .ts = "t",
	};
	struct extract_obj *o;
	char link[512], *outside = strdup(tf_make_dir("imt-outside"));

	head(&b, "Content-Type: multipart/mixed; boundary=\"b\"\r\n");
	puts_(&b, "--b\r\nContent-Type: application/zip; name=\"z.zip\"\r\n\r\nPK\r\n--b--\r\n");
	ctx_open(&c, NULL);
	snprintf(link, sizeof(link), "%s/attachments", c.dir);
	ck_assert_int_eq(symlink(outside, link), 0);
	meta.declared_size = b.len;
	o = extract_begin(c.x, &meta);
	ck_assert_int_eq(extract_data(o, b.p, b.len, 1), 0);
	ck_assert_int_eq(extract_end(o, EXTRACT_END_DONE, &res), 0);
	snprintf(c.path, sizeof(c.path), "%s", res.path);
	res.path = c.path;
	ck_assert_int_eq(mime_summarize(c.m, &res, &s), -1);
	ck_assert_ptr_nonnull(extract_error(c.x));
	ck_assert_ptr_nonnull(strstr(extract_error(c.x), "attachments"));
	ck_assert_int_eq(tf_count_entries(outside), 0);
	mime_summary_free(&s);
	mime_free(c.m);
	ck_assert_int_eq(extract_close(c.x, NULL, 0), -1);
	tf_remove_tree(c.dir);
	tf_remove_tree(outside);
	free(outside);
	free(b.p);
}
END_TEST

/* ---- plain header blocks ---------------------------------------------------------- */

static void assert_same_text(const char *what, const char *a, const char *b, const char *msg)
{
	ck_assert_msg((a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0),
		      "%s: '%s' against '%s' for:\n%s", what, a ? a : "(null)",
		      b ? b : "(null)", msg);
}

/* Summarizes msg both ways in c: fast (mime_fast, with the memo as c has
 * it) and through GMime's message; they must agree. */
static void assert_fast_as_slow(struct ctx *c, const char *msg)
{
	struct mime_summary fast, slow;
	size_t len = strlen(msg);

	mime_set_fast(c->m, 1);
	summarize(c, msg, len, 0, &fast);
	mime_set_fast(c->m, 0);
	summarize(c, msg, len, 3, &slow);
	assert_same_text("from", fast.from, slow.from, msg);
	assert_same_text("to", fast.to, slow.to, msg);
	assert_same_text("cc", fast.cc, slow.cc, msg);
	assert_same_text("subject", fast.subject, slow.subject, msg);
	assert_same_text("date", fast.date, slow.date, msg);
	assert_same_text("message_id", fast.message_id, slow.message_id, msg);
	assert_same_text("content_type", fast.content_type, slow.content_type, msg);
	ck_assert_msg(fast.warnings == slow.warnings, "warnings %u against %u for:\n%s",
		      fast.warnings, slow.warnings, msg);
	ck_assert_uint_eq(fast.natt, slow.natt);
	ck_assert_uint_eq(fast.parts, slow.parts);
	ck_assert_uint_eq(fast.parsed, slow.parsed);
	ck_assert_uint_eq(fast.limits, slow.limits);
	mime_summary_free(&fast);
	mime_summary_free(&slow);
}

/* Header-only messages, plain and not: a plain one is read without a
 * GMimeMessage (mime_fast), every other one with it; both ways must give
 * the same summary. */
START_TEST(plain_header_blocks_read_the_same)
{
	static const char *const msgs[] = {
		/* like the benchmark's */
		"Return-Path: <heidi@example.com>\r\nDelivered-To: judy45@example.org\r\n"
		"Received: from mx.example.com (mx.example.com [192.0.2.25])\r\n\tby mail.example.org"
		" with LMTP id 6622a0ce\r\n\tfor <judy45@example.org>; Tue, 2 Oct 2024 21:21:27 +0000\r\n"
		"Message-ID: <9381.806ab493@example.com>\r\nDate: Tue, 2 Oct 2024 21:21:27 +0000\r\n"
		"From: Heidi <heidi@example.com>\r\nTo: judy45@example.org\r\n"
		"Subject: Re: attached report customer\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nbody\r\n",
		/* bare LF, names in other cases, no Content-Type */
		"from: A <a@example.com>\nTO: b@example.com, \"Doe, John\" <john@Example.COM>\n"
		"subject:   spaced   out  \ndate:Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n",
		/* folded fields, comments, a group, a quoted name */
		"From: \"Smith, Ann\" (work)\r\n <ann@example.com>\r\nTo: undisclosed-recipients:;\r\n"
		"Cc: jane@example.com (Jane),\r\n\tBob <bob@EXAMPLE.com>\r\nSubject: a\r\n b\r\n\tc\r\n"
		"Message-Id:   <id with space@x>  \r\nContent-Type: text/html;\r\n charset=us-ascii;"
		" format=flowed\r\n\r\n<p>x</p>\r\n",
		/* empty values, Sender, Reply-To, Bcc */
		"From:\r\nTo: \r\nSubject:\r\nSender: s@example.com\r\nReply-To: r@example.com\r\n"
		"Bcc: hidden@example.com\r\nDate: \r\n\r\nx\r\n",
		/* addresses GMime warns about */
		"From: @@@ <<>>\r\nTo: a@\r\nSubject: odd\r\n\r\nx\r\n",
		/* a message id without brackets, a Content-Type without subtype */
		"Message-ID: bare@id\r\nContent-Type: text\r\nFrom: x@y.z\r\n\r\nx\r\n",
		"Content-Type: garbage;;; name\r\nFrom: x@y.z\r\n\r\nx\r\n",
		/* not plain: GMime's message reads these */
		"Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: x@y.z\r\n\r\nx\r\n",
		"Subject: caf\xc3\xa9\r\nFrom: x@y.z\r\n\r\nx\r\n",
		"To: a@example.com\r\nTo: b@example.com\r\nFrom: x@y.z\r\n\r\nx\r\n",
		"Content-Type: application/pdf; name=\"r.pdf\"\r\nFrom: x@y.z\r\n\r\n%PDF\r\n",
		"Content-Disposition: inline\r\nFrom: x@y.z\r\n\r\nx\r\n",
		"Bad Name: v\r\nFrom: x@y.z\r\n\r\nx\r\n",
		"From : x@y.z\r\nSubject: s\r\n\r\nx\r\n",
		"From: x@y.z\rSubject: s\r\n\r\nx\r\n",
	};

	size_t n = sizeof(msgs) / sizeof(*msgs);
	struct ctx c;

	/* One by one in a fresh context, then all of them twice in one, so
	 * that the second round reads the fields from the memo. */
	for (size_t i = 0; i < n; i++) {
		ctx_open(&c, NULL);
		assert_fast_as_slow(&c, msgs[i]);
		ctx_close(&c);
	}
	ctx_open(&c, NULL);
	for (size_t round = 0; round < 2; round++)
		for (size_t i = 0; i < n; i++)
			assert_fast_as_slow(&c, msgs[i]);
	ctx_close(&c);
}
END_TEST

/* More distinct values than the memo has slots, each seen twice (some
 * evicted in between, some kept), long values (never kept) and a value
 * GMime warns about between two that it does not: the summaries are
 * always those of GMime's message. */
START_TEST(memo_of_field_values_changes_nothing)
{
	static char msg[4096];
	static char big[1200];
	struct ctx c;

	memset(big, 'a', sizeof(big) - 1);
	ctx_open(&c, NULL);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(msg, sizeof(msg),
				 "From: User %d <user%d@example.com>\r\nTo: owner@example.org\r\n"
				 "Cc: %s\r\nContent-Type: text/plain; charset=\"x-%d\"\r\n"
				 "Subject: %d\r\n\r\nbody\r\n",
				 i % 150, i, i % 7 == 0 ? "@@@ <<>>" : i % 11 == 0 ? big : "",
				 i % 40, i);
			assert_fast_as_slow(&c, msg);
		}
	ctx_close(&c);
}
END_TEST

static Suite *mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc = tcase_create("mime");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sample_messages);
	tcase_add_test(tc, bytewise_extraction_and_dedup);
	tcase_add_test(tc, thousands_of_parts);
	tcase_add_test(tc, deep_nesting);
	tcase_add_test(tc, endless_header_field);
	tcase_add_test(tc, broken_encodings);
	tcase_add_test(tc, hostile_names_are_only_reported);
	tcase_add_test(tc, time_cap);
	tcase_add_test(tc, not_a_message);
	tcase_add_test(tc, attached_messages_nest);
	tcase_add_test(tc, event_members);
	tcase_add_test(tc, scan_is_the_same_however_cut);
	tcase_add_test(tc, docs_and_schema_list_every_limit);
	tcase_add_test(tc, scan_counts_what_gmime_builds);
	tcase_add_test(tc, planted_attachments_link);
	tcase_add_test(tc, plain_header_blocks_read_the_same);
	tcase_add_test(tc, memo_of_field_values_changes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(mime_suite());
}
