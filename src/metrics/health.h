/*
 * health.h - the rules behind /healthz and /readyz, from the counter
 * registry's snapshots (pure: the caller gives the time).
 *
 * Contract: ts_health_live() is 1 while the poll loop is alive: a poll
 * started within the last three intervals (the interval in force,
 * TS_G_INTERVAL_MS; the start is set as a poll begins), else 0 with the
 * reason in `why`. ts_health_ready() is 1 once a poll has completed with
 * at least one namespace opened and every destination able to accept
 * records (in the last poll: nothing dropped but for being oversize, no
 * error, and some records delivered when there were any, unless the
 * destination's own queue holds them), and the loop is alive; else 0
 * with the reason. now/before are
 * the last two publications (ts_metrics_read_last()), publishes their
 * count, now_ns CLOCK_MONOTONIC.
 * Thread-safety: reentrant.
 */
#ifndef TS_HEALTH_H
#define TS_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

int ts_health_live(const struct ts_counters *now, uint64_t now_ns, char *why,
		   size_t n);
int ts_health_ready(const struct ts_counters *now,
		    const struct ts_counters *before, uint64_t publishes,
		    const struct ts_metrics_dest *dests, uint64_t now_ns,
		    char *why, size_t n);

#endif
