/* parse.c - number and duration parsing (see parse.h). */
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* Parses the leading digits; *end points past them. */
static int leading_u64(const char *s, uint64_t *out, const char **end)
{
	char *e;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno)
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

int ts_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *end;
	uint64_t v;

	if (leading_u64(s, &v, &end) < 0 || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int ts_parse_duration_ms(const char *s, uint64_t lo_ms, uint64_t hi_ms,
			 uint64_t *ms_out)
{
	const char *unit;
	uint64_t v, mult;

	if (leading_u64(s, &v, &unit) < 0)
		return -EINVAL;
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1000;
	else if (strcmp(unit, "ms") == 0)
		mult = 1;
	else if (strcmp(unit, "m") == 0)
		mult = 60000;
	else if (strcmp(unit, "h") == 0)
		mult = 3600000;
	else
		return -EINVAL;
	/* checked before multiplying: a product that wraps could land in
	 * range */
	if (v > UINT64_MAX / mult || v * mult < lo_ms || v * mult > hi_ms)
		return -EINVAL;
	*ms_out = v * mult;
	return 0;
}

int ts_parse_listen(const char *s, struct sockaddr_storage *addr,
		    socklen_t *len)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	char host[INET6_ADDRSTRLEN + 2] = "127.0.0.1";
	const char *port = strrchr(s, ':');
	uint64_t p;
	size_t n;

	if (port) {
		n = (size_t)(port - s);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		port++;
	} else {
		port = s;
	}
	if (ts_parse_u64(port, 1, 65535, &p) < 0)
		return -EINVAL;
	n = strlen(host);
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1)
			return -EINVAL;
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*v6);
	} else if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*len = sizeof(*v4);
	} else {
		return -EINVAL;
	}
	*addr = ss;
	return 0;
}
