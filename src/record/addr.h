/*
 * addr.h - socket addresses as text, fast, byte for byte as inet_ntop().
 *
 * Contract: ts_addr_text() writes the text of a 4-byte IPv4 or 16-byte
 * IPv6 address (no NUL) and returns its length: IPv4 dotted decimal, IPv6
 * lowercase hex groups without leading zeros and the longest run (the
 * first of equal ones) of two or more zero groups as "::", an address
 * whose first 80 bits are zero and whose next 16 are 0 or ffff (but not
 * ::, ::1-style short tails) with its last 32 bits in dotted form; the
 * same text glibc's inet_ntop() gives, which tests/unit/test_addr.c checks
 * on every pattern of zero groups. `out` needs TS_ADDR_TEXT_MAX bytes.
 * No allocation, no locale, no printf: it runs for two addresses of every
 * record of the JSON format. Thread-safety: reentrant.
 */
#ifndef TS_ADDR_H
#define TS_ADDR_H

#include <stddef.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is the longest: 45. */
#define TS_ADDR_TEXT_MAX 46

/* family: AF_INET6 reads 16 bytes of a, anything else 4 (as records
 * hold them). Returns the bytes written. */
size_t ts_addr_text(char *out, int family, const unsigned char *a);

#endif
