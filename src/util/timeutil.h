/*
 * timeutil.h - clocks and durations.
 * Contract: pure helpers; ts_parse_duration_ms() accepts "<digits><unit>"
 * with unit ms, s or m (a bare number means seconds).
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

/* 0 and *ms_out, or -EINVAL (empty, no digits, bad unit, overflow). */
int ts_parse_duration_ms(const char *s, uint64_t *ms_out);

#endif
