/*
 * resolve.h - a destination's HOST:PORT, resolved once at startup.
 *
 * Contract: sink_resolve() looks up host and the numeric port for
 * `socktype` (SOCK_DGRAM, SOCK_STREAM), first with AI_ADDRCONFIG, then
 * without it when that finds nothing (::1 in a namespace without an IPv6
 * route). 0 and *out (freeaddrinfo() it), or, with a reason in `err`:
 * -EINVAL when the name does not exist (bad input: exit 2), -EAGAIN,
 * -EIO, -ENOMEM or -errno when the resolver cannot answer now (a runtime
 * failure: the same URL may work on the next start). *out is untouched
 * on failure. Blocking (the resolver's own bound): startup only.
 * Thread-safety: reentrant.
 */
#ifndef TS_RESOLVE_H
#define TS_RESOLVE_H

#include <stddef.h>

struct addrinfo;

int sink_resolve(const char *host, const char *port, int socktype,
		 struct addrinfo **out, char *err, size_t errlen);

#endif
