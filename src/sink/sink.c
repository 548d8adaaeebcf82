/* sink.c - destination URL dispatch and shared sink helpers (see sink.h). */
#include "batch.h"
#include "sink.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink_url.h"
#include "../record/proto.h"
#include "../util/secret.h"
#include "../util/stop.h"

#define LOG_INTERVAL_NS (10ull * 1000000000ull)

/* The destinations, by scheme: a new one is one line here. */
/* clang-format off */
static const struct sink_ops *const registry[] = {
	&sink_stdout_ops, &sink_file_ops,     &sink_null_ops,
	&sink_udp_ops,	  &sink_unixgram_ops, &sink_unix_ops,
	&sink_redis_ops,
	&sink_valkey_ops,
	&sink_kafka_ops,
	&sink_nats_ops,
};
/* clang-format on */

const struct sink_ops *sink_registry_find(const char *url, const char **target)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		size_t n = strlen(registry[i]->scheme);
		if (strncmp(url, registry[i]->scheme, n) != 0)
			continue;
		if (url[n] == ':' || url[n] == '\0' || url[n] == '?') {
			*target = url + n + (url[n] == ':');
			return registry[i];
		}
	}
	return NULL;
}

void sink_registry_list(char *buf, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%s",
						i ? ", " : "",
						registry[i]->form);
}

int sink_check(const char *url, char *err, size_t errlen)
{
	struct sink_url *u = malloc(sizeof(*u));
	int rc;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = sink_url_parse(url, u, err, errlen);
	free(u);
	return rc;
}

int sink_new(const char *url, enum sink_format format, struct sink **out,
	     char *err, size_t errlen)
{
	struct sink_url *u = malloc(sizeof(*u));
	struct sink *s = NULL;
	char why[200] = "";
	int rc;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = sink_url_parse(url, u, err, errlen);
	if (rc < 0)
		goto out;
	s = calloc(1, sizeof(*s));
	if (s && (s->url = strdup(url)) && (s->name = malloc(strlen(url) + 4)))
		ts_mask_url(url, s->name, strlen(url) + 4);
	if (!s || !s->name) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	s->ops = u->ops;
	s->format = u->format != SINK_FMT_AUTO ? u->format
		    : format != SINK_FMT_AUTO  ? format
					       : s->ops->default_format;
	rc = s->ops->open(s, u, why, sizeof(why));
	if (rc == 0 && u->has_fields &&
	    (rc = sink_set_fields(s, &u->fields)) < 0)
		s->ops->release(s); /* opened: closed again */
	if (rc < 0)
		snprintf(err, errlen, "cannot open destination '%s': %s",
			 s->name, why[0] ? why : strerror(-rc));
out:
	if (rc < 0 && s) {
		free(s->url);
		free(s->name);
		free(s);
	} else if (rc == 0) {
		*out = s;
	}
	free(u);
	return rc;
}

int sink_write(struct sink *s, const struct ts_record *r, struct ring *ring)
{
	s->ring = ring;
	if (!s->batch) {
		if (s->ops->write)
			return s->ops->write(s, r);
		s->st.records++;
		return 0;
	}
	if (batch_add(s->batch, r) < 0) {
		sink_drop(s, SINK_DROP_OVERSIZE, 1);
		return -EMSGSIZE;
	}
	return 0;
}

int sink_flush(struct sink *s, struct ring *ring)
{
	int rc;

	s->ring = ring;
	rc = s->ops->flush(s);

	if (s->st.drop[SINK_DROP_OVERSIZE] > s->logged_oversize &&
	    sink_log_limited(
		    s,
		    "%llu record(s) larger than the destination's "
		    "max_bytes dropped",
		    (unsigned long long)(s->st.drop[SINK_DROP_OVERSIZE] -
					 s->logged_oversize)))
		s->logged_oversize = s->st.drop[SINK_DROP_OVERSIZE];
	return rc;
}

enum sink_drop sink_drop_reason(int err)
{
	if (ts_stop_exiting())
		return SINK_DROP_EXIT;
	if (err == EAGAIN || err == ETIMEDOUT || err == ECANCELED)
		return SINK_DROP_SLOW;
	return SINK_DROP_SEND_ERROR;
}

const char *sink_drop_name(enum sink_drop why)
{
	static const char *const names[SINK_DROP_COUNT] = {
		[SINK_DROP_OVERSIZE] = "oversize",
		[SINK_DROP_SLOW] = "slow",
		[SINK_DROP_SEND_ERROR] = "send error",
		[SINK_DROP_QUEUE_FULL] = "queue full",
		[SINK_DROP_FAILED] = "failed",
		[SINK_DROP_EXIT] = "exit",
	};
	return (unsigned)why < SINK_DROP_COUNT ? names[why] : "?";
}

int sink_finish(struct sink *s)
{
	struct sink_stats before = s->st;

	s->ring = NULL; /* at exit the poll threads' rings are gone */
	if (s->ops->finish)
		(void)s->ops->finish(s);
	else
		(void)sink_flush(s, NULL);
	return memcmp(&before, &s->st, sizeof(before)) != 0;
}

int sink_reopen(struct sink *s, char *err, size_t errlen)
{
	return s->ops->reopen ? s->ops->reopen(s, err, errlen) : 0;
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
	s->ring = NULL;
	s->ops->release(s);
	free(s->url);
	free(s->name);
	free(s->fields);
	proto_plan_free(s->plan);
	free(s);
}

int sink_set_fields(struct sink *s, const struct ts_field_set *fs)
{
	struct ts_field_set *copy = malloc(sizeof(*copy));
	struct proto_plan *plan = NULL;

	if (!copy)
		return -ENOMEM;
	*copy = *fs;
	if (s->format != SINK_FMT_JSON && !(plan = proto_plan_new(fs))) {
		free(copy);
		return -ENOMEM;
	}
	free(s->fields);
	proto_plan_free(s->plan);
	s->fields = copy;
	s->plan = plan;
	if (s->batch) {
		s->batch->fields = copy;
		s->batch->plan = plan;
	}
	return 0;
}

int sink_log_limited(struct sink *s, const char *fmt, ...)
{
	struct timespec ts;
	uint64_t now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (s->last_log_ns && now - s->last_log_ns < LOG_INTERVAL_NS)
		return 0;
	s->last_log_ns = now;
	fprintf(stderr, "tcpscope: %s: ", s->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}
