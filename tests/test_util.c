/*
 * test_util.c - the helpers every stage shares: the decimal parser
 * (dec.h), array growth (mem.h), the object pool (mem_pool.h), the hash (hash.h), the word-at-a-time
 * scan tests (scan8.h) and the endpoint formatter (ip.h).  Edge cases
 * first: overflow, empty input, leading zeros, caps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#include "dec.h"
#include "hash.h"
#include "ip.h"
#include "mem.h"
#include "mem_pool.h"
#include "mem_slab.h"
#include "scan8.h"

#define PARSE(str, max, v) dec_parse_u64(str, strlen(str), max, v)

/* The writer against snprintf() and back through the parser: 0, every
 * power of ten and its neighbours, UINT64_MAX; nothing written past the
 * digits' start. */
START_TEST(dec_format_round_trips)
{
	char buf[8 + DEC_U64_MAXLEN], want[32];
	char *end = buf + sizeof(buf), *p;
	uint64_t tests[64], v;
	size_t n = 0;

	tests[n++] = 0;
	tests[n++] = UINT64_MAX;
	tests[n++] = UINT64_MAX - 1;
	for (uint64_t t = 1; n + 3 <= sizeof(tests) / sizeof(tests[0]); t *= 10) {
		tests[n++] = t - 1;
		tests[n++] = t;
		tests[n++] = t + 1;
		if (t > UINT64_MAX / 10)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		memset(buf, '#', sizeof(buf));
		p = dec_format_u64(end, tests[i]);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)tests[i]);
		ck_assert_uint_eq((size_t)(end - p), strlen(want));
		ck_assert_mem_eq(p, want, strlen(want));
		ck_assert_int_eq(p[-1], '#');
		ck_assert_int_eq(dec_parse_u64(p, (size_t)(end - p), UINT64_MAX, &v), 0);
		ck_assert_uint_eq(v, tests[i]);
	}
	p = dec_format_u64(end, UINT64_MAX);
	ck_assert_uint_eq((size_t)(end - p), DEC_U64_MAXLEN);
	ck_assert_mem_eq(p, "18446744073709551615", DEC_U64_MAXLEN);
	p = dec_format_u64(end, 0);
	ck_assert_uint_eq((size_t)(end - p), 1);
	ck_assert_int_eq(*p, '0');
}
END_TEST

