/*
 * fuzz_tls.c - libFuzzer harness for the TLS stage: a script of
 * segments in both directions fed whole and in chunks, which must give
 * the same plaintext, hellos and findings (see fuzz_tls.h).  Crashing
 * inputs go to tests/fuzz/regressions/tls-*, replayed by tests/test_tls.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_tls_one(data, size);
}
