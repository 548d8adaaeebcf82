/* sink_url.c - destination URL parsing (see sink_url.h). */
#include "sink_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/parse.h"

static const struct {
	const char *prefix; /* what precedes the target */
	enum sink_kind kind;
} schemes[] = {
	{ "stdout", SINK_KIND_STDOUT },	     { "null", SINK_KIND_NULL },
	{ "file:", SINK_KIND_FILE },	     { "udp://", SINK_KIND_UDP },
	{ "unixgram:", SINK_KIND_UNIXGRAM }, { "unix:", SINK_KIND_UNIX },
};

static int fail(char *err, size_t errlen, const char *url, const char *why)
{
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

/* The options of file: alone: 0, -EINVAL (why says what is wrong), or 1
 * when kv is not one of them. */
static int file_opt(const char *kv, const char *val, struct sink_url *u,
		    char *why, size_t len)
{
	size_t n = strlen(val);

	if (strcmp(kv, "mode") == 0) {
		/* octal digits only: "0640", "640"; no setuid/sticky bits */
		if (n && n <= 4 && strspn(val, "01234567") == n &&
		    strtoul(val, NULL, 8) <= 0777) {
			u->mode = (int32_t)strtoul(val, NULL, 8);
			return 0;
		}
		snprintf(why, len,
			 "mode '%.40s' (expected octal 0..0777, "
			 "e.g. 0640)",
			 val);
		return -EINVAL;
	}
	if (strcmp(kv, "follow") == 0) {
		if (strcmp(val, "0") == 0 || strcmp(val, "1") == 0) {
			u->follow = val[0] == '1';
			return 0;
		}
		snprintf(why, len, "follow '%.40s' (expected 0 or 1)", val);
		return -EINVAL;
	}
	return 1; /* wait_ms is checked once the file is open (fstat) */
}

/* One "key=value" (NUL-terminated copy). */
static int parse_opt(char *kv, struct sink_url *u, const char *url, char *err,
		     size_t errlen)
{
	char *val = strchr(kv, '=');
	char why[160];
	uint64_t v;

	if (!val)
		return fail(err, errlen, url,
			    "option without '=' (expected key=value)");
	*val++ = '\0';
	if (u->kind == SINK_KIND_FILE) {
		int rc = file_opt(kv, val, u, why, sizeof(why));
		if (rc == 0)
			return 0;
		if (rc < 0)
			return fail(err, errlen, url, why);
	}
	if (strcmp(kv, "format") == 0) {
		if (sink_format_parse(val, &u->format) == 0)
			return 0;
		snprintf(why, sizeof(why),
			 "format '%.40s' (expected json, "
			 "protobuf or protobuf-list)",
			 val);
	} else if (strcmp(kv, "max_bytes") == 0) {
		uint64_t hi = u->kind == SINK_KIND_UDP ? SINK_UDP_MAX_BYTES
						       : SINK_MAX_BYTES_LIMIT;
		if (ts_parse_u64(val, 64, hi, &v) == 0) {
			u->max_bytes = (uint32_t)v;
			return 0;
		}
		snprintf(why, sizeof(why),
			 "max_bytes '%.40s' (expected 64..%llu)", val,
			 (unsigned long long)hi);
	} else if (strcmp(kv, "max_rows") == 0) {
		if (ts_parse_u64(val, 1, SINK_MAX_ROWS_LIMIT, &v) == 0) {
			u->max_rows = (uint32_t)v;
			return 0;
		}
		snprintf(why, sizeof(why), "max_rows '%.40s' (expected 1..%u)",
			 val, SINK_MAX_ROWS_LIMIT);
	} else if (strcmp(kv, "buffer") == 0 && u->kind == SINK_KIND_UNIX) {
		if (ts_parse_u64(val, 4096, SINK_MAX_BYTES_LIMIT, &v) == 0) {
			u->buffer = (uint32_t)v;
			return 0;
		}
		snprintf(why, sizeof(why), "buffer '%.40s' (expected 4096..%u)",
			 val, SINK_MAX_BYTES_LIMIT);
	} else if (strcmp(kv, "wait_ms") == 0) {
		if (ts_parse_u64(val, 0, SINK_WAIT_MS_LIMIT, &v) == 0) {
			u->wait_ms = (int32_t)v;
			return 0;
		}
		snprintf(why, sizeof(why), "wait_ms '%.40s' (expected 0..%d)",
			 val, SINK_WAIT_MS_LIMIT);
	} else {
		snprintf(why, sizeof(why),
			 "unknown option '%.40s' (expected "
			 "format, max_bytes, max_rows, wait_ms%s)",
			 kv,
			 u->kind == SINK_KIND_UNIX   ? ", buffer"
			 : u->kind == SINK_KIND_FILE ? ", mode, follow"
						     : "");
	}
	return fail(err, errlen, url, why);
}

static int parse_query(const char *q, struct sink_url *u, const char *url,
		       char *err, size_t errlen)
{
	char kv[128];

	while (*q) {
		size_t n = strcspn(q, "&");
		if (n == 0 || n >= sizeof(kv))
			return fail(err, errlen, url,
				    "empty or overlong option");
		memcpy(kv, q, n);
		kv[n] = '\0';
		if (parse_opt(kv, u, url, err, errlen) < 0)
			return -EINVAL;
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT", target is n bytes long. */
static int parse_hostport(const char *t, size_t n, struct sink_url *u,
			  const char *url, char *err, size_t errlen)
{
	const char *colon, *host = t;
	size_t hlen;
	uint64_t port;
	char pbuf[8];

	if (n && t[0] == '[') {
		const char *rb = memchr(t, ']', n);
		if (!rb || rb + 1 >= t + n || rb[1] != ':')
			return fail(err, errlen, url,
				    "expected udp://[IPV6]:PORT");
		host = t + 1;
		hlen = (size_t)(rb - host);
		colon = rb + 1;
	} else {
		colon = memchr(t, ':', n);
		if (!colon)
			return fail(err, errlen, url,
				    "expected udp://HOST:PORT");
		if (memchr(colon + 1, ':', (size_t)(t + n - colon - 1)))
			return fail(err, errlen, url,
				    "IPv6 literals need brackets: "
				    "udp://[::1]:PORT");
		hlen = (size_t)(colon - t);
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return fail(err, errlen, url, "empty or overlong host");
	size_t plen = (size_t)(t + n - colon - 1);
	if (plen == 0 || plen >= sizeof(pbuf))
		return fail(err, errlen, url, "port must be 1..65535");
	memcpy(pbuf, colon + 1, plen);
	pbuf[plen] = '\0';
	if (ts_parse_u64(pbuf, 1, 65535, &port) < 0)
		return fail(err, errlen, url, "port must be 1..65535");
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	snprintf(u->port, sizeof(u->port), "%u", (unsigned)port);
	return 0;
}

int sink_url_parse(const char *url, struct sink_url *out, char *err,
		   size_t errlen)
{
	struct sink_url u;
	const char *t = NULL, *q;
	size_t tlen;

	memset(&u, 0, sizeof(u));
	u.format = SINK_FMT_AUTO;
	u.wait_ms = -1;
	u.mode = -1;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t n = strlen(schemes[i].prefix);
		if (strncmp(url, schemes[i].prefix, n) == 0 &&
		    (schemes[i].prefix[n - 1] == ':' ||
		     schemes[i].prefix[n - 1] == '/' || url[n] == '\0' ||
		     url[n] == '?')) {
			u.kind = schemes[i].kind;
			t = url + n;
			break;
		}
	}
	if (!t)
		return fail(err, errlen, url,
			    "unknown scheme (expected stdout, "
			    "file:PATH, null, udp://HOST:PORT, unix:PATH or "
			    "unixgram:PATH)");
	q = strchr(t, '?');
	tlen = q ? (size_t)(q - t) : strlen(t);
	switch (u.kind) {
	case SINK_KIND_STDOUT:
	case SINK_KIND_NULL:
		if (tlen)
			return fail(err, errlen, url,
				    "this destination takes no target");
		break;
	case SINK_KIND_UDP:
		if (parse_hostport(t, tlen, &u, url, err, errlen) < 0)
			return -EINVAL;
		break;
	default:
		if (tlen == 0)
			return fail(err, errlen, url, "missing PATH");
		if (tlen >= (u.kind == SINK_KIND_FILE ? sizeof(u.path)
						      : SINK_URL_TARGET_MAX))
			return fail(err, errlen, url, "path too long");
		memcpy(u.path, t, tlen);
		u.path[tlen] = '\0';
	}
	if (q && parse_query(q + 1, &u, url, err, errlen) < 0)
		return -EINVAL;
	if (u.buffer && u.max_bytes > u.buffer)
		return fail(err, errlen, url, "max_bytes exceeds buffer");
	*out = u;
	return 0;
}
