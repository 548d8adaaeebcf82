/* sink_url.c - destination URL parsing (see sink_url.h). */
#include "sink_url.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/parse.h"
#include "../util/secret.h"

int sink_url_fail(const struct sink_url *u, char *err, size_t errlen,
		  const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	char url[1024];

	ts_mask_url(u->url, url, sizeof(url));
	snprintf(err, errlen, "invalid destination '%s': %s", url, why);
	return -EINVAL;
}

int sink_format_parse(const char *name, enum sink_format *out)
{
	if (strcmp(name, "json") == 0)
		*out = SINK_FMT_JSON;
	else if (strcmp(name, "protobuf") == 0)
		*out = SINK_FMT_PROTOBUF;
	else if (strcmp(name, "protobuf-list") == 0)
		*out = SINK_FMT_PROTOBUF_LIST;
	else
		return -EINVAL;
	return 0;
}

const char *sink_format_name(enum sink_format f)
{
	switch (f) {
	case SINK_FMT_JSON:
		return "json";
	case SINK_FMT_PROTOBUF:
		return "protobuf";
	case SINK_FMT_PROTOBUF_LIST:
		return "protobuf-list";
	default:
		return "auto";
	}
}

const char *sink_url_take(struct sink_url *u, const char *key)
{
	const char *v = NULL;

	/* the last one wins, as on a command line */
	for (unsigned i = 0; i < u->nopt; i++)
		if (strcmp(u->opt[i].key, key) == 0) {
			u->opt[i].used = 1;
			v = u->opt[i].val;
		}
	return v;
}

int sink_url_take_u32(struct sink_url *u, const char *key, uint32_t lo,
		      uint32_t hi, uint32_t *out, char *err, size_t errlen)
{
	const char *val = sink_url_take(u, key);
	uint64_t v;

	if (!val)
		return 0;
	if (ts_parse_u64(val, lo, hi, &v) < 0)
		return sink_url_fail(u, err, errlen,
				     "%s '%.40s' (expected %u..%u)", key, val,
				     lo, hi);
	*out = (uint32_t)v;
	return 0;
}

int sink_url_take_limits(struct sink_url *u, uint32_t max_bytes_hi, char *err,
			 size_t errlen)
{
	uint32_t wait = UINT32_MAX;
	int rc;

	rc = sink_url_take_u32(u, "max_bytes", 64, max_bytes_hi, &u->max_bytes,
			       err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "max_rows", 1, SINK_MAX_ROWS_LIMIT,
				       &u->max_rows, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "wait_ms", 0, SINK_WAIT_MS_LIMIT,
				       &wait, err, errlen);
	if (rc == 0 && wait != UINT32_MAX)
		u->wait_ms = (int32_t)wait;
	return rc;
}

int sink_url_take_path(struct sink_url *u, size_t max, char *err, size_t errlen)
{
	size_t n = strlen(u->target);

	if (n == 0)
		return sink_url_fail(u, err, errlen, "missing PATH");
	if (n >= max)
		return sink_url_fail(u, err, errlen, "path too long");
	memcpy(u->path, u->target, n + 1);
	return 0;
}

/* The port: 1..65535, into u->port. */
static int take_port(struct sink_url *u, const char *p, size_t n, char *err,
		     size_t errlen)
{
	char buf[8];
	uint64_t port;

	if (n == 0 || n >= sizeof(buf))
		return sink_url_fail(u, err, errlen, "port must be 1..65535");
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (ts_parse_u64(buf, 1, 65535, &port) < 0)
		return sink_url_fail(u, err, errlen, "port must be 1..65535");
	snprintf(u->port, sizeof(u->port), "%u", (unsigned)port);
	return 0;
}

