/*
 * gai_shim.c - an LD_PRELOAD getaddrinfo() for the live tests: a resolver
 * that answers as the test needs, every time (a real one depends on the
 * network). Names under .tcpscope.test:
 *   again.tcpscope.test   EAI_AGAIN (temporary failure)
 *   fail.tcpscope.test    EAI_FAIL (the resolver cannot answer)
 *   noname.tcpscope.test  EAI_NONAME (no such name)
 *   slow.tcpscope.test    127.0.0.1 after TCPSCOPE_GAI_DELAY_MS (default
 *                         1000), having written "gai_shim: resolving\n" to
 *                         stderr first, so that the test can signal the
 *                         process while it waits: a real resolver keeps
 *                         waiting for its answer through signals, so does
 *                         this one
 * Every other name goes to the next getaddrinfo (libc's).
 */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int gai_fn(const char *, const char *, const struct addrinfo *,
		   struct addrinfo **);

static void wait_ms(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) ==
	       EINTR)
		;
}

int getaddrinfo(const char *node, const char *service,
		const struct addrinfo *hints, struct addrinfo **res)
{
	static const char msg[] = "gai_shim: resolving\n";
	gai_fn *next = (gai_fn *)dlsym(RTLD_NEXT, "getaddrinfo");
	const char *d;

	if (!next)
		return EAI_SYSTEM;
	if (!node)
		return next(node, service, hints, res);
	if (strcmp(node, "again.tcpscope.test") == 0)
		return EAI_AGAIN;
	if (strcmp(node, "fail.tcpscope.test") == 0)
		return EAI_FAIL;
	if (strcmp(node, "noname.tcpscope.test") == 0)
		return EAI_NONAME;
	if (strcmp(node, "slow.tcpscope.test") == 0) {
		d = getenv("TCPSCOPE_GAI_DELAY_MS");
		if (write(2, msg, sizeof(msg) - 1) < 0)
			return EAI_SYSTEM;
		wait_ms(d ? atol(d) : 1000);
		return next("127.0.0.1", service, hints, res);
	}
	return next(node, service, hints, res);
}