START_TEST(dec_accepts_digits_and_leading_zeros)
{
	uint64_t v = 99;

	ck_assert_int_eq(PARSE("0", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(PARSE("007", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(PARSE("000000000000000000000000000042", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 42);
	ck_assert_int_eq(PARSE("1234567890", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 1234567890u);
	/* Only len bytes are read: the rest of the buffer does not count. */
	ck_assert_int_eq(dec_parse_u64("12x", 2, UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 12);
}
END_TEST

START_TEST(dec_rejects_empty_and_non_digits)
{
	uint64_t v = 99;

	ck_assert_int_eq(dec_parse_u64("", 0, UINT64_MAX, &v), -1);
	ck_assert_int_eq(dec_parse_u64(NULL, 0, UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("12a", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE(" 12", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("12 ", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("+1", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("-1", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("0x10", UINT64_MAX, &v), -1);
	ck_assert_int_eq(dec_parse_u64("1\0" "2", 3, UINT64_MAX, &v), -1);
	/* Failure leaves the output alone. */
	ck_assert_uint_eq(v, 99);
}
END_TEST

START_TEST(dec_overflow_is_caught_at_every_width)
{
	uint64_t v = 99;

	ck_assert_int_eq(PARSE("18446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(PARSE("18446744073709551616", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("18446744073709551620", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("99999999999999999999", UINT64_MAX, &v), -1);
	ck_assert_int_eq(PARSE("184467440737095516150", UINT64_MAX, &v), -1);
	/* Nineteen nines always fit. */
	ck_assert_int_eq(PARSE("9999999999999999999", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, 9999999999999999999ull);
	/* Leading zeros do not count towards the width. */
	ck_assert_int_eq(PARSE("0018446744073709551615", UINT64_MAX, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
}
END_TEST

START_TEST(dec_range_is_inclusive)
{
	uint64_t v = 99;

	ck_assert_int_eq(PARSE("65535", 65535, &v), 0);
	ck_assert_uint_eq(v, 65535);
	ck_assert_int_eq(PARSE("65536", 65535, &v), -1);
	ck_assert_int_eq(PARSE("4294967295", UINT32_MAX, &v), 0);
	ck_assert_int_eq(PARSE("4294967296", UINT32_MAX, &v), -1);
	ck_assert_int_eq(PARSE("0", 0, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(PARSE("1", 0, &v), -1);
}
END_TEST

START_TEST(dec_span_counts_leading_digits)
{
	ck_assert_uint_eq(dec_span("", 0), 0);
	ck_assert_uint_eq(dec_span("x1", 2), 0);
	ck_assert_uint_eq(dec_span("0012 x", 6), 4);
	ck_assert_uint_eq(dec_span("123", 2), 2);
	ck_assert_uint_eq(dec_span("/:", 2), 0);
}
END_TEST

START_TEST(mem_grow_cap_doubles_within_the_cap)
{
	ck_assert_uint_eq(mem_grow_cap(0, 1, 32, 1000), 32);
	ck_assert_uint_eq(mem_grow_cap(32, 33, 32, 1000), 64);
	ck_assert_uint_eq(mem_grow_cap(32, 200, 32, 1000), 256);
	/* Already fits: unchanged. */
	ck_assert_uint_eq(mem_grow_cap(64, 64, 32, 1000), 64);
	ck_assert_uint_eq(mem_grow_cap(0, 0, 32, 1000), 0);
	/* Doubling stops at the cap, which is reached exactly. */
	ck_assert_uint_eq(mem_grow_cap(512, 513, 32, 1000), 1000);
	ck_assert_uint_eq(mem_grow_cap(0, 1000, 32, 1000), 1000);
	/* A first size above the cap is cut to it. */
	ck_assert_uint_eq(mem_grow_cap(0, 3, 32, 5), 5);
	/* Past the cap: no room. */
	ck_assert_uint_eq(mem_grow_cap(0, 1001, 32, 1000), 0);
	ck_assert_uint_eq(mem_grow_cap(1000, 1001, 32, 1000), 0);
	/* No first size: starts at one. */
	ck_assert_uint_eq(mem_grow_cap(0, 3, 0, 1000), 4);
	/* Near SIZE_MAX doubling cannot wrap. */
	ck_assert_uint_eq(mem_grow_cap(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2, 1,
				       SIZE_MAX), SIZE_MAX);
	ck_assert_uint_eq(mem_grow_cap(SIZE_MAX - 1, SIZE_MAX, 1, SIZE_MAX),
			  SIZE_MAX);
}
END_TEST

START_TEST(mem_grow_keeps_contents_and_respects_the_cap)
{
	uint32_t *a = NULL;
	size_t cap = 0;

	ck_assert_int_eq(mem_grow(&a, &cap, 1, sizeof(*a), 4, 10), 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(cap, 4);
	for (uint32_t i = 0; i < 4; i++)
		a[i] = i * 7;
	ck_assert_int_eq(mem_grow(&a, &cap, 5, sizeof(*a), 4, 10), 0);
	ck_assert_uint_eq(cap, 8);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_uint_eq(a[i], i * 7);
	ck_assert_int_eq(mem_grow(&a, &cap, 9, sizeof(*a), 4, 10), 0);
	ck_assert_uint_eq(cap, 10);
	a[9] = 99;
	/* The cap is hit: nothing changes, the array is still valid. */
	{
		uint32_t *before = a;

		ck_assert_int_eq(mem_grow(&a, &cap, 11, sizeof(*a), 4, 10), -1);
		ck_assert_ptr_eq(a, before);
		ck_assert_uint_eq(cap, 10);
		ck_assert_uint_eq(a[9], 99);
	}
	/* Room already there: no call, no change. */
	ck_assert_int_eq(mem_grow(&a, &cap, 10, sizeof(*a), 4, 10), 0);
	ck_assert_uint_eq(cap, 10);
	free(a);
}
END_TEST

START_TEST(mem_grow_refuses_byte_counts_that_overflow)
{
	uint64_t *a = NULL;
	size_t cap = 0;

	ck_assert_int_eq(mem_grow(&a, &cap, SIZE_MAX / 4, sizeof(*a), 1,
				  SIZE_MAX), -1);
	ck_assert_ptr_null(a);
	ck_assert_uint_eq(cap, 0);
	/* A zero element size can make no room. */
	ck_assert_int_eq(mem_grow(&a, &cap, 1, 0, 1, 10), -1);
	ck_assert_uint_eq(cap, 0);
}
END_TEST

START_TEST(mem_zero_zeroes)
{
	unsigned char b[37];

	memset(b, 0xa5, sizeof(b));
	mem_zero(b + 1, 35);
	ck_assert_uint_eq(b[0], 0xa5);
	for (size_t i = 1; i < 36; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_uint_eq(b[36], 0xa5);
}
END_TEST

START_TEST(hash_bytes_depends_on_seed_length_and_every_byte)
{
	unsigned char buf[40];
	uint64_t h;

	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(hash_bytes(1, buf, 16), hash_bytes(1, buf, 16));
	ck_assert_uint_ne(hash_bytes(1, buf, 16), hash_bytes(2, buf, 16));
	ck_assert_uint_ne(hash_bytes(1, NULL, 0), hash_bytes(2, NULL, 0));
	/* Zero bytes of different lengths differ: "a" is not "a\0". */
	for (size_t n = 0; n < 39; n++)
		ck_assert_uint_ne(hash_bytes(7, buf, n), hash_bytes(7, buf, n + 1));
	/* Each byte position of each length (whole words and tails). */
	for (size_t n = 1; n <= sizeof(buf); n++) {
		h = hash_bytes(7, buf, n);
		for (size_t i = 0; i < n; i++) {
			buf[i] = 1;
			ck_assert_uint_ne(hash_bytes(7, buf, n), h);
			buf[i] = 0;
		}
	}
}
END_TEST

START_TEST(hash_spreads_small_keys_over_buckets)
{
	/* Consecutive keys, as addresses and ports are: the low bits, which
	 * pick the bucket, must spread them. */
	unsigned count[64] = { 0 };

	for (uint32_t k = 0; k < 64 * 64; k++)
		count[hash_bytes(12345, &k, sizeof(k)) & 63]++;
	for (int b = 0; b < 64; b++) {
		ck_assert_uint_gt(count[b], 32);
		ck_assert_uint_lt(count[b], 96);
	}
	ck_assert_uint_eq(hash_mix64(0), 0);
	ck_assert_uint_ne(hash_mix64(1), hash_mix64(2));
	ck_assert_uint_ne(hash_seed(count), hash_seed(count + 1));
}
END_TEST

START_TEST(scan8_finds_the_lowest_match_exactly)
{
	unsigned char s[8];

	for (int at = 0; at < 8; at++) {
		uint64_t w, m;

		memset(s, 'a', sizeof(s));
		s[at] = '"';
		/* A byte just below, which borrows, after the match. */
		if (at < 7)
			s[at + 1] = '!';
		memcpy(&w, s, 8);
		m = scan8_eq(w, '"');
		ck_assert_uint_ne(m, 0);
		ck_assert_int_eq(__builtin_ctzll(m) / 8, at);
		m = scan8_below(w, 0x20);
		ck_assert_uint_eq(m, 0);
		s[at] = 0x1f;
		memcpy(&w, s, 8);
		ck_assert_int_eq(__builtin_ctzll(scan8_below(w, 0x20)) / 8, at);
	}
	/* Short loads: exactly r bytes, the rest zero. */
	memcpy(s, "\x01\x02\x03\x04\x05\x06\x07", 7);
	for (size_t r = 1; r < 8; r++) {
		uint64_t want = 0;

		for (size_t i = 0; i < r; i++)
			want |= (uint64_t)s[i] << (8 * i);
		ck_assert_uint_eq(scan8_load_short_le(s, r), want);
		ck_assert_uint_eq(scan8_load_short_le(s, r) & ~scan8_first_octets(r), 0);
	}
}
END_TEST

START_TEST(endpoints_format_for_both_families)
{
	struct ip_endpoint ep;
	char buf[IP_ENDPOINT_STRLEN];

	memset(&ep, 0, sizeof(ep));
	ep.family = 4;
	memcpy(ep.addr, "\x0a\x01\x02\x03", 4);
	ep.port = 143;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)), "10.1.2.3:143");
	ep.family = 6;
	memset(ep.addr, 0, 16);
	ep.addr[15] = 1;
	ep.port = 65535;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)), "[::1]:65535");
	ep.family = 9;
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, sizeof(buf)), "?:65535");
	/* Cut to the buffer, always terminated. */
	ep.family = 4;
	memcpy(ep.addr, "\x0a\x01\x02\x03", 4);
	ck_assert_str_eq(ip_endpoint_format(&ep, buf, 5), "10.1");
}
END_TEST

/* Objects come zeroed and 16-aligned, never overlap, past the end of a
 * block too; a freed one comes back zeroed; a size no block holds is
 * refused. */
START_TEST(mem_pool_objects_are_zeroed_aligned_and_reused)
{
	struct mem_pool p;
	enum { SIZE = 1000 };
	size_t per_block = (MEM_POOL_BLOCK - 16) / 1008;
	size_t n = per_block + 3;                /* into a second block */
	unsigned char **obj = calloc(n, sizeof(*obj));
	static unsigned char zero[SIZE];
	void *again;

	ck_assert_ptr_nonnull(obj);
	mem_pool_init(&p, SIZE);
	ck_assert_uint_eq(p.size, 1008);
	for (size_t i = 0; i < n; i++) {
		obj[i] = mem_pool_get(&p);
		ck_assert_ptr_nonnull(obj[i]);
		ck_assert_uint_eq((uintptr_t)obj[i] % 16, 0);
		ck_assert(memcmp(obj[i], zero, SIZE) == 0);
		memset(obj[i], (int)(i % 250) + 1, SIZE);
	}
	/* every object kept what was written to it: none overlaps */
	for (size_t i = 0; i < n; i++) {
		memset(zero, (int)(i % 250) + 1, SIZE);
		ck_assert(memcmp(obj[i], zero, SIZE) == 0);
	}
	memset(zero, 0, SIZE);
	mem_pool_put(&p, obj[5]);
	mem_pool_put(&p, NULL);
	again = mem_pool_get(&p);
	ck_assert_ptr_eq(again, obj[5]);
	ck_assert(memcmp(obj[5], zero, SIZE) == 0);
	mem_pool_fini(&p);
	ck_assert_ptr_null(p.blocks);

	mem_pool_init(&p, MEM_POOL_BLOCK);
	ck_assert_ptr_null(mem_pool_get(&p));
	mem_pool_fini(&p);
	free(obj);
}
END_TEST

/* A reserve holds the blocks it was asked for, no more; a pool's first
 * block is its own, the next come from the reserve while it has any,
 * then new ones; objects stay zeroed and apart; the room counts down. */
START_TEST(mem_pool_draws_on_its_reserve)
{
	struct mem_reserve r = { 0 };
	struct mem_pool p;
	size_t per_block = (MEM_POOL_BLOCK - 16) / 4096;
	static unsigned char zero[4096];
	unsigned char *first, *o;

	while (mem_reserve_fill(&r, 2))
		;
	ck_assert_uint_eq(r.n, 2);
	ck_assert_int_eq(mem_reserve_fill(&r, 1), 0);
	mem_pool_init(&p, 4096);
	p.reserve = &r;
	ck_assert_uint_eq(mem_pool_room(&p), per_block);
	first = mem_pool_get(&p);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(mem_pool_room(&p), per_block - 1);
	memset(first, 1, 4096);
	for (size_t i = 1; i < per_block; i++) {
		o = mem_pool_get(&p);
		ck_assert(memcmp(o, zero, sizeof(zero)) == 0);
		memset(o, 2, 4096);
	}
	ck_assert_uint_eq(mem_pool_room(&p), 0);
	ck_assert_uint_eq(r.n, 2);
	for (size_t b = 0; b < 3; b++) {
		for (size_t i = 0; i < per_block; i++) {
			o = mem_pool_get(&p);
			ck_assert_ptr_nonnull(o);
			ck_assert(memcmp(o, zero, sizeof(zero)) == 0);
			memset(o, 3, 4096);
		}
		ck_assert_uint_eq(r.n, b < 2 ? 1 - b : 0);
	}
	ck_assert_uint_eq(first[0], 1);
	ck_assert_uint_eq(first[4095], 1);
	mem_pool_fini(&p);
	mem_reserve_fini(&r);
	ck_assert_ptr_null(r.blocks);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

/* Each size comes from its class, zeroed; a freed object serves the
 * next of its class only; larger sizes and a NULL slab use the heap; an
 * array grows as mem_grow() grows it, its elements kept, and past the
 * slab's largest class moves to the heap. */
START_TEST(mem_slab_classes_reuse_and_grow)
{
	struct mem_slab sl;
	static const unsigned char zero[MEM_SLAB_MAX + 1];
	unsigned char *a, *b, *c, *big;
	uint32_t *arr = NULL;
	size_t cap = 0;

	mem_slab_init(&sl);
	a = mem_slab_get(&sl, 6);
	b = mem_slab_get(&sl, 16);
	c = mem_slab_get(&sl, 17);
	ck_assert(a != NULL && b != NULL && c != NULL);
	ck_assert_uint_eq((uintptr_t)a % 16, 0);
	ck_assert(memcmp(a, zero, 16) == 0 && memcmp(c, zero, 32) == 0);
	ck_assert_ptr_eq(sl.cls[0].free, NULL);
	memset(a, 0x55, 16);
	mem_slab_put(&sl, a, 6);
	ck_assert_ptr_eq(sl.cls[0].free, a);
	c = mem_slab_get(&sl, 17 + 8);                    /* not a's class */
	ck_assert_ptr_eq(c, sl.cls[1].next - 32);
	ck_assert_ptr_eq(mem_slab_get(&sl, 1), a);       /* back, zeroed */
	ck_assert(memcmp(a, zero, 16) == 0);
	big = mem_slab_get(&sl, MEM_SLAB_MAX + 1);
	ck_assert_ptr_nonnull(big);
	ck_assert(memcmp(big, zero, MEM_SLAB_MAX + 1) == 0);
	mem_slab_put(&sl, big, MEM_SLAB_MAX + 1);
	big = mem_slab_get(NULL, 10);
	ck_assert_ptr_nonnull(big);
	mem_slab_put(NULL, big, 10);

	for (uint32_t i = 0; i < 100; i++) {
		ck_assert_int_eq(mem_slab_grow(&sl, &arr, &cap, i + 1, sizeof(*arr), 8, 100), 0);
		ck_assert_uint_eq(cap, mem_grow_cap(cap, i + 1, 8, 100));
		arr[i] = i * 7;
	}
	ck_assert_uint_eq(cap, 100);
	for (uint32_t i = 0; i < 100; i++)
		ck_assert_uint_eq(arr[i], i * 7);
	ck_assert_int_eq(mem_slab_grow(&sl, &arr, &cap, 101, sizeof(*arr), 8, 100), -1);
	ck_assert_uint_eq(cap, 100);
	/* 8 then 16 elements came from the 32- and 64-byte classes. */
	ck_assert_ptr_nonnull(sl.cls[1].free);
	ck_assert_ptr_nonnull(sl.cls[3].free);
	mem_slab_put(&sl, arr, cap * sizeof(*arr));
	mem_slab_put(&sl, NULL, 16);
	mem_slab_fini(&sl);
	ck_assert_ptr_null(sl.cls[0].blocks);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");

	tcase_add_test(tc, dec_accepts_digits_and_leading_zeros);
	tcase_add_test(tc, dec_format_round_trips);
	tcase_add_test(tc, dec_rejects_empty_and_non_digits);
	tcase_add_test(tc, dec_overflow_is_caught_at_every_width);
	tcase_add_test(tc, dec_range_is_inclusive);
	tcase_add_test(tc, dec_span_counts_leading_digits);
	tcase_add_test(tc, mem_grow_cap_doubles_within_the_cap);
	tcase_add_test(tc, mem_grow_keeps_contents_and_respects_the_cap);
	tcase_add_test(tc, mem_grow_refuses_byte_counts_that_overflow);
	tcase_add_test(tc, mem_zero_zeroes);
	tcase_add_test(tc, mem_pool_objects_are_zeroed_aligned_and_reused);
	tcase_add_test(tc, mem_pool_draws_on_its_reserve);
	tcase_add_test(tc, mem_slab_classes_reuse_and_grow);
	tcase_add_test(tc, hash_bytes_depends_on_seed_length_and_every_byte);
	tcase_add_test(tc, hash_spreads_small_keys_over_buckets);
	tcase_add_test(tc, scan8_finds_the_lowest_match_exactly);
	tcase_add_test(tc, endpoints_format_for_both_families);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(util_suite());
}
