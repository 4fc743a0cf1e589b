/*
 * tls_keys.c - the key store: NSS key log lines in, secrets out by
 * client random (see tls.h).
 *
 * A key log line is "LABEL <client random, 64 hex> <secret, hex>".  The
 * store keeps one entry per client random with a slot per label it knows
 * (TLS_SECRETS); entries live in one array, found through an
 * open-addressed index of array positions, hashed with the analyzer's one
 * hash under a per-store seed (lookups are keyed by randoms from the
 * wire).
 */
#include "tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hash.h"
#include "mem.h"


/* Longest key log line read: a label, 64 + 96 hex and two spaces fit in a
 * fraction of it. */
#define TLS_KEYS_LINE 1024

struct tls_key_entry {
	uint8_t random[TLS_RANDOM_LEN];
	uint8_t len[TLS_SEC__COUNT];     /* 0 = absent */
	uint8_t secret[TLS_SEC__COUNT][TLS_SECRET_MAX];
};

struct tls_keys {
	struct tls_key_entry *e;
	size_t n, alloc;
	uint32_t *slot;          /* entry index + 1; 0 = empty */
	size_t nslots;           /* power of two, > 2 * n */
	uint64_t seed;
};

static const char *const tls_secret_labels[TLS_SEC__COUNT] = {
#define TLS_SECRET_LABEL(e, label) [e] = label,
	TLS_SECRETS(TLS_SECRET_LABEL)
#undef TLS_SECRET_LABEL
};

struct tls_keys *tls_keys_new(void)
{
	struct tls_keys *k = calloc(1, sizeof(*k));

	if (k != NULL)
		k->seed = hash_seed(k);
	return k;
}

void tls_keys_free(struct tls_keys *k)
{
	if (k == NULL)
		return;
	if (k->e != NULL)
		OPENSSL_cleanse(k->e, k->alloc * sizeof(*k->e));
	free(k->e);
	free(k->slot);
	free(k);
}

size_t tls_keys_count(const struct tls_keys *k)
{
	return k->n;
}

static size_t tls_keys_hash(const struct tls_keys *k, const uint8_t *random)
{
	return (size_t)hash_bytes(k->seed, random, TLS_RANDOM_LEN) & (k->nslots - 1);
}

/* Index of random's entry, or SIZE_MAX. */
static size_t tls_keys_lookup(const struct tls_keys *k, const uint8_t *random)
{
	size_t mask, i;

	if (k->nslots == 0)
		return SIZE_MAX;
	mask = k->nslots - 1;
	for (i = tls_keys_hash(k, random); k->slot[i] != 0; i = (i + 1) & mask)
		if (memcmp(k->e[k->slot[i] - 1].random, random, TLS_RANDOM_LEN) == 0)
			return k->slot[i] - 1;
	return SIZE_MAX;
}

static void tls_keys_index(struct tls_keys *k, size_t idx)
{
	size_t mask = k->nslots - 1, i;

	for (i = tls_keys_hash(k, k->e[idx].random); k->slot[i] != 0; i = (i + 1) & mask)
		;
	k->slot[i] = (uint32_t)(idx + 1);
}

/* The entry for random, created when missing; NULL when out of memory. */
static struct tls_key_entry *tls_keys_entry(struct tls_keys *k, const uint8_t *random)
{
	size_t idx = tls_keys_lookup(k, random);

	if (idx != SIZE_MAX)
		return &k->e[idx];
	if (k->n >= UINT32_MAX - 1)
		return NULL;
	if (k->n == k->alloc) {
		size_t na = mem_grow_cap(k->alloc, k->n + 1, 16, UINT32_MAX / 2);
		struct tls_key_entry *ne = na != 0 ? calloc(na, sizeof(*ne)) : NULL;

		/* not mem_grow(): the old copy of the secrets is wiped first */
		if (ne == NULL)
			return NULL;
		if (k->n > 0)
			memcpy(ne, k->e, k->n * sizeof(*ne));
		if (k->e != NULL)
			OPENSSL_cleanse(k->e, k->alloc * sizeof(*k->e));
		free(k->e);
		k->e = ne;
		k->alloc = na;
	}
	if (2 * (k->n + 1) >= k->nslots) {
		size_t ns = k->nslots != 0 ? k->nslots * 2 : 64;
		uint32_t *s = calloc(ns, sizeof(*s));

		if (s == NULL)
			return NULL;
		free(k->slot);
		k->slot = s;
		k->nslots = ns;
		for (size_t i = 0; i < k->n; i++)
			tls_keys_index(k, i);
	}
	memset(&k->e[k->n], 0, sizeof(k->e[k->n]));
	memcpy(k->e[k->n].random, random, TLS_RANDOM_LEN);
	tls_keys_index(k, k->n);
	return &k->e[k->n++];
}

