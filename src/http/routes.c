/* routes.c - what each path answers (see http.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../metrics/health.h"
#include "../metrics/render.h"
#include "../util/timeutil.h"
#include "http_priv.h"

static const char text_type[] = "text/plain; charset=utf-8";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, const char *body, size_t len,
			     const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* A line of text: a reason, or what was done. */
static enum MHD_Result say(struct MHD_Connection *c, unsigned status,
			   const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum MHD_Result say(struct MHD_Connection *c, unsigned status,
			   const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : n > (int)sizeof(line) - 2 ? (int)sizeof(line) - 2 : n;
	line[n++] = '\n';
	return reply(c, status, text_type, line, (size_t)n, NULL);
}

static enum MHD_Result sb_reply(struct MHD_Connection *c, const struct ts_sb *b,
				const char *type)
{
	if (b->full)
		return say(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			   "the response does not fit in %u bytes",
			   TS_HTTP_RESP_MAX);
	return reply(c, MHD_HTTP_OK, type, b->p, b->len, NULL);
}

static enum MHD_Result get_metrics(struct ts_http *h, struct MHD_Connection *c)
{
	struct ts_metrics *m = ts_daemon_metrics(h->d);
	struct ts_metrics_dest dests[TS_METRICS_MAX_SINKS] = { 0 };
	struct ts_counters now;
	struct ts_proc proc;
	struct ts_sb b;

	ts_metrics_read(m, &now);
	ts_metrics_dests(m, dests);
	ts_sb_init(&b, h->buf, TS_HTTP_RESP_MAX);
	ts_render_prom(&b, &now, dests,
		       ts_proc_read(&proc) == 0 ? &proc : NULL);
	return sb_reply(c, &b, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result get_health(struct ts_http *h, struct MHD_Connection *c,
				  int ready)
{
	struct ts_metrics *m = ts_daemon_metrics(h->d);
	struct ts_metrics_dest dests[TS_METRICS_MAX_SINKS] = { 0 };
	struct ts_counters now, before;
	uint64_t n = ts_metrics_read_last(m, &now, &before);
	uint64_t t = ts_now_ns(CLOCK_MONOTONIC);
	char why[512];
	int ok;

	ts_metrics_dests(m, dests);
	ok = ready ? ts_health_ready(&now, &before, n, dests, t, why,
				     sizeof(why))
		   : ts_health_live(&now, t, why, sizeof(why));
	return say(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "%s",
		   why);
}

static enum MHD_Result get_stats(struct ts_http *h, struct MHD_Connection *c)
{
	struct ts_metrics *m = ts_daemon_metrics(h->d);
	struct ts_metrics_dest dests[TS_METRICS_MAX_SINKS] = { 0 };
	struct ts_counters now, before, delta;
	struct ts_sb b;

	if (ts_metrics_read_last(m, &now, &before) == 0)
		return say(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			   "no poll has completed yet");
	ts_metrics_dests(m, dests);
	ts_counters_delta(&now, &before, &delta);
	ts_sb_init(&b, h->buf, TS_HTTP_RESP_MAX);
	ts_render_stats(&b, &delta, dests);
	return sb_reply(c, &b, "application/json");
}

static enum MHD_Result get_config(struct ts_http *h, struct MHD_Connection *c)
{
	FILE *f = fmemopen(h->buf, TS_HTTP_RESP_MAX, "w");
	struct ts_sb b = { h->buf, 0, TS_HTTP_RESP_MAX, 0 };
	long n;

	if (!f)
		return say(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
			   strerror(errno));
	ts_options_print(&h->shown, f);
	n = ftell(f);
	b.full = ferror(f) || n < 0 || (size_t)n >= TS_HTTP_RESP_MAX - 1;
	fclose(f);
	b.len = n < 0 ? 0 : (size_t)n;
	return sb_reply(c, &b, text_type);
}

/* Posts req to the daemon's queue and answers; *posted: it was taken. */
static enum MHD_Result post(struct ts_http *h, struct MHD_Connection *c,
			    const struct ts_req *req, const char *done,
			    int *posted)
{
	int rc = ts_daemon_post(h->d, req);

	*posted = rc == 0;
	if (rc == -EAGAIN)
		return say(c, MHD_HTTP_SERVICE_UNAVAILABLE,
			   "the daemon's request queue is full; try again");
	if (rc < 0)
		return say(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
			   strerror(-rc));
	return say(c,
		   req->kind == TS_REQ_POLL ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK,
		   "%s", done);
}

/* The body without surrounding white space (curl -d, echo | curl). */
static char *trimmed(struct ts_http_req *r)
{
	char *s = r->body, *e = r->body + r->n;

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static enum MHD_Result put_interval(struct ts_http *h, struct MHD_Connection *c,
				    struct ts_http_req *r)
{
	struct ts_options tmp = h->shown;
	struct ts_req req = { TS_REQ_INTERVAL, 0 };
	char why[256];
	const char *v = trimmed(r);
	enum MHD_Result rc;
	int posted;

	if (r->too_long)
		return say(c, MHD_HTTP_BAD_REQUEST,
			   "the body is longer than %d bytes: expected a "
			   "duration such as 10s",
			   TS_HTTP_BODY_MAX);
	/* the option's own setter: the same bounds and message */
	if (ts_options_set(&tmp, "interval", v, why, sizeof(why)) < 0)
		return say(c, MHD_HTTP_BAD_REQUEST, "%s", why);
	req.arg = tmp.interval_ms;
	snprintf(why, sizeof(why), "interval %s", v);
	rc = post(h, c, &req, why, &posted);
	if (posted) { /* GET /config shows it from now on */
		memmove(h->interval, v, strlen(v) + 1);
		ts_options_set(&h->shown, "interval", h->interval, why,
			       sizeof(why));
	}
	return rc;
}

struct route {
	const char *path;
	const char *allow; /* methods, for 405's Allow header */
	int control;	   /* on the control socket only */
};

static const struct route routes[] = {
	{ "/metrics", "GET, HEAD", 0 }, { "/healthz", "GET, HEAD", 0 },
	{ "/readyz", "GET, HEAD", 0 },	{ "/poll", "POST", 1 },
	{ "/interval", "PUT", 1 },	{ "/config", "GET, HEAD", 1 },
	{ "/stats", "GET, HEAD", 1 },
};

static enum MHD_Result answer(struct ts_http *h, struct MHD_Connection *c,
			      unsigned i, struct ts_http_req *r)
{
	struct ts_req poll = { TS_REQ_POLL, 0 };
	int posted;

	switch (i) {
	case 0:
		return get_metrics(h, c);
	case 1:
	case 2:
		return get_health(h, c, i == 2);
	case 3:
		return post(h, c, &poll, "poll requested", &posted);
	case 4:
		return put_interval(h, c, r);
	case 5:
		return get_config(h, c);
	default:
		return get_stats(h, c);
	}
}

/* method is one of the comma-separated list (HEAD: MHD sends no body) */
static int allowed(const char *allow, const char *method)
{
	size_t n = strlen(method);

	while (*allow) {
		size_t w = strcspn(allow, ",");
		if (w == n && strncmp(allow, method, n) == 0)
			return 1;
		allow += w;
		allow += strspn(allow, ", ");
	}
	return 0;
}

enum MHD_Result ts_http_route(struct ts_http_listener *l,
			      struct MHD_Connection *c, const char *url,
			      const char *method, struct ts_http_req *r)
{
	const unsigned n = sizeof(routes) / sizeof(routes[0]);
	unsigned i;

	for (i = 0; i < n; i++)
		if (strcmp(url, routes[i].path) == 0)
			break;
	if (i == n)
		return say(c, MHD_HTTP_NOT_FOUND, "no such path: %.200s", url);
	if (routes[i].control && !l->control)
		return say(c, MHD_HTTP_NOT_FOUND,
			   "%s is served on the --control socket only", url);
	if (!allowed(routes[i].allow, method)) {
		char why[128];
		snprintf(why, sizeof(why),
			 "method %.20s not allowed on %s (%s)\n", method, url,
			 routes[i].allow);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text_type, why,
			     strlen(why), routes[i].allow);
	}
	return answer(l->h, c, i, r);
}
