/*
 * render.h - the counter registry as text: the Prometheus exposition
 * format (text 0.0.4) of /metrics, and the JSON of the control socket's
 * GET /stats.
 *
 * Contract: ts_render_prom() writes every metric of snapshot c: the
 * totals as counters (_total), the last poll's gauges, the duration
 * histograms (seconds; cumulative le buckets, _sum, _count), per
 * destination (label destination: its name, password masked) records,
 * bytes, errors and drops by reason, and the queue depth of those with
 * a queue, then the process_* metrics when proc is not NULL. Labels are
 * bounded: destinations and fixed reasons only. ts_render_stats() writes
 * one JSON object of a poll's delta (ts_counters_delta): "counters" and
 * "gauges" by their registry names and "destinations". Both write into
 * b, which says (full) when the text did not fit.
 * Thread-safety: reentrant.
 */
#ifndef TS_RENDER_H
#define TS_RENDER_H

#include "../util/strbuf.h"
#include "metrics.h"
#include "process.h"

void ts_render_prom(struct ts_sb *b, const struct ts_counters *c,
		    const struct ts_metrics_dest *dests,
		    const struct ts_proc *proc);
void ts_render_stats(struct ts_sb *b, const struct ts_counters *delta,
		     const struct ts_metrics_dest *dests);

#endif
