/*
 * test_extract_writer.c - the evidence export's queue to its writer
 * thread: every command reaches the handler once, in order, with its
 * bytes intact however the ring wraps; a full ring makes the feeder wait
 * (and nothing grows); a handler's error reaches the feeder and the
 * handler still sees every later command; freeing the queue hands over
 * what is still queued, whatever is left open; runs of one object's
 * bytes come merged when asked, never across objects; a flush follows
 * each batch, and a sync returns after it.
 */
#include <check.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "extract_writer.h"

#define RING (4u << 10)          /* the smallest ring: wraps often */

/* What the handler saw of each object: its bytes, in order. */
struct seen_obj {
	unsigned char *bytes;
	size_t len, cap;
	uint64_t commands, data_commands, last_arg;
	int opened, closed;
};

struct seen {
	uint64_t next_arg;           /* the arg of the next command, in order */
	uint64_t commands;
	int fail_at;                 /* the command that fails, or -1 */
	atomic_int gate;             /* 0: the handler waits */
	int slow;
	int last_op;
	uint64_t flushes;
};

enum { T_OPEN, T_DATA, T_CLOSE };

static int handler(void *user, const struct extract_writer_cmd *c)
{
	struct seen *s = user;
	struct seen_obj *o = c->obj;

	while (!atomic_load(&s->gate))
		usleep(1000);
	s->last_op = c->op;
	if (c->op == EXTRACT_WRITER_FLUSH) {
		ck_assert_ptr_null(c->obj);
		ck_assert_uint_eq(c->len, 0);
		s->flushes++;
		return 0;
	}
	/* Pieces of one push share their arg: the order holds per push. */
	ck_assert_uint_ge(c->arg, s->next_arg);
	s->next_arg = c->arg;
	switch (c->op) {
	case T_OPEN:
		ck_assert_int_eq(o->opened, 0);
		o->opened = 1;
		ck_assert_uint_eq(c->len, 0);
		break;
	case T_DATA:
		ck_assert(o->opened && !o->closed);
		if (o->len + c->len > o->cap) {
			o->cap = (o->len + c->len) * 2;
			o->bytes = realloc(o->bytes, o->cap);
			ck_assert_ptr_nonnull(o->bytes);
		}
		if (c->len > 0)
			memcpy(o->bytes + o->len, c->data, c->len);
		o->len += c->len;
		o->data_commands++;
		o->last_arg = c->arg;
		break;
	case T_CLOSE:
		ck_assert(o->opened && !o->closed);
		o->closed = 1;
		break;
	}
	o->commands++;
	return s->fail_at >= 0 && s->commands++ >= (uint64_t)s->fail_at ? -1 : 0;
}

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131u + seed * 7u + (i >> 9));
	return p;
}

START_TEST(order_and_bytes_through_wraparound)
{
	/* Sizes around the ring's: smaller, equal, larger, odd. */
	static const size_t sizes[] = { 1, 7, 1000, 4095, 4096, 4097, 10000, 65537, 0, 3 };
	enum { NOBJ = 3 };
	struct seen s = { .fail_at = -1, .gate = 1 };
	struct seen_obj objs[NOBJ];
	unsigned char *data[NOBJ];
	size_t total[NOBJ] = { 0 };
	/* Merging on: runs never cross the ring's end or another object. */
	struct extract_writer *w = extract_writer_new(RING, T_DATA, handler, &s);
	struct extract_writer_stats st;
	uint64_t arg = 0;

	ck_assert_ptr_nonnull(w);
	memset(objs, 0, sizeof(objs));
	for (int k = 0; k < NOBJ; k++) {
		data[k] = pattern(300000, (unsigned)k);
		ck_assert_int_eq(extract_writer_push(w, T_OPEN, &objs[k], arg++, NULL, 0), 0);
	}
	/* The objects' chunks interleaved, as sessions interleave. */
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++)
			for (int k = 0; k < NOBJ; k++) {
				size_t n = sizes[(i + (size_t)k) % (sizeof(sizes) / sizeof(*sizes))];

				ck_assert_int_eq(extract_writer_push(w, T_DATA, &objs[k], arg++,
								     data[k] + total[k], n), 0);
				total[k] += n;
			}
	for (int k = 0; k < NOBJ; k++)
		ck_assert_int_eq(extract_writer_push(w, T_CLOSE, &objs[k], arg++, NULL, 0), 0);
	ck_assert_int_eq(extract_writer_sync(w), 0);
	/* After the sync everything the handler did is visible here. */
	for (int k = 0; k < NOBJ; k++) {
		ck_assert(objs[k].opened && objs[k].closed);
		ck_assert_uint_eq(objs[k].len, total[k]);
		ck_assert_mem_eq(objs[k].bytes, data[k], total[k]);
	}
	ck_assert_uint_eq(s.next_arg, arg - 1);
	ck_assert_int_eq(s.last_op, EXTRACT_WRITER_FLUSH);
	ck_assert_int_eq(extract_writer_failed(w), 0);
	ck_assert_int_eq(extract_writer_free(w, &st), 0);
	ck_assert_uint_eq(st.bytes, total[0] + total[1] + total[2]);
	/* A push that wrapped or was larger than the ring came in pieces. */
	ck_assert_uint_gt(st.commands, arg);
	for (int k = 0; k < NOBJ; k++) {
		free(objs[k].bytes);
		free(data[k]);
	}
}
END_TEST

