/* daemon.c - the daemon's lifecycle (see daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../pcap/replay.h"
#include "../service/notify.h"
#include "../util/stop.h"
#include "../util/timeutil.h"
#include "summary.h"

int ts_daemon_init(struct ts_daemon *d, const struct ts_options *opt)
{
	char err[256];
	int rc;

	memset(d, 0, sizeof(*d));
	d->opt = opt;
	ts_metrics_init(&d->metrics);
	for (unsigned i = 0; i < opt->ndests; i++) {
		rc = sink_new(opt->dests[i], opt->format, &d->sinks[i], err,
			      sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "tcpscope: %s\n", err);
			return rc;
		}
		d->nsinks++;
	}
	if (d->nsinks)
		d->sinks[0]->sole = d->nsinks == 1;
	/* said once, not silently: the ring sends only for our own sockets */
	for (unsigned i = 0; i < d->nsinks; i++)
		if (opt->io_engine != TS_ENGINE_SYSCALL &&
		    (d->sinks[i]->ops->flags & SINK_F_OWN_IO))
			fprintf(stderr,
				"tcpscope: %s: its library owns its sockets; "
				"the io_uring engine does not drive it\n",
				d->sinks[i]->name);
	ts_fanout_init(&d->fanout, d->sinks, d->nsinks);
	rc = ts_loop_init(&d->loop, opt->interval_ms);
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot start the event loop: %s\n",
			strerror(-rc));
		return rc;
	}
	d->loop_up = 1;
	return 0;
}

int ts_daemon_post(struct ts_daemon *d, const struct ts_req *r)
{
	return ts_loop_post(&d->loop, r);
}

struct ts_metrics *ts_daemon_metrics(struct ts_daemon *d)
{
	return &d->metrics;
}

static void reopen_sinks(struct ts_daemon *d)
{
	for (unsigned i = 0; i < d->nsinks; i++) {
		char why[256];
		int rc = sink_reopen(d->sinks[i], why, sizeof(why));
		/* the old file stays open: records keep landing there */
		if (rc < 0)
			fprintf(stderr,
				"tcpscope: cannot reopen %s: %s; still writing "
				"to the file already open\n",
				d->sinks[i]->name, why);
	}
}

static void copy_sinks(struct ts_daemon *d, struct ts_counters *c)
{
	c->nsinks = d->nsinks;
	for (unsigned i = 0; i < d->nsinks; i++)
		c->sinks[i] = d->sinks[i]->st;
}

/* Adds one poll to the totals and publishes them. */
static void count_poll(struct ts_daemon *d, const struct poll_stats *st,
		       const struct ns_reconcile_stats *ns, uint64_t t0,
		       int failed)
{
	uint64_t *c = d->totals.c, *g = d->totals.g;
	uint64_t now = ts_now_ns(CLOCK_MONOTONIC);
	struct ts_loop_stats ls;
	struct ring_stats rs;

	c[TS_C_POLLS]++;
	c[TS_C_POLLS_FAILED] += failed;
	c[TS_C_POLL_OVERRUNS] +=
		now - t0 > d->opt->interval_ms * 1000000ull && !d->opt->once;
	c[TS_C_RECORDS] += st->records;
	c[TS_C_DATAGRAMS] += st->datagrams;
	c[TS_C_BYTES] += st->bytes;
	c[TS_C_UNKNOWN_ATTRS] += st->unknown_attrs;
	c[TS_C_DUMPS] += st->dumps;
	c[TS_C_DUMPS_FAILED] += st->dumps_failed;
	c[TS_C_DUMP_INTR] += st->dump_intr;
	c[TS_C_NS_ADDED] += ns->added;
	c[TS_C_NS_REMOVED] += ns->removed;
	c[TS_C_NS_FAILED] += ns->failed;
	c[TS_C_NS_REOPENED] += ns->reopened;
	c[TS_C_POLL_NS] += st->duration_ns;
	c[TS_C_RECONCILE_NS] += ns->duration_ns;
	ts_workers_ring_stats(&d->workers, &rs); /* totals already */
	c[TS_C_RING_ENTERS] = rs.enters;
	c[TS_C_RING_SQES] = rs.sqes;
	c[TS_C_RING_CQES] = rs.cqes;
	c[TS_C_RING_BUSY] = rs.busy;
	c[TS_C_RING_BAD_CQES] = rs.bad_cqes;
	ts_loop_stats(&d->loop, &ls);
	c[TS_C_TICKS_MISSED] = ls.ticks_missed;
	c[TS_C_REQUESTS] = ls.posted;
	g[TS_G_SOCKETS] = st->records;
	g[TS_G_NAMESPACES] = ns->total;
	g[TS_G_NS_SKIPPED] = ns->skipped;
	g[TS_G_NS_CAPPED] = ns->capped;
	g[TS_G_POLL_NS] = st->duration_ns;
	g[TS_G_RECONCILE_NS] = ns->duration_ns;
	g[TS_G_LAST_POLL_MONO] = t0;
	g[TS_G_LAST_DONE_MONO] = now;
	g[TS_G_POLL_SEQ] = d->poll_seq;
	g[TS_G_URING] = d->workers.uring;
	copy_sinks(d, &d->totals);
	ts_metrics_publish(&d->metrics, &d->totals);
}

