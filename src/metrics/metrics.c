/* metrics.c - the counter registry (see metrics.h). */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

void ts_metrics_init(struct ts_metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
}

void ts_metrics_release(struct ts_metrics *m)
{
	if (m)
		pthread_mutex_destroy(&m->lock);
}

void ts_metrics_publish(struct ts_metrics *m, const struct ts_counters *c)
{
	pthread_mutex_lock(&m->lock);
	m->prev = m->cur;
	m->cur = *c;
	m->publishes++;
	pthread_mutex_unlock(&m->lock);
}

uint64_t ts_metrics_read(struct ts_metrics *m, struct ts_counters *out)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	*out = m->cur;
	n = m->publishes;
	pthread_mutex_unlock(&m->lock);
	return n;
}

uint64_t ts_metrics_read_last(struct ts_metrics *m, struct ts_counters *now,
			      struct ts_counters *before)
{
	uint64_t n;

	pthread_mutex_lock(&m->lock);
	*now = m->cur;
	*before = m->prev;
	n = m->publishes;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void ts_metrics_set_gauge(struct ts_metrics *m, enum ts_gauge g, uint64_t v)
{
	pthread_mutex_lock(&m->lock);
	m->cur.g[g] = v;
	pthread_mutex_unlock(&m->lock);
}

void ts_metrics_set_dests(struct ts_metrics *m, struct sink *const *sinks,
			  unsigned n)
{
	pthread_mutex_lock(&m->lock);
	m->ndests = n < TS_METRICS_MAX_SINKS ? n : TS_METRICS_MAX_SINKS;
	for (unsigned i = 0; i < m->ndests; i++) {
		m->dests[i].name = sinks[i]->name;
		m->dests[i].queue = (sinks[i]->ops->flags & SINK_F_OWN_IO) != 0;
	}
	pthread_mutex_unlock(&m->lock);
}

unsigned ts_metrics_dests(struct ts_metrics *m,
			  struct ts_metrics_dest out[TS_METRICS_MAX_SINKS])
{
	unsigned n;

