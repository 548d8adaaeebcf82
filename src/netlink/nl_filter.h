/*
 * nl_filter.h - ss's filter syntax compiled to inet_diag bytecode
 * (INET_DIAG_REQ_BYTECODE), so the kernel skips unmatched sockets.
 *
 * Syntax (as ss reads it):
 *   expr    := term { ("or" | "||" | ",") term }
 *   term    := factor { ["and" | "&&"] factor }     (juxtaposition: and)
 *   factor  := ("not" | "!") factor | "(" expr ")" | primary
 *   primary := ("sport" | "dport") OP PORT
 *            | ("src" | "dst") ["=" | "=="] HOST
 *   OP      := = == != < > <= >= eq neq ne lt gt le ge
 *   PORT    := [:]N (1..65535; 0 allowed for comparisons)
 *   HOST    := ADDR[/PREFIX][:PORT] | [ADDR6][/PREFIX][:PORT] | *[:PORT]
 *              | :PORT    (IPv4 or IPv6; an IPv4 condition also matches
 *                          IPv4-mapped IPv6 addresses, as the kernel does)
 * Contract: nl_filter_compile() is pure; it writes at most `cap` bytes of
 * bytecode the kernel's audit accepts (every jump forward, on 4-byte op
 * boundaries of the yes-chain) and its length, or -EINVAL with a reason
 * that quotes the bad token and its column in `err` (outputs untouched).
 * nl_filter_run() evaluates bytecode on one socket exactly as the
 * kernel's inet_diag_bc_run() does, for what the kernel cannot filter
 * (close events) and for tests.
 * Thread-safety: reentrant.
 */
#ifndef TS_NL_FILTER_H
#define TS_NL_FILTER_H

#include <stddef.h>
#include <stdint.h>

#define NL_FILTER_MAX 512 /* bytes of bytecode; the kernel takes more */

struct nl_filter_sock {
	uint8_t family;		  /* AF_INET, AF_INET6 */
	uint16_t sport, dport;	  /* host order */
	uint8_t src[16], dst[16]; /* network order; IPv4 in the first 4 */
};

int nl_filter_compile(const char *expr, uint8_t *bc, size_t cap,
		      size_t *len_out, char *err, size_t errlen);
/* 1 when bytecode passes the kernel audit's jump rules (every op on the
 * yes-chain, yes and no forward, 4-byte aligned, within len + 4, every
 * no-target an op of the yes-chain or the end), else 0. For tests and
 * the fuzzer: what nl_filter_compile() writes always passes. */
int nl_filter_valid(const uint8_t *bc, size_t len);
/* 1 when the socket matches, 0 when not (an empty program matches). */
int nl_filter_run(const uint8_t *bc, size_t len,
		  const struct nl_filter_sock *s);

#endif
