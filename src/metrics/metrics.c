/* metrics.c - the counter registry (see metrics.h). */
#include "metrics.h"

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
	out->nsinks = now->nsinks;
	for (unsigned i = 0; i < now->nsinks; i++)
		sink_delta(&now->sinks[i], &before->sinks[i], &out->sinks[i]);
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
	[TS_C_CLOSE_EVENTS] = "close_events",
	[TS_C_CLOSE_FILTERED] = "close_events_filtered",
	[TS_C_CLOSE_LOST] = "close_events_lost",
	[TS_C_CLOSE_OVERRUNS] = "close_overruns",
	[TS_C_CLOSE_ERRORS] = "close_errors",
};

const char *ts_counter_name(enum ts_counter c)
{
	return (unsigned)c < TS_C_COUNT && names[c] ? names[c] : "?";
}
