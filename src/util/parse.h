/*
 * parse.h - strict parsing of numbers, durations and listen addresses
 * from user input (command line, destination URLs, HTTP requests).
 * Contract: the whole string must be consumed; no sign, no whitespace.
 * Outputs are untouched on failure. Pure and reentrant.
 */
#ifndef TS_PARSE_H
#define TS_PARSE_H

#include <stdint.h>
#include <sys/socket.h>

/* Decimal in [lo, hi]. 0 and *out, or -EINVAL. */
int ts_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* "<digits>[ms|s|m|h]" (a bare number means seconds) in [lo_ms, hi_ms]. 0
 * and *ms_out, or -EINVAL (empty, no digits, bad unit, out of range; a
 * value whose milliseconds do not fit 64 bits is out of range, never
 * wrapped). */
int ts_parse_duration_ms(const char *s, uint64_t lo_ms, uint64_t hi_ms,
			 uint64_t *ms_out);

/* "[ADDR:]PORT" to listen on: ADDR an IPv4 literal or a bracketed IPv6
 * one ([::1]), 127.0.0.1 when absent; PORT 1..65535 (no names: a listen
 * address is never resolved). 0, *addr and *len, or -EINVAL. */
int ts_parse_listen(const char *s, struct sockaddr_storage *addr,
		    socklen_t *len);

#endif
