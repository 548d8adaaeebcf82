/* nats_url.c - the nats:// destination's URL (see sink_nats.h). */
#include "sink_nats.h"

#include <stdio.h>
#include <string.h>

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* in[0, n) with %XX escapes decoded, into out (cap bytes); 0 or -1. */
static int pct_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if (c == '%') {
			int hi = i + 2 < n ? hexval(in[i + 1]) : -1;
			int lo = hi >= 0 ? hexval(in[i + 2]) : -1;
			if (lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0 || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* "//USER:PASS@" off the target (u->target then starts "//HOST"). */
static int take_userinfo(struct sink_url *u, struct nats_cfg *c, char *err,
			 size_t errlen)
{
	char *t = u->target + 2, *at, *colon;
	size_t auth = strcspn(t, "/");

	if (strncmp(u->target, "//", 2) != 0)
		return 0; /* take_hostport says what is expected */
	at = memrchr(t, '@', auth);
	if (!at)
		return 0;
	colon = memchr(t, ':', (size_t)(at - t));
	if (!colon || colon == t)
		return sink_url_fail(u, err, errlen,
				     "credentials must be USER:PASS@");
	if (pct_decode(t, (size_t)(colon - t), c->user, sizeof(c->user)) ||
	    pct_decode(colon + 1, (size_t)(at - colon - 1), c->pass,
		       sizeof(c->pass)))
		return sink_url_fail(u, err, errlen,
				     "bad USER:PASS (too long, or a bad "
				     "%%-escape)");
	memmove(t, at + 1, strlen(at + 1) + 1);
	return 0;
}

/* "/SUBJECT": tokens between dots, not empty; no wildcard, no space. */
static int take_subject(struct sink_url *u, const char *rest,
			struct nats_cfg *c, char *err, size_t errlen)
{
	const char *p = rest[0] == '/' ? rest + 1 : rest;
	size_t n = strlen(p);
	int ok = rest[0] == '/' && n > 0 && n < sizeof(c->subject) &&
		 p[0] != '.' && p[n - 1] != '.' && !strstr(p, "..");

	for (size_t i = 0; ok && i < n; i++)
		ok = p[i] > ' ' && p[i] < 0x7f && p[i] != '*' && p[i] != '>';
	if (!ok)
		return sink_url_fail(u, err, errlen,
				     "expected a SUBJECT after the port "
				     "(nats://HOST:PORT/SUBJECT: dot-separated "
				     "tokens, no wildcards)");
	memcpy(c->subject, p, n + 1);
	return 0;
}

int tsnats_parse(struct sink_url *u, char *err, size_t errlen)
{
	struct nats_cfg c = { .max_pending = 0,
			      .reconnect_buf = NATS_RECONNECT_BUF };
	uint32_t js = 0;
	const char *rest;
	int rc = take_userinfo(u, &c, err, errlen);

	if (rc == 0)
		rc = sink_url_take_hostport(u, &rest, err, errlen);
	if (rc == 0)
		rc = take_subject(u, rest, &c, err, errlen);
	if (rc == 0)
		rc = sink_url_take_limits(u, SINK_MAX_BYTES_LIMIT, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "jetstream", 0, 1, &js, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "max_pending", 1, NATS_PENDING_LIMIT,
				       &c.max_pending, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(
			u, "reconnect_buf", NATS_RECONNECT_BUF_MIN,
			NATS_RECONNECT_BUF_MAX, &c.reconnect_buf, err, errlen);
	if (rc == 0 && c.max_pending && !js)
		rc = sink_url_fail(u, err, errlen,
				   "max_pending bounds JetStream acks: it "
				   "needs jetstream=1");
	if (rc < 0)
		return rc;
	c.jetstream = (uint8_t)js;
	if (!c.max_pending)
		c.max_pending = NATS_MAX_PENDING;
	memcpy(u->cfg, &c, sizeof(c));
	return 0;
}

void tsnats_mask(const char *secret, const char *text, char *out, size_t cap)
{
	size_t o = 0, len = strlen(secret);
	const char *hit;

	out[0] = '\0';
	while (len && (hit = strstr(text, secret)) && o < cap) {
		o += (size_t)snprintf(out + o, cap - o, "%.*s***",
				      (int)(hit - text), text);
		text = hit + len;
	}
	if (o < cap)
		snprintf(out + o, cap - o, "%s", text);
}
