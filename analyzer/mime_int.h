/*
 * mime_int.h - what mime.c and mime_scan.c share (not part of the API).
 */
#ifndef IMT_MIME_INT_H
#define IMT_MIME_INT_H

#include <stdint.h>
#include <time.h>

#include "imt_limits.h"

/* Milliseconds of a monotonic clock, for the per-message time cap. */
static inline uint64_t mime_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

struct mime_scan_result {
	uint64_t cut;            /* bytes the parser may see */
	unsigned limits;         /* 1u << MIME_L_*: the cap that set cut */
	uint32_t parts;          /* entities before cut */
	uint32_t depth;          /* deepest nesting before cut */
};

/*
 * Reads the message at fd from its start to its end and finds how much
 * of it a MIME parser can be given within the caps of lim: all of it, or
 * the bytes before the line that would pass a cap.  deadline_ms is a
 * mime_now_ms() value past which the scan stops (the rest is cut).
 * Returns 0, or -1 on a read error or out of memory (errno set).
 */
int mime_scan(int fd, const struct imt_limits *lim, uint64_t deadline_ms,
	      struct mime_scan_result *r);

#endif
