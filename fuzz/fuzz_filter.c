/*
 * fuzz_filter - the --filter parser and compiler on arbitrary text: it
 * must never crash, and what it compiles must be bytecode the kernel's
 * audit accepts (every jump forward, on the yes-chain, within len + 4)
 * and that runs to an answer on any socket.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/inet_diag.h>
#include <sys/socket.h>

#include "netlink/nl_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char expr[1024], err[256];
	uint8_t bc[NL_FILTER_MAX];
	size_t len;
	struct nl_filter_sock s = { .family = AF_INET6,
				    .sport = 443,
				    .dport = 80 };

	if (n >= sizeof(expr))
		n = sizeof(expr) - 1;
	memcpy(expr, d, n);
	expr[n] = '\0';
	if (nl_filter_compile(expr, bc, sizeof(bc), &len, err, sizeof(err)))
		return 0;
	if (!nl_filter_valid(bc, len))
		abort(); /* bytecode the kernel would refuse */
	(void)nl_filter_run(bc, len, &s);
	s.family = AF_INET;
	(void)nl_filter_run(bc, len, &s);
	return 0;
}