	pthread_mutex_lock(&m->lock);
	n = m->ndests;
	memcpy(out, m->dests, n * sizeof(out[0]));
	pthread_mutex_unlock(&m->lock);
	return n;
}

const uint64_t ts_hist_bounds_ns[TS_HIST_BUCKETS] = {
	1000000,    2500000,	5000000,     10000000,	 25000000,
	50000000,   100000000,	250000000,   500000000,	 1000000000,
	2500000000, 5000000000, 10000000000, UINT64_MAX,
};

void ts_hist_observe(struct ts_counters *c, enum ts_hist h, uint64_t ns)
{
	unsigned i = 0;

	while (ns > ts_hist_bounds_ns[i]) /* the last bound is UINT64_MAX */
		i++;
	c->h[h][i]++;
}

static void sink_delta(const struct sink_stats *a, const struct sink_stats *b,
		       struct sink_stats *out)
{
	out->records = a->records - b->records;
	out->bytes = a->bytes - b->bytes;
	out->dropped = a->dropped - b->dropped;
	out->errors = a->errors - b->errors;
	out->queued = a->queued; /* a level, not a total */
	for (unsigned i = 0; i < SINK_DROP_COUNT; i++)
		out->drop[i] = a->drop[i] - b->drop[i];
}

void ts_counters_delta(const struct ts_counters *now,
		       const struct ts_counters *before,
		       struct ts_counters *out)
{
	for (unsigned i = 0; i < TS_C_COUNT; i++)
		out->c[i] = now->c[i] - before->c[i];
	memcpy(out->g, now->g, sizeof(out->g));
	for (unsigned h = 0; h < TS_H_COUNT; h++)
		for (unsigned i = 0; i < TS_HIST_BUCKETS; i++)
			out->h[h][i] = now->h[h][i] - before->h[h][i];
	out->nsinks = now->nsinks;
	for (unsigned i = 0; i < now->nsinks; i++)
		sink_delta(&now->sinks[i], &before->sinks[i], &out->sinks[i]);
	out->tcp = now->tcp; /* the last poll's, and totals */
}

static const char *const names[TS_C_COUNT] = {
	[TS_C_POLLS] = "polls",
	[TS_C_POLLS_FAILED] = "polls_failed",
	[TS_C_POLL_OVERRUNS] = "poll_overruns",
	[TS_C_RECORDS] = "records",
	[TS_C_DATAGRAMS] = "datagrams",
	[TS_C_BYTES] = "bytes",
	[TS_C_UNKNOWN_ATTRS] = "unknown_attributes",
	[TS_C_DUMPS] = "dumps",
	[TS_C_DUMPS_FAILED] = "dumps_failed",
	[TS_C_DUMP_INTR] = "dumps_inconsistent",
	[TS_C_NS_ADDED] = "namespaces_added",
	[TS_C_NS_REMOVED] = "namespaces_removed",
	[TS_C_NS_FAILED] = "namespace_open_failures",
	[TS_C_NS_REOPENED] = "sockets_reopened",
	[TS_C_POLL_NS] = "poll_ns",
	[TS_C_RECONCILE_NS] = "reconcile_ns",
	[TS_C_RING_ENTERS] = "ring_enters",
	[TS_C_RING_SQES] = "ring_sqes",
	[TS_C_RING_CQES] = "ring_cqes",
	[TS_C_RING_BUSY] = "ring_busy",
	[TS_C_RING_BAD_CQES] = "ring_bad_cqes",
	[TS_C_TICKS_MISSED] = "ticks_missed",
	[TS_C_REQUESTS] = "requests",
	[TS_C_SAMPLED_OUT] = "records_sampled_out",
	[TS_C_UNCHANGED] = "records_unchanged",
	[TS_C_CHANGES_OVERFLOW] = "changes_overflow",
	[TS_C_DUMP_FAIL_TIMEOUT] = "dumps_failed_timeout",
	[TS_C_DUMP_FAIL_OVERRUN] = "dumps_failed_overrun",
	[TS_C_DUMP_FAIL_MALFORMED] = "dumps_failed_malformed",
	[TS_C_DUMP_FAIL_KERNEL] = "dumps_failed_kernel",
	[TS_C_DUMP_FAIL_IO] = "dumps_failed_io",
	[TS_C_CLOSE_EVENTS] = "close_events",
	[TS_C_CLOSE_FILTERED] = "close_events_filtered",
	[TS_C_CLOSE_LOST] = "close_events_lost",
	[TS_C_CLOSE_OVERRUNS] = "close_overruns",
	[TS_C_CLOSE_ERRORS] = "close_errors",
};

static const char *const gauge_names[TS_G_COUNT] = {
	[TS_G_SOCKETS] = "sockets",
	[TS_G_NAMESPACES] = "namespaces",
	[TS_G_NS_SKIPPED] = "namespaces_skipped",
	[TS_G_NS_CAPPED] = "namespaces_over_max",
	[TS_G_POLL_NS] = "poll_ns",
	[TS_G_RECONCILE_NS] = "reconcile_ns",
	[TS_G_LAST_POLL_MONO] = "poll_start_monotonic_ns",
	[TS_G_LAST_DONE_MONO] = "poll_end_monotonic_ns",
	[TS_G_POLL_SEQ] = "poll",
	[TS_G_URING] = "uring",
	[TS_G_SAMPLE] = "sample",
	[TS_G_ONE_WALK] = "one_walk",
	[TS_G_EMIT_CHANGES] = "emit_changes",
	[TS_G_METRICS_TCP] = "metrics_tcp",
	[TS_G_INTERVAL_MS] = "interval_ms",
	[TS_G_NS_FAILED] = "namespaces_failed",
	[TS_G_CLOSE_EVENTS] = "close_events",
	[TS_G_CLOSE_MISSING] = "close_namespaces_missing",
};

void ts_drop_label(enum sink_drop why, char *out, size_t n)
{
	snprintf(out, n, "%s", sink_drop_name(why));
	for (char *p = out; *p; p++)
		if (*p == ' ')
			*p = '_';
}

const char *ts_counter_name(enum ts_counter c)
{
	return (unsigned)c < TS_C_COUNT && names[c] ? names[c] : "?";
}

const char *ts_gauge_name(enum ts_gauge g)
{
	return (unsigned)g < TS_G_COUNT && gauge_names[g] ? gauge_names[g]
							  : "?";
}
