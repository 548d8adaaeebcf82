/*
 * parse.h - strict parsing of numbers and durations from user input
 * (command line, destination URLs).
 * Contract: the whole string must be consumed; no sign, no whitespace.
 * Outputs are untouched on failure. Pure and reentrant.
 */
#ifndef TS_PARSE_H
#define TS_PARSE_H

#include <stdint.h>

/* Decimal in [lo, hi]. 0 and *out, or -EINVAL. */
int ts_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* "<digits>[ms|s|m|h]" (a bare number means seconds) in [lo_ms, hi_ms]. 0
 * and *ms_out, or -EINVAL (empty, no digits, bad unit, out of range; a
 * value whose milliseconds do not fit 64 bits is out of range, never
 * wrapped). */
int ts_parse_duration_ms(const char *s, uint64_t lo_ms, uint64_t hi_ms,
			 uint64_t *ms_out);

#endif
