/*
 * summary.h - the lines tcpscope prints on stderr: one per poll, the
 * replay's, and the totals at exit.
 *
 * Contract: a poll's line is printed from the difference of two counter
 * snapshots (metrics.h), so the sum of the lines equals the totals; the
 * destinations' part shows their running totals (as it always has); the
 * texts of the poll's and the reconcile's last errors come beside it.
 * Ring counters are shown when the io_uring engine is in use.
 * Destinations are named by their URL with any password masked.
 */
#ifndef TS_SUMMARY_H
#define TS_SUMMARY_H

#include <stdio.h>

#include "../metrics/metrics.h"
#include "../sink/sink.h"

/* notes: the poll's error, the reconcile's, the last skipped entry's
 * (NULL where there is none), each printed after "; ". */
void ts_summary_poll(FILE *f, const struct ts_counters *delta,
		     const struct ts_counters *now, const char *const *notes,
		     unsigned nnotes, struct sink *const *sinks);
/* "; close events: N (N lost, N filtered out, N errors)" from d. */
void ts_summary_close(FILE *f, const struct ts_counters *d);
/* "; URL: N sent, N dropped (N oversize), N errors" per destination,
 * from st (totals or a delta), then the newline; a destination whose
 * library owns its I/O (SINK_F_OWN_IO) adds ", N queued (dropped: N
 * oversize, N slow, ..., N exit)", every drop reason. */
void ts_summary_sinks(FILE *f, struct sink *const *sinks,
		      const struct sink_stats *st, unsigned n);

#endif
