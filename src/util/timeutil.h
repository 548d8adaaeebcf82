/*
 * timeutil.h - clock readings in nanoseconds.
 * Contract: pure helpers (durations are parsed in parse.h).
 * Thread-safety: reentrant.
 */
#ifndef TS_TIMEUTIL_H
#define TS_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ts_now_ns(clockid_t clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#endif
