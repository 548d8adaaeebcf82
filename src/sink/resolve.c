/* resolve.c - HOST:PORT lookups of the socket destinations (resolve.h). */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* A name the resolver says does not exist is bad input (-EINVAL: exit 2);
 * a resolver that cannot answer now (EAI_AGAIN, EAI_FAIL, EAI_MEMORY,
 * EAI_SYSTEM) is a runtime failure: the same URL may work on the next
 * start. */
static int resolve_error(int gai, int sys_errno, const char *host, char *err,
			 size_t errlen)
{
	if (gai == EAI_SYSTEM) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host,
			 strerror(sys_errno));
		return sys_errno ? -sys_errno : -EIO;
	}
	snprintf(err, errlen, "cannot resolve '%s': %s", host,
		 gai_strerror(gai));
	switch (gai) {
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_FAIL:
		return -EIO;
	case EAI_MEMORY:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
}

int sink_resolve(const char *host, const char *port, int socktype,
		 struct addrinfo **out, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = socktype,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	int rc = getaddrinfo(host, port, &hints, out);

	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
		hints.ai_flags &=
			~AI_ADDRCONFIG; /* e.g. ::1 with no v6 route */
		rc = getaddrinfo(host, port, &hints, out);
	}
	return rc ? resolve_error(rc, errno, host, err, errlen) : 0;
}
