/* sha256.c - SHA-256 through libcrypto EVP (sha256.h). */
#include "sha256.h"

#include <string.h>

#include <openssl/evp.h>

int sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	h->ctx = NULL;
	if (c == NULL)
		return -1;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	h->ctx = c;
	return 0;
}

void sha256_update(struct sha256 *h, const void *p, size_t n)
{
	if (h->ctx != NULL && n > 0)
		EVP_DigestUpdate(h->ctx, p, n);
}

void sha256_zeros(struct sha256 *h, unsigned long long n)
{
	static const unsigned char zero[4096];

	while (n > 0) {
		size_t k = n < sizeof(zero) ? (size_t)n : sizeof(zero);

		sha256_update(h, zero, k);
		n -= k;
	}
}

void sha256_final(struct sha256 *h, unsigned char md[SHA256_LEN])
{
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	memset(buf, 0, sizeof(buf));
	if (h->ctx != NULL)
		EVP_DigestFinal_ex(h->ctx, buf, &n);
	memcpy(md, buf, SHA256_LEN);
	sha256_free(h);
}

void sha256_final_hex(struct sha256 *h, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[SHA256_LEN];

	sha256_final(h, md);
	for (unsigned i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[64] = '\0';
}

void sha256_free(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