static int tls_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes len hex digits into len / 2 bytes; returns 0, or -1 on a
 * non-hex digit. */
static int tls_unhex(const char *s, size_t len, uint8_t *out)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		int hi = tls_hexval(s[i]), lo = tls_hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int tls_is_space(char c)
{
	return c == ' ' || c == '\t';
}

int tls_keys_add_line(struct tls_keys *k, const char *line, size_t len,
		      const char *file, unsigned long lineno,
		      tls_keys_warn_fn warn, void *user)
{
	const char *f[3];
	size_t fl[3], nf = 0, i = 0;
	int which = -1;
	uint8_t random[TLS_RANDOM_LEN], secret[TLS_SECRET_MAX];
	struct tls_key_entry *e;
	const char *why = NULL;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	while (i < len && tls_is_space(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	while (i < len) {
		size_t start = i;

		while (i < len && !tls_is_space(line[i]))
			i++;
		if (nf == 3) {
			nf++;
			break;
		}
		f[nf] = line + start;
		fl[nf++] = i - start;
		while (i < len && tls_is_space(line[i]))
			i++;
	}
	if (nf != 3) {
		why = "not of the form LABEL CLIENT_RANDOM SECRET";
		goto bad;
	}
	for (int s = 0; s < TLS_SEC__COUNT; s++)
		if (fl[0] == strlen(tls_secret_labels[s]) &&
		    memcmp(f[0], tls_secret_labels[s], fl[0]) == 0)
			which = s;
	if (which < 0)
		return 0;        /* another label: EXPORTER_SECRET, RSA... */
	if (fl[1] != 2 * TLS_RANDOM_LEN) {
		why = "the client random is not 64 hex digits";
		goto bad;
	}
	if (which == TLS_SEC_MASTER ? fl[2] != 96 : fl[2] != 64 && fl[2] != 96) {
		why = which == TLS_SEC_MASTER ? "the master secret is not 96 hex digits"
			: "the secret is not 64 or 96 hex digits";
		goto bad;
	}
	if (tls_unhex(f[1], fl[1], random) != 0 || tls_unhex(f[2], fl[2], secret) != 0) {
		why = "not hexadecimal";
		goto bad;
	}
	if ((e = tls_keys_entry(k, random)) == NULL) {
		OPENSSL_cleanse(secret, sizeof(secret));
		return -1;
	}
	memcpy(e->secret[which], secret, fl[2] / 2);
	e->len[which] = (uint8_t)(fl[2] / 2);
	OPENSSL_cleanse(secret, sizeof(secret));
	return 1;
bad:
	if (warn != NULL)
		warn(user, file, lineno, why);
	return 0;
}

long tls_keys_load_file(struct tls_keys *k, const char *path,
			tls_keys_warn_fn warn, void *user)
{
	char buf[TLS_KEYS_LINE];
	unsigned long lineno = 0;
	long stored = 0;
	int rc, err;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return -1;
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		size_t len = strlen(buf);

		lineno++;
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n' && !feof(fp)) {
			int ch;

			/* Too long for any key log line: skip to its end. */
			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			if (warn != NULL)
				warn(user, path, lineno, "line too long");
			continue;
		}
		rc = tls_keys_add_line(k, buf, len, path, lineno, warn, user);
		if (rc < 0) {
			OPENSSL_cleanse(buf, sizeof(buf));
			fclose(fp);
			errno = ENOMEM;
			return -1;
		}
		stored += rc;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	err = ferror(fp);
	fclose(fp);
	if (err) {
		errno = EIO;
		return -1;
	}
	return stored;
}

size_t tls_keys_find(const struct tls_keys *k,
		     const uint8_t random[TLS_RANDOM_LEN],
		     enum tls_secret which, const uint8_t **secret_r)
{
	size_t idx;

	if (k == NULL || (idx = tls_keys_lookup(k, random)) == SIZE_MAX ||
	    k->e[idx].len[which] == 0)
		return 0;
	*secret_r = k->e[idx].secret[which];
	return k->e[idx].len[which];
}