int ts_daemon_reader_gone(const struct ts_daemon *d)
{
	return d->nsinks == 1 && d->sinks[0]->reader_gone;
}

static void poll_once(struct ts_daemon *d)
{
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);
	struct ns_reconcile_stats ns;
	struct poll_stats st;
	struct ts_counters delta;
	int rc, failed;

	ts_loop_polling(&d->loop, 1);
	rc = ns_table_reconcile(&d->table, &ns);
	if (rc < 0)
		fprintf(stderr, "tcpscope: namespace discovery: %s\n",
			strerror(-rc));
	rc = ts_workers_poll(&d->workers, ++d->poll_seq, &st);
	ts_fanout_flush(&d->fanout, ts_workers_ring(&d->workers));
	ts_loop_polling(&d->loop, 0);
	failed = rc < 0 || ns.total == ns.failed;
	d->any_failed |= failed;
	count_poll(d, &st, &ns, t0, failed);
	if (ts_daemon_reader_gone(d))
		return; /* quietly, as a filter whose reader left */
	if (!d->opt->quiet || failed) { /* a failure is never silent */
		ts_counters_delta(&d->totals, &d->printed, &delta);
		const char *notes[] = { st.error ? st.errmsg : NULL,
					ns.error ? ns.errmsg : NULL,
					ns.skipped ? ns.skipmsg : NULL };
		ts_summary_poll(stderr, &delta, &d->totals, notes, 3, d->sinks);
		d->printed = d->totals;
	}
}

/* the interval's nanoseconds cannot wrap (the option table bounds it) */
_Static_assert(TS_INTERVAL_MAX_MS <= UINT64_MAX / 1000000ull,
	       "--interval's bound overflows in nanoseconds");

static int poll_loop(struct ts_daemon *d)
{
	const struct ts_options *o = d->opt;
	int rc = ts_loop_set_interval(&d->loop, o->interval_ms);

	if (rc == 0) /* under systemd with WatchdogSec= only */
		rc = ts_loop_set_watchdog(&d->loop, ts_notify_watchdog_ms());
	ts_stop_read_signals(); /* a SIGTERM during startup: no poll */
	if (rc == 0 && !ts_stop_requested()) {
		poll_once(d);
		ts_notify_ready(); /* Type=notify: active once it has polled */
	}
	while (rc == 0 && (o->count == 0 || d->poll_seq < o->count) &&
	       !ts_daemon_reader_gone(d)) {
		enum ts_event ev;
		rc = ts_loop_wait(&d->loop, &ev);
		if (rc < 0 || ev == TS_EV_STOP)
			break;
		if (ev == TS_EV_REOPEN)
			reopen_sinks(d);
		else if (ev == TS_EV_POLL || ev == TS_EV_TICK)
			poll_once(d);
		else if (ev == TS_EV_WATCHDOG)
			ts_notify_watchdog();
	}
	if (rc < 0)
		fprintf(stderr, "tcpscope: event loop: %s\n", strerror(-rc));
	return rc < 0 ? rc : d->any_failed ? -EIO : 0;
}

