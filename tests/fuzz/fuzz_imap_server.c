/*
 * fuzz_imap_server.c - libFuzzer harness for the IMAP parser, server
 * side: chunking, gaps, limits and modes come from the first two bytes
 * (see fuzz_imap.h); whole and chunked parses must agree.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_one(IMAP_SIDE_SERVER, data, size);
}