int sink_url_take_hostport(struct sink_url *u, const char **rest, char *err,
			   size_t errlen)
{
	const char *t = u->target, *colon, *host, *end;
	const char *scheme = u->ops->scheme;
	size_t hlen;

	if (strncmp(t, "//", 2) != 0)
		return sink_url_fail(u, err, errlen, "expected %s://HOST:PORT",
				     scheme);
	t += 2;
	end = rest ? t + strcspn(t, "/") : t + strlen(t);
	if (t[0] == '[') {
		const char *rb = memchr(t, ']', (size_t)(end - t));
		if (!rb || rb + 1 >= end || rb[1] != ':')
			return sink_url_fail(u, err, errlen,
					     "expected %s://[IPV6]:PORT",
					     scheme);
		host = t + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = memchr(t, ':', (size_t)(end - t));
		if (!colon)
			return sink_url_fail(u, err, errlen,
					     "expected %s://HOST:PORT", scheme);
		if (memchr(colon + 1, ':', (size_t)(end - colon - 1)))
			return sink_url_fail(u, err, errlen,
					     "IPv6 literals need brackets: "
					     "%s://[::1]:PORT",
					     scheme);
		host = t;
		hlen = (size_t)(colon - t);
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return sink_url_fail(u, err, errlen, "empty or overlong host");
	if (take_port(u, colon + 1, (size_t)(end - colon - 1), err, errlen) < 0)
		return -EINVAL;
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	if (rest)
		*rest = end;
	return 0;
}

/* "k=v&k=v" into u->query and u->opt[]. */
static int split_query(struct sink_url *u, const char *q, char *err,
		       size_t errlen)
{
	size_t n = strlen(q);
	char *p = u->query;

	if (n >= sizeof(u->query))
		return sink_url_fail(u, err, errlen, "options too long");
	memcpy(u->query, q, n + 1);
	while (*p) {
		size_t len = strcspn(p, "&");
		char *eq;
		if (len == 0)
			return sink_url_fail(u, err, errlen, "empty option");
		if (u->nopt == SINK_URL_MAX_OPTS)
			return sink_url_fail(u, err, errlen,
					     "more than %d options",
					     SINK_URL_MAX_OPTS);
		eq = memchr(p, '=', len);
		if (!eq)
			return sink_url_fail(u, err, errlen,
					     "option without '=' (expected "
					     "key=value)");
		*eq = '\0';
		u->opt[u->nopt].key = p;
		u->opt[u->nopt].val = eq + 1;
		u->opt[u->nopt++].used = 0;
		p += len;
		if (*p == '&')
			*p++ = '\0';
	}
	return 0;
}

/* Every option must have been taken by someone. */
static int check_taken(const struct sink_url *u, char *err, size_t errlen)
{
	for (unsigned i = 0; i < u->nopt; i++)
		if (!u->opt[i].used)
			return sink_url_fail(
				u, err, errlen,
				"unknown option '%.40s' (expected format, "
				"fields%s%s)",
				u->opt[i].key, u->ops->options[0] ? ", " : "",
				u->ops->options);
	return 0;
}

static int split(const char *url, struct sink_url *u, char *err, size_t errlen)
{
	const char *t, *q;
	const char *f;
	size_t tlen;

	u->ops = sink_registry_find(url, &t);
	if (!u->ops) {
		char known[256];
		sink_registry_list(known, sizeof(known));
		return sink_url_fail(u, err, errlen,
				     "unknown scheme (expected %s)", known);
	}
	q = strchr(t, '?');
	tlen = q ? (size_t)(q - t) : strlen(t);
	if (tlen >= sizeof(u->target))
		return sink_url_fail(u, err, errlen, "target too long");
	memcpy(u->target, t, tlen);
	u->target[tlen] = '\0';
	if (q && split_query(u, q + 1, err, errlen) < 0)
		return -EINVAL;
	f = sink_url_take(u, "fields");
	if (f) {
		char why[200];
		if (ts_field_set_parse(f, &u->fields, why, sizeof(why)) < 0)
			return sink_url_fail(u, err, errlen, "fields: %s", why);
		u->has_fields = 1;
	}
	f = sink_url_take(u, "format");
	if (f && sink_format_parse(f, &u->format) < 0)
		return sink_url_fail(u, err, errlen,
				     "format '%.40s' (expected json, "
				     "protobuf or protobuf-list)",
				     f);
	return 0;
}

int sink_url_parse(const char *url, struct sink_url *out, char *err,
		   size_t errlen)
{
	struct sink_url *u = calloc(1, sizeof(*u));
	int rc;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->url = url;
	u->format = SINK_FMT_AUTO;
	u->wait_ms = -1;
	u->mode = -1;
	rc = split(url, u, err, errlen);
	if (rc == 0)
		rc = u->ops->parse(u, err, errlen);
	if (rc == 0)
		rc = check_taken(u, err, errlen);
	if (rc == 0) {
		*out = *u;
		/* the options point into the copy's own query */
		for (unsigned i = 0; i < out->nopt; i++) {
			out->opt[i].key =
				out->query + (u->opt[i].key - u->query);
			out->opt[i].val =
				out->query + (u->opt[i].val - u->query);
		}
	}
	free(u);
	return rc;
}