/* A test aid (man page, ENVIRONMENT): single-shot receives only. */
static unsigned uring_features(void)
{
	const char *v = getenv("TCPSCOPE_URING_NO_MULTISHOT");

	return v && *v && strcmp(v, "0") != 0 ? 0 : RING_F_MULTISHOT;
}

static int run_polls(struct ts_daemon *d)
{
	const struct ts_options *o = d->opt;
	struct ns_table_cfg tc = {
		.dirs = o->netns_dirs,
		.ndirs = o->nnetns_dirs,
		.proc = "/proc",
		.select = o->netns,
		.netns_max = o->netns_max,
		.nworkers = o->workers,
	};
	struct ts_workers_cfg wc = {
		.n = o->workers,
		.engine = o->io_engine,
		.poll = {
			.families = o->families,
			.states = o->states,
			.ext = o->ext,
			.ring = {
				.recv_batch = o->uring_recv_batch,
				.cqe_batch = o->uring_cqe_batch,
				.features = uring_features(),
			},
		},
	};
	int rc = ts_workers_start(&d->workers, &wc, &d->fanout, &tc);

	if (rc == 0) {
		rc = ns_table_init(&d->table, &tc);
		if (rc < 0)
			fprintf(stderr, "tcpscope: cannot start: %s\n",
				strerror(-rc));
		d->table_up = rc == 0;
	}
	if (rc == 0) {
		ts_workers_set_table(&d->workers, &d->table);
		rc = poll_loop(d);
	}
	ts_workers_stop(&d->workers);
	if (d->table_up)
		ns_table_release(&d->table);
	d->table_up = 0;
	ts_workers_release(&d->workers);
	return rc;
}

static int on_replayed(struct ts_record *rec, void *arg)
{
	ts_fanout_record(arg, rec, NULL);
	return 0;
}

static int run_replay(struct ts_daemon *d)
{
	const char *path =
		strcmp(d->opt->replay, "-") ? d->opt->replay : "stdin";
	struct replay_stats st;
	char err[160];
	int rc = replay_file(d->opt->replay, on_replayed, &d->fanout, &st, err,
			     sizeof(err));

	ts_fanout_flush(&d->fanout, NULL);
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot replay %s: %s\n", path, err);
		return rc;
	}
	if (!d->opt->quiet && !ts_daemon_reader_gone(d)) {
		fprintf(stderr,
			"tcpscope: replay %s: %llu packets, %llu dumps, "
			"%llu sockets, %llu errors, %llu unknown attributes",
			path, (unsigned long long)st.packets,
			(unsigned long long)st.requests,
			(unsigned long long)st.records,
			(unsigned long long)st.errors,
			(unsigned long long)st.unknown_attrs);
		copy_sinks(d, &d->totals);
		ts_summary_sinks(stderr, d->sinks, d->totals.sinks, d->nsinks);
	}
	return 0;
}

/* The exit phase: one deadline (--exit-timeout) for every destination's
 * finish. What is still buffered goes out; when that changed a
 * destination's counts, the final totals get their own line. */
static void finish_sinks(struct ts_daemon *d)
{
	int changed = 0, lost = 0;

	ts_stop_exit_begin(d->opt->exit_timeout_ms);
	for (unsigned i = 0; i < d->nsinks; i++) {
		uint64_t dropped = d->sinks[i]->st.dropped;
		changed |= sink_finish(d->sinks[i]);
		lost |= d->sinks[i]->st.dropped != dropped;
	}
	copy_sinks(d, &d->totals);
	ts_metrics_publish(&d->metrics, &d->totals);
	/* a loss is never silent: printed with --quiet too */
	if (changed && (!d->opt->quiet || lost)) {
		fputs("tcpscope: at exit", stderr);
		ts_summary_sinks(stderr, d->sinks, d->totals.sinks, d->nsinks);
	}
}

int ts_daemon_run(struct ts_daemon *d)
{
	int rc = d->opt->replay ? run_replay(d) : run_polls(d);

	ts_notify_stopping();
	finish_sinks(d);
	return rc;
}

void ts_daemon_release(struct ts_daemon *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->nsinks; i++)
		sink_free(d->sinks[i]);
	d->nsinks = 0;
	if (d->loop_up)
		ts_loop_release(&d->loop);
	d->loop_up = 0;
	ts_fanout_release(&d->fanout);
	ts_metrics_release(&d->metrics);
}
