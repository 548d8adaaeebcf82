/* closes.c - the daemon's side of close events (see closes.h). */
#include "closes.h"

#include <stdio.h>
#include <string.h>

#include "../util/timeutil.h"
#include "summary.h"

static void on_closed(struct ts_record *recs, size_t n, void *arg)
{
	struct ts_daemon *d = arg;

	ts_fanout_closed(&d->fanout, recs, n, ts_workers_ring(&d->workers));
	d->close_pending = 1;
}

/* --close-events: the set the namespace table attaches its listening
 * sockets to, watched by the loop. */
int ts_closes_init(struct ts_daemon *d)
{
	const struct ts_options *o = d->opt;
	struct close_cfg cc = {
		.groups = close_groups(o->families),
		.rcvbuf = o->close_buffer,
		.filter = o->filter ? o->filter_bc : NULL,
		.filter_len = o->filter_len,
		.fn = on_closed,
		.arg = d,
	};
	int rc;

	if (!o->close_events || o->replay)
		return 0;
	rc = close_set_init(&d->closes, &cc);
	if (rc == 0) {
		d->closes_up = 1;
		rc = ts_loop_watch_close(&d->loop, close_set_fd(&d->closes));
	}
	if (rc < 0)
		fprintf(stderr, "tcpscope: --close-events: %s\n",
			strerror(-rc));
	return rc;
}

/* Reads queued close events into the destinations, which send them
 * within TS_CLOSE_FLUSH_MS (or at the poll's end, if sooner). 1 when
 * more may be waiting. */
int ts_closes_drain(struct ts_daemon *d, unsigned budget)
{
	int more;

	if (!d->closes_up)
		return 0;
	more = close_set_drain(&d->closes, budget, d->poll_seq);
	d->close_read_ns = ts_now_ns(CLOCK_MONOTONIC);
	if (d->close_pending)
		(void)ts_loop_flush_after(&d->loop, TS_CLOSE_FLUSH_MS);
	return more;
}

void ts_closes_read(struct ts_daemon *d)
{
	uint64_t before = d->closes.st.datagrams, t0 = d->close_read_ns, p;
	int more = ts_closes_drain(d, CLOSE_BUDGET);

	p = more ? 0
		 : close_pause_ns(d->closes.granted,
				  d->closes.st.datagrams - before,
				  d->close_read_ns - t0,
				  TS_CLOSE_PAUSE_MS * 1000000ull);
	if (p)
		(void)ts_loop_close_pause(&d->loop, p / 1000000);
}

static void mid_poll(void *arg)
{
	(void)ts_closes_drain(arg, TS_CLOSE_MID_POLL_BUDGET);
}

void ts_closes_during_polls(struct ts_daemon *d)
{
	if (d->closes_up)
		ts_workers_set_hook(&d->workers, mid_poll, d,
				    TS_CLOSE_MID_POLL_EVERY);
}

/* Once: a buffer smaller than --close-buffer (no CAP_NET_ADMIN, and
 * net.core.rmem_max lower) makes losses likelier; said, not hidden. */
void ts_closes_warn(struct ts_daemon *d)
{
	unsigned got = d->closes.granted, want = d->opt->close_buffer;

	if (!d->closes_up || d->close_warned || !got || got >= want)
		return;
	d->close_warned = 1;
	fprintf(stderr,
		"tcpscope: --close-buffer %u: the kernel gave %u bytes "
		"(net.core.rmem_max without CAP_NET_ADMIN)\n",
		want, got);
}

/* The close set's totals (monotonic already) into d->totals. */
void ts_closes_count(struct ts_daemon *d, const struct ns_reconcile_stats *ns)
{
	const struct close_stats *cs = &d->closes.st;
	uint64_t *c = d->totals.c;

	c[TS_C_CLOSE_EVENTS] = cs->received;
	c[TS_C_CLOSE_FILTERED] = cs->filtered;
	c[TS_C_CLOSE_LOST] = cs->lost;
	c[TS_C_CLOSE_OVERRUNS] = cs->overruns;
	c[TS_C_CLOSE_ERRORS] = cs->errors;
	d->totals.g[TS_G_CLOSE_EVENTS] = (uint64_t)d->closes_up;
	if (ns)
		d->totals.g[TS_G_CLOSE_MISSING] = ns->close_missing;
}

void ts_closes_flush(struct ts_daemon *d)
{
	ts_fanout_flush(&d->fanout, ts_workers_ring(&d->workers));
	d->close_pending = 0;
}

void ts_closes_flushed(struct ts_daemon *d)
{
	d->close_pending = 0;
	(void)ts_loop_flush_after(&d->loop, 0);
}

void ts_closes_release(struct ts_daemon *d)
{
	if (d->closes_up)
		close_set_release(&d->closes);
	d->closes_up = 0;
}

/* Close events read after the last summary line (the namespaces'
 * sockets are read to the end when released): their own line, with
 * --quiet too when some were lost. */
void ts_closes_report_last(struct ts_daemon *d)
{
	struct ts_counters delta;
	const uint64_t *c;

	if (!d->closes_up)
		return;
	ts_closes_count(d, NULL);
	ts_counters_delta(&d->totals, &d->printed, &delta);
	c = delta.c;
	if (ts_daemon_reader_gone(d) ||
	    !(c[TS_C_CLOSE_EVENTS] || c[TS_C_CLOSE_LOST] ||
	      c[TS_C_CLOSE_ERRORS]))
		return;
	if (d->opt->quiet && !c[TS_C_CLOSE_LOST])
		return;
	fputs("tcpscope: after the last poll", stderr);
	ts_summary_close(stderr, &delta);
	fputc('\n', stderr);
	memcpy(d->printed.c, d->totals.c, sizeof(d->printed.c));
}
