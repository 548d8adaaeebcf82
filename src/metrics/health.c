/* health.c - liveness and readiness (see health.h). */
#include "health.h"

#include <stdio.h>

int ts_health_live(const struct ts_counters *now, uint64_t now_ns, char *why,
		   size_t n)
{
	uint64_t start = now->g[TS_G_LAST_POLL_MONO];
	uint64_t limit = 3 * now->g[TS_G_INTERVAL_MS] * 1000000ull;

	if (start == 0) {
		snprintf(why, n, "no poll has started yet");
		return 0;
	}
	if (now_ns - start > limit) {
		snprintf(why, n,
			 "the last poll started %.1f s ago, more than three "
			 "intervals (%.1f s)",
			 (double)(now_ns - start) / 1e9, (double)limit / 1e9);
		return 0;
	}
	snprintf(why, n, "ok");
	return 1;
}

/* 1 when the destination took the last poll's records (d: its delta;
 * dumped: the records of that poll): nothing dropped but for being
 * oversize, no error, and unless a queue of its own holds them (a
 * library acknowledges later), some delivered: a stream that buffers
 * while disconnected delivers nothing. */
static int dest_ok(const struct sink_stats *d, const struct ts_metrics_dest *m,
		   uint64_t dumped, char *why, size_t n)
{
	uint64_t lost = d->dropped - d->drop[SINK_DROP_OVERSIZE];
	const char *name = m && m->name ? m->name : "?";
	size_t len;

	if (lost == 0 && d->errors == 0 &&
	    (d->records || !dumped || (m && m->queue)))
		return 1;
	if (lost == 0 && d->errors == 0) {
		snprintf(why, n,
			 "destination %s cannot accept records: none of the "
			 "last poll's %llu delivered",
			 name, (unsigned long long)dumped);
		return 0;
	}
	len = (size_t)snprintf(why, n,
			       "destination %s cannot accept records: in the "
			       "last poll %llu dropped",
			       name, (unsigned long long)lost);
	for (unsigned r = 0; r < SINK_DROP_COUNT && len < n; r++)
		if (r != SINK_DROP_OVERSIZE && d->drop[r])
			len += (size_t)snprintf(why + len, n - len,
						" (%llu %s)",
						(unsigned long long)d->drop[r],
						sink_drop_name(r));
	if (len < n)
		snprintf(why + len, n - len, ", %llu errors",
			 (unsigned long long)d->errors);
	return 0;
}

int ts_health_ready(const struct ts_counters *now,
		    const struct ts_counters *before, uint64_t publishes,
		    const struct ts_metrics_dest *dests, uint64_t now_ns,
		    char *why, size_t n)
{
	const uint64_t *g = now->g;
	struct ts_counters d;

	if (publishes == 0 || g[TS_G_LAST_DONE_MONO] == 0) {
		snprintf(why, n, "no poll has completed yet");
		return 0;
	}
	if (!ts_health_live(now, now_ns, why, n))
		return 0;
	if (g[TS_G_NAMESPACES] <= g[TS_G_NS_FAILED]) {
		snprintf(why, n,
			 "no namespace could be opened in the last poll "
			 "(%llu failed)",
			 (unsigned long long)g[TS_G_NS_FAILED]);
		return 0;
	}
	ts_counters_delta(now, before, &d);
	for (unsigned i = 0; i < d.nsinks; i++)
		if (!dest_ok(&d.sinks[i], dests ? &dests[i] : NULL,
			     d.c[TS_C_RECORDS], why, n))
			return 0;
	snprintf(why, n, "ready");
	return 1;
}
