/* test_files.c - see test_files.h. */
#include "test_files.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

char *tf_make_dir(const char *prefix)
{
	static char path[128];

	snprintf(path, sizeof(path), "/tmp/%s-XXXXXX", prefix);
	ck_assert_ptr_nonnull(mkdtemp(path));
	return path;
}

void tf_remove_tree(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

void tf_sha_hex(const void *p, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int len = 0;

	ck_assert_int_eq(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

unsigned char *tf_slurp(const char *dir, const char *name, size_t *len_r)
{
	char path[512];
	unsigned char *buf;
	struct stat sb;
	FILE *f;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fstat(fileno(f), &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	buf[sb.st_size] = '\0';
	*len_r = (size_t)sb.st_size;
	return buf;
}

int tf_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

void tf_validate_manifest(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 tests/helpers/validate_manifest.py '%s/manifest.ndjson' "
		 "docs/extract-manifest.schema.json", dir);
	ck_assert_int_eq(system(cmd), 0);
}

void tf_docs_list_names(const char *(*name_of)(unsigned), unsigned n)
{
	size_t dlen, slen;
	char *doc = (char *)tf_slurp(NULL, "docs/extract.md", &dlen);
	char *schema = (char *)tf_slurp(NULL, "docs/extract-manifest.schema.json", &slen);
	char want[64];

	for (unsigned b = 0; b < n; b++) {
		snprintf(want, sizeof(want), "`%s`", name_of(b));
		ck_assert_msg(strstr(doc, want) != NULL, "docs/extract.md lacks %s", want);
		snprintf(want, sizeof(want), "\"%s\"", name_of(b));
		ck_assert_msg(strstr(schema, want) != NULL, "the schema lacks %s", want);
	}
	ck_assert_str_eq(name_of(n), "unknown");
	free(doc);
	free(schema);
}
