/*
 * test_community_id.c - Community ID v1 against the published baseline of
 * corelight/community-id-spec (baseline/baseline_deflt.json for seed 0,
 * baseline_seed1.json for seed 1): every TCP, UDP, SCTP and port-less
 * vector there, in both directions.  The ICMP rows are left out, since
 * the ICMP type/code mapping is not implemented.
 */
#include <check.h>

#include "check_main.h"
#include <arpa/inet.h>
#include <string.h>

#include <openssl/evp.h>

#include "community_id.h"

struct cid_vector {
	uint8_t proto;
	const char *saddr, *daddr;
	uint16_t sport, dport;
	uint16_t seed;
	const char *id;
};

static const struct cid_vector vectors[] = {
	{ 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a",
	  63943, 25, 0, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=" },
	{ 6, "128.232.110.120", "66.35.250.204", 34855, 80, 0,
	  "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
	{ 17, "192.168.1.52", "8.8.8.8", 54585, 53, 0,
	  "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" },
	{ 132, "192.168.170.8", "192.168.170.56", 7, 7, 0,
	  "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=" },
	{ 46, "10.1.12.1", "10.1.12.2", 0, 0, 0,
	  "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" },
	{ 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a",
	  63943, 25, 1, "1:eJYTW6AOzFLlSUoESovMjnu7rMw=" },
	{ 6, "128.232.110.120", "66.35.250.204", 34855, 80, 1,
	  "1:3V71V58M3Ksw/yuFALMcW0LAHvc=" },
	{ 17, "192.168.1.52", "8.8.8.8", 54585, 53, 1,
	  "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=" },
	{ 132, "192.168.170.8", "192.168.170.56", 7, 7, 1,
	  "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=" },
	{ 46, "10.1.12.1", "10.1.12.2", 0, 0, 1,
	  "1:rYir8gphR31noO9iDRQmF/BteEI=" },
};

static void endpoint(struct ip_endpoint *ep, const char *addr, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, addr, ep->addr) == 1) {
		ep->family = 4;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, addr, ep->addr), 1);
		ep->family = 6;
	}
	ep->port = port;
}

START_TEST(baseline_vectors_both_directions)
{
	const struct cid_vector *v = &vectors[_i];
	struct ip_endpoint s, d;
	char buf[COMMUNITY_ID_STRLEN];

	endpoint(&s, v->saddr, v->sport);
	endpoint(&d, v->daddr, v->dport);
	ck_assert_uint_eq(community_id_v1(&s, &d, v->proto, v->seed, buf,
					  sizeof(buf)), 30);
	ck_assert_str_eq(buf, v->id);
	ck_assert_uint_eq(community_id_v1(&d, &s, v->proto, v->seed, buf,
					  sizeof(buf)), 30);
	ck_assert_str_eq(buf, v->id);
}
END_TEST

/* Equal addresses: the port alone orders the endpoints. */
START_TEST(same_address_ordered_by_port)
{
	struct ip_endpoint a, b;
	char x[COMMUNITY_ID_STRLEN], y[COMMUNITY_ID_STRLEN];

	endpoint(&a, "127.0.0.1", 40000);
	endpoint(&b, "127.0.0.1", 143);
	ck_assert_uint_eq(community_id_v1(&a, &b, 6, 0, x, sizeof(x)), 30);
	ck_assert_uint_eq(community_id_v1(&b, &a, 6, 0, y, sizeof(y)), 30);
	ck_assert_str_eq(x, y);
	b.port = 993;
	ck_assert_uint_eq(community_id_v1(&a, &b, 6, 0, y, sizeof(y)), 30);
	ck_assert_str_ne(x, y);
}
END_TEST

START_TEST(refuses_bad_arguments)
{
	struct ip_endpoint a, b;
	char buf[COMMUNITY_ID_STRLEN];

	endpoint(&a, "10.0.0.1", 1);
	endpoint(&b, "::1", 2);
	ck_assert_uint_eq(community_id_v1(&a, &b, 6, 0, buf, sizeof(buf)), 0);
	endpoint(&b, "10.0.0.2", 2);
	ck_assert_uint_eq(community_id_v1(&a, &b, 6, 0, buf, sizeof(buf) - 1), 0);
	a.family = 0;
	b.family = 0;
	ck_assert_uint_eq(community_id_v1(&a, &b, 6, 0, buf, sizeof(buf)), 0);
}
END_TEST

/* The digest the IDs are made of: FIPS 180-2's test vectors (one block,
 * two blocks) and the empty input. */
START_TEST(sha1_known_answers)
{
	static const struct {
		const char *in, *md;
	} v[] = {
		{ "abc", "\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e\x25\x71\x78\x50\xc2\x6c\x9c\xd0\xd8\x9d" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "\x84\x98\x3e\x44\x1c\x3b\xd2\x6e\xba\xae\x4a\xa1\xf9\x51\x29\xe5\xe5\x46\x70\xf1" },
		{ "", "\xda\x39\xa3\xee\x5e\x6b\x4b\x0d\x32\x55\xbf\xef\x95\x60\x18\x90\xaf\xd8\x07\x09" },
	};
	uint8_t got[20];

	for (size_t i = 0; i < sizeof(v) / sizeof(*v); i++) {
		ck_assert_int_eq(community_id_sha1(v[i].in, strlen(v[i].in), got), 0);
		ck_assert_mem_eq(got, v[i].md, 20);
	}
}
END_TEST

static Suite *community_id_suite(void)
{
	Suite *s = suite_create("community_id");
	TCase *tc = tcase_create("v1");

	tcase_add_loop_test(tc, baseline_vectors_both_directions, 0,
			    sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_test(tc, same_address_ordered_by_port);
	tcase_add_test(tc, refuses_bad_arguments);
	tcase_add_test(tc, sha1_known_answers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return imt_check_main(community_id_suite());
}
