/* check_main.h - the one main() of every Check suite. */
#ifndef IMT_CHECK_MAIN_H
#define IMT_CHECK_MAIN_H

#include <check.h>

/* Runs suite s (taking ownership), prints Check's summary; returns the
 * process exit status: 0 when every test passed, 1 otherwise. */
int imt_check_main(Suite *s);

#endif
