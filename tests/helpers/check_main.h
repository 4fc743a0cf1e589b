/* check_main.h - the one main() of every Check suite. */
#ifndef IMT_CHECK_MAIN_H
#define IMT_CHECK_MAIN_H

#include <check.h>
#include <stddef.h>

/* Runs suite s (taking ownership), prints Check's summary; returns the
 * process exit status: 0 when every test passed, 1 otherwise. */
int imt_check_main(Suite *s);

/* Reads a whole file into a malloc'ed buffer (one byte more, a NUL) and
 * sets *len_r; returns NULL when it cannot be read. */
unsigned char *imt_read_file(const char *path, size_t *len_r);

#endif
