/*
 * test_files.h - files and directories for the suites that write them
 * (extraction): temporary directories, reading a file back, digests,
 * and the manifest's schema check.
 */
#ifndef IMT_TEST_FILES_H
#define IMT_TEST_FILES_H

#include <stddef.h>

/* Creates a fresh directory /tmp/PREFIX-XXXXXX; returns its path, which
 * stays valid until the next call. */
char *tf_make_dir(const char *prefix);
/* Removes dir and everything below it. */
void tf_remove_tree(const char *dir);
/* SHA-256 of p[0, n) as 64 lower-case hex digits and a NUL. */
void tf_sha_hex(const void *p, size_t n, char hex[65]);
/* Reads dir/name (dir may be NULL: name is the path) whole into a new
 * buffer with a NUL after it; *len_r is the file's size. */
unsigned char *tf_slurp(const char *dir, const char *name, size_t *len_r);
/* Entries of dir other than . and ..; 0 when it does not exist. */
int tf_count_entries(const char *dir);
/* Validates dir/manifest.ndjson against docs/extract-manifest.schema.json
 * (fails the test when a record does not match). */
void tf_validate_manifest(const char *dir);

/* Each of the n names name_of(0 .. n-1) stands in docs/extract.md as
 * `name` and in docs/extract-manifest.schema.json as "name"; name_of(n)
 * is "unknown". */
void tf_docs_list_names(const char *(*name_of)(unsigned), unsigned n);

#endif