static void *open_gate(void *arg)
{
	struct seen *s = arg;

	usleep(100 * 1000);
	atomic_store(&s->gate, 1);
	return NULL;
}

START_TEST(a_full_ring_makes_the_feeder_wait)
{
	struct seen s = { .fail_at = -1, .gate = 0 };
	struct seen_obj o;
	struct extract_writer *w = extract_writer_new(RING, -1, handler, &s);
	struct extract_writer_stats st;
	unsigned char *data = pattern(5 * RING, 9);
	pthread_t t;

	ck_assert_ptr_nonnull(w);
	memset(&o, 0, sizeof(o));
	/* The handler waits at the gate: five rings of data cannot all be
	 * queued, so the pushes wait until the gate opens. */
	ck_assert_int_eq(pthread_create(&t, NULL, open_gate, &s), 0);
	ck_assert_int_eq(extract_writer_push(w, T_OPEN, &o, 0, NULL, 0), 0);
	for (size_t i = 0; i < 5 * RING; i += 1000)
		ck_assert_int_eq(extract_writer_push(w, T_DATA, &o, 1, data + i,
						     5 * RING - i < 1000 ? 5 * RING - i : 1000), 0);
	ck_assert_int_eq(atomic_load(&s.gate), 1);
	ck_assert_int_eq(extract_writer_push(w, T_CLOSE, &o, 2, NULL, 0), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(extract_writer_free(w, &st), 0);
	ck_assert_uint_ge(st.full_waits, 1);
	ck_assert_uint_eq(o.len, 5 * RING);
	ck_assert_mem_eq(o.bytes, data, 5 * RING);
	ck_assert(o.closed);
	free(o.bytes);
	free(data);
}
END_TEST

START_TEST(an_error_reaches_the_feeder)
{
	struct seen s = { .fail_at = 5, .gate = 1 };
	struct seen_obj o;
	struct extract_writer *w = extract_writer_new(RING, -1, handler, &s);
	unsigned char b[10] = { 0 };
	int rc = 0;

	ck_assert_ptr_nonnull(w);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(extract_writer_push(w, T_OPEN, &o, 0, NULL, 0), 0);
	for (int i = 0; i < 4; i++)
		rc |= extract_writer_push(w, T_DATA, &o, 1, b, sizeof(b));
	ck_assert_int_eq(extract_writer_sync(w), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(extract_writer_failed(w), 0);
	/* The sixth command fails: the sync says so, and so does every
	 * later push; the handler still gets the close. */
	extract_writer_push(w, T_DATA, &o, 2, b, sizeof(b));
	extract_writer_push(w, T_DATA, &o, 3, b, sizeof(b));
	ck_assert_int_eq(extract_writer_sync(w), -1);
	ck_assert_int_eq(extract_writer_failed(w), 1);
	ck_assert_int_eq(extract_writer_push(w, T_CLOSE, &o, 4, NULL, 0), -1);
	ck_assert_int_eq(extract_writer_free(w, NULL), -1);
	ck_assert(o.closed);
	ck_assert_uint_eq(o.len, 6 * sizeof(b));
	free(o.bytes);
}
END_TEST

START_TEST(free_hands_over_what_is_queued)
{
	enum { NOBJ = 50 };
	struct seen s = { .fail_at = -1, .gate = 0 };
	struct seen_obj objs[NOBJ];
	struct extract_writer *w = extract_writer_new(1u << 20, -1, handler, &s);
	unsigned char b[100];
	pthread_t t;

	ck_assert_ptr_nonnull(w);
	memset(objs, 0, sizeof(objs));
	memset(b, 'x', sizeof(b));
	/* Objects opened and fed, none closed, the handler still at its
	 * gate when the queue is freed. */
	for (int k = 0; k < NOBJ; k++) {
		ck_assert_int_eq(extract_writer_push(w, T_OPEN, &objs[k], 0, NULL, 0), 0);
		ck_assert_int_eq(extract_writer_push(w, T_DATA, &objs[k], 0, b, sizeof(b)), 0);
	}
	ck_assert_int_eq(pthread_create(&t, NULL, open_gate, &s), 0);
	ck_assert_int_eq(extract_writer_free(w, NULL), 0);
	pthread_join(t, NULL);
	for (int k = 0; k < NOBJ; k++) {
		ck_assert(objs[k].opened && !objs[k].closed);
		ck_assert_uint_eq(objs[k].len, sizeof(b));
		free(objs[k].bytes);
	}
	/* An idle queue stops as well. */
	w = extract_writer_new(RING, -1, handler, &s);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(extract_writer_sync(w), 0);
	ck_assert_int_eq(extract_writer_free(w, NULL), 0);
	ck_assert_int_eq(extract_writer_free(NULL, NULL), 0);
}
END_TEST

START_TEST(runs_of_one_object_come_merged)
{
	enum { PIECE = 1000, RUN = 10 };
	struct seen s = { .fail_at = -1, .gate = 1 };
	struct seen_obj a, b;
	struct extract_writer *w = extract_writer_new(1u << 20, T_DATA, handler, &s);
	unsigned char *data = pattern(2 * RUN * PIECE, 5);
	uint64_t arg = 1;

	ck_assert_ptr_nonnull(w);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* Let the worker fall asleep: below its wake-up mark, the pushes
	 * then wait for the sync and come to it in one batch. */
	usleep(20 * 1000);
	ck_assert_int_eq(extract_writer_push(w, T_OPEN, &a, 0, NULL, 0), 0);
	ck_assert_int_eq(extract_writer_push(w, T_OPEN, &b, 0, NULL, 0), 0);
	for (int i = 0; i < RUN; i++)
		ck_assert_int_eq(extract_writer_push(w, T_DATA, &a, arg++,
						     data + i * PIECE, PIECE), 0);
	ck_assert_int_eq(extract_writer_push(w, T_DATA, &b, arg++, data, 500), 0);
	for (int i = RUN; i < 2 * RUN; i++)
		ck_assert_int_eq(extract_writer_push(w, T_DATA, &a, arg++,
						     data + i * PIECE, PIECE), 0);
	ck_assert_int_eq(extract_writer_push(w, T_CLOSE, &a, arg, NULL, 0), 0);
	ck_assert_int_eq(extract_writer_push(w, T_CLOSE, &b, arg, NULL, 0), 0);
	ck_assert_int_eq(extract_writer_sync(w), 0);
	ck_assert_uint_eq(a.len, 2 * RUN * PIECE);
	ck_assert_mem_eq(a.bytes, data, 2 * RUN * PIECE);
	ck_assert_uint_eq(b.len, 500);
	ck_assert_mem_eq(b.bytes, data, 500);
	/* Two runs, split by b's push (a third piece at most, should the
	 * worker have been awake at the first push), each with the arg of
	 * its last push. */
	ck_assert_uint_ge(a.data_commands, 2);
	ck_assert_uint_le(a.data_commands, 3);
	ck_assert_uint_eq(a.last_arg, arg - 1);
	ck_assert_uint_eq(b.data_commands, 1);
	ck_assert(a.closed && b.closed);
	/* The sync came back after the batch's flush. */
	ck_assert_int_eq(s.last_op, EXTRACT_WRITER_FLUSH);
	ck_assert_uint_ge(s.flushes, 1);
	ck_assert_int_eq(extract_writer_free(w, NULL), 0);
	free(a.bytes);
	free(b.bytes);
	free(data);
}
END_TEST

START_TEST(without_merging_every_push_comes_alone)
{
	enum { PIECE = 100, N = 50 };
	struct seen s = { .fail_at = -1, .gate = 1 };
	struct seen_obj a;
	struct extract_writer *w = extract_writer_new(1u << 20, -1, handler, &s);
	unsigned char *data = pattern(N * PIECE, 6);

	ck_assert_ptr_nonnull(w);
	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(extract_writer_push(w, T_OPEN, &a, 0, NULL, 0), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(extract_writer_push(w, T_DATA, &a, 1, data + i * PIECE, PIECE), 0);
	ck_assert_int_eq(extract_writer_sync(w), 0);
	ck_assert_uint_eq(a.data_commands, N);
	ck_assert_mem_eq(a.bytes, data, N * PIECE);
	ck_assert_int_eq(extract_writer_free(w, NULL), 0);
	free(a.bytes);
	free(data);
}
END_TEST

static Suite *writer_suite(void)
{
	Suite *s = suite_create("extract_writer");
	TCase *tc = tcase_create("extract_writer");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, order_and_bytes_through_wraparound);
	tcase_add_test(tc, a_full_ring_makes_the_feeder_wait);
	tcase_add_test(tc, an_error_reaches_the_feeder);
	tcase_add_test(tc, free_hands_over_what_is_queued);
	tcase_add_test(tc, runs_of_one_object_come_merged);
	tcase_add_test(tc, without_merging_every_push_comes_alone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(writer_suite());
}
