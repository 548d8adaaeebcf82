/* daemon.c - the daemon's lifecycle (see daemon.h). */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../netlink/nl_request.h"
#include "../netns/ns_discover.h"
#include "../netlink/nl_sock.h"
#include "../http/http.h"
#include "../pcap/replay.h"
#include "../service/notify.h"
#include "../util/stop.h"
#include "../util/timeutil.h"
#include "closes.h"
#include "summary.h"

/* --walk auto: one legacy dump for both families where the kernel takes
 * it (a dump of our own namespace at startup says). */
static int choose_walk(const struct ts_options *o)
{
	static struct nl_diag_request r;
	const unsigned both = POLL_FAM_INET | POLL_FAM_INET6;

	if (o->families != both || o->walk == TS_WALK_TWO || o->replay)
		return 0;
	nl_request_build_one_walk(&r, o->states, 0, 1, o->filter_bc,
				  o->filter ? o->filter_len : 0);
	if (nl_sock_try_dump(&r, r.nlh.nlmsg_len, 2000) == 0)
		return 1;
	if (o->walk == TS_WALK_ONE)
		fprintf(stderr, "tcpscope: --walk one: this kernel refuses "
				"the legacy dump; two dumps per namespace\n");
	return 0;
}

/* The kernel audits bytecode when a dump starts: one dump of our own
 * namespace at startup turns a refused --filter into a usage error, not
 * a failure of every poll. */
static int check_filter(const struct ts_options *o)
{
	static struct nl_diag_request r; /* NL_FILTER_MAX bytes: not stack */
	int rc;

	if (!o->filter || o->replay)
		return 0;
	nl_request_build(&r, o->families & POLL_FAM_INET ? AF_INET : AF_INET6,
			 o->states, 0, 1, o->filter_bc, o->filter_len);
	rc = nl_sock_try_dump(&r, r.nlh.nlmsg_len, 2000);
	if (rc == -EINVAL) {
		fprintf(stderr,
			"tcpscope: the kernel refused --filter '%s' "
			"(its bytecode: %s)\n",
			o->filter, strerror(-rc));
		return rc;
	}
	if (rc < 0) /* not the filter's fault: polling will say more */
		fprintf(stderr,
			"tcpscope: could not check --filter with the kernel: "
			"%s\n",
			strerror(-rc));
	return 0;
}

int ts_daemon_init(struct ts_daemon *d, const struct ts_options *opt)
{
	char err[256];
	int rc;

	memset(d, 0, sizeof(*d));
	d->opt = opt;
	ts_metrics_init(&d->metrics);
	rc = check_filter(opt);
	if (rc < 0)
		return rc;
	d->one_walk = choose_walk(opt); /* both engines */
	/* the loop and the HTTP server first: /healthz and /readyz answer
	 * while destinations are opened (a slow resolver) */
	rc = ts_loop_init(&d->loop, opt->interval_ms);
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot start the event loop: %s\n",
			strerror(-rc));
		return rc;
	}
	d->loop_up = 1;
	ts_metrics_set_gauge(&d->metrics, TS_G_INTERVAL_MS, opt->interval_ms);
	rc = ts_http_start(d, opt, &d->http);
	if (rc < 0)
		return rc;
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
	for (unsigned i = 0; opt->fields && i < d->nsinks; i++)
		if (!d->sinks[i]->fields &&
		    (rc = sink_set_fields(d->sinks[i], &opt->field_set)) < 0) {
			fprintf(stderr, "tcpscope: %s\n", strerror(-rc));
			return rc;
		}
	ts_metrics_set_dests(&d->metrics, d->sinks, d->nsinks);
	/* said once, not silently: the ring sends only for our own sockets */
	for (unsigned i = 0; i < d->nsinks; i++)
		if (opt->io_engine != TS_ENGINE_SYSCALL &&
		    (d->sinks[i]->ops->flags & SINK_F_OWN_IO))
			fprintf(stderr,
				"tcpscope: %s: its library owns its sockets; "
				"the io_uring engine does not drive it\n",
				d->sinks[i]->name);
	ts_fanout_init(&d->fanout, d->sinks, d->nsinks);
	d->fanout.sample = opt->sample;
	if (opt->emit_changes) {
		rc = ts_changes_init(&d->changes, opt->emit_max,
				     opt->snapshot_every);
		if (rc < 0) {
			fprintf(stderr, "tcpscope: --emit changes: %s\n",
				strerror(-rc));
			return rc;
		}
		d->fanout.changes = &d->changes;
	}
	if (opt->metrics_tcp) {
		rc = ts_tcp_acc_init(&d->tcp);
		if (rc < 0) {
			fprintf(stderr, "tcpscope: --metrics-tcp: %s\n",
				strerror(-rc));
			return rc;
		}
		d->fanout.tcp = &d->tcp;
	}
	if (opt->cgroup_path) {
		rc = cg_cache_init(&d->cg, ns_cgroup2_root());
		if (rc < 0) /* no paths then, and says so: not fatal */
			fprintf(stderr,
				"tcpscope: --cgroup-path: cannot read the "
				"cgroup2 mount: %s\n",
				strerror(-rc));
		d->fanout.cg = &d->cg;
	}
	return ts_closes_init(d);
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

_Static_assert(TS_C_DUMP_FAIL_FIRST + POLL_FAIL_COUNT - 1 == TS_C_DUMP_FAIL_IO,
	       "metrics.h's dump failure counters follow poller.h's reasons");

/* Adds one poll to the totals and publishes them. */
static void count_poll(struct ts_daemon *d, const struct poll_stats *st,
		       const struct ns_reconcile_stats *ns, uint64_t t0,
		       int failed)
{
	uint64_t *c = d->totals.c, *g = d->totals.g;
	uint64_t now = ts_now_ns(CLOCK_MONOTONIC);
	uint64_t interval_ms = ts_loop_interval_ms(&d->loop);
	struct ts_loop_stats ls;
	struct ring_stats rs;

	c[TS_C_POLLS]++;
	c[TS_C_POLLS_FAILED] += failed;
	c[TS_C_POLL_OVERRUNS] +=
		now - t0 > interval_ms * 1000000ull && !d->opt->once;
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
	for (unsigned i = 0; i < POLL_FAIL_COUNT; i++)
		c[TS_C_DUMP_FAIL_FIRST + i] += st->dump_fail[i];
	ts_hist_observe(&d->totals, TS_H_POLL, st->duration_ns);
	ts_hist_observe(&d->totals, TS_H_RECONCILE, ns->duration_ns);
	ts_workers_ring_stats(&d->workers, &rs); /* totals already */
	c[TS_C_RING_ENTERS] = rs.enters;
	c[TS_C_RING_SQES] = rs.sqes;
	c[TS_C_RING_CQES] = rs.cqes;
	c[TS_C_RING_BUSY] = rs.busy;
	c[TS_C_RING_BAD_CQES] = rs.bad_cqes;
	ts_loop_stats(&d->loop, &ls);
	c[TS_C_TICKS_MISSED] = ls.ticks_missed;
	c[TS_C_SAMPLED_OUT] = d->fanout.sampled_out; /* a total already */
	c[TS_C_UNCHANGED] = d->changes.unchanged;
	c[TS_C_CHANGES_OVERFLOW] = d->changes.overflow;
	c[TS_C_REQUESTS] = ls.posted;
	ts_closes_count(d, ns);
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
	g[TS_G_SAMPLE] = d->opt->sample;
	g[TS_G_ONE_WALK] = (uint64_t)d->one_walk;
	g[TS_G_EMIT_CHANGES] = (uint64_t)d->opt->emit_changes;
	g[TS_G_METRICS_TCP] = (uint64_t)d->opt->metrics_tcp;
	if (d->opt->metrics_tcp) {
		ts_tcp_acc_flush(&d->tcp); /* the poll's last socket */
		d->totals.tcp = d->tcp.st;
	}
	g[TS_G_INTERVAL_MS] = interval_ms;
	g[TS_G_NS_FAILED] = ns->failed;
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
	/* /healthz: the loop is alive while polls start */
	ts_metrics_set_gauge(&d->metrics, TS_G_LAST_POLL_MONO, t0);
	rc = ns_table_reconcile(&d->table, &ns);
	if (rc < 0)
		fprintf(stderr, "tcpscope: namespace discovery: %s\n",
			strerror(-rc));
	ts_closes_warn(d);
	ts_fanout_poll_begin(&d->fanout, d->poll_seq + 1);
	rc = ts_workers_poll(&d->workers, ++d->poll_seq, &st);
	/* what closed during the poll goes out with it */
	(void)ts_closes_drain(d, CLOSE_BUDGET);
	ts_fanout_flush(&d->fanout, ts_workers_ring(&d->workers));
	ts_closes_flushed(d);
	ts_loop_polling(&d->loop, 0);
	failed = rc < 0 || ns.total == ns.failed;
	d->any_failed |= failed;
	count_poll(d, &st, &ns, t0, failed);
	/* between polls, when a socket named a cgroup made since: no record
	 * holds a path now */
	(void)cg_cache_refresh(&d->cg, ts_now_ns(CLOCK_MONOTONIC));
	if (ts_daemon_reader_gone(d))
		return; /* quietly, as a filter whose reader left */
	ts_counters_delta(&d->totals, &d->printed, &delta);
	/* a failure, or a lost close event, is never silent */
	if (!d->opt->quiet || failed || delta.c[TS_C_CLOSE_LOST]) {
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
		else if (ev == TS_EV_INTERVAL)
			ts_metrics_set_gauge(&d->metrics, TS_G_INTERVAL_MS,
					     ts_loop_interval_ms(&d->loop));
		else if (ev == TS_EV_POLL || ev == TS_EV_TICK)
			poll_once(d);
		else if (ev == TS_EV_WATCHDOG)
			ts_notify_watchdog();
		else if (ev == TS_EV_CLOSE)
			ts_closes_read(d);
		else if (ev == TS_EV_FLUSH)
			ts_closes_flush(d);
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
		.close = d->closes_up ? &d->closes : NULL,
	};
	struct ts_workers_cfg wc = {
		.n = o->workers,
		.engine = o->io_engine,
		.poll = {
			.families = o->families,
			.states = o->states,
			.ext = o->ext,
			.filter = o->filter ? o->filter_bc : NULL,
			.filter_len = o->filter_len,
			.one_walk = d->one_walk,
			.ring = {
				.recv_batch = o->uring_recv_batch,
				.cqe_batch = o->uring_cqe_batch,
				.features = uring_features(),
			},
		},
	};
	int rc = ts_workers_start(&d->workers, &wc, &d->fanout, &tc);

	if (rc == 0)
		ts_closes_during_polls(d);

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
		ns_table_release(&d->table); /* reads the last close events */
	d->table_up = 0;
	ts_closes_report_last(d);
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
	ts_http_stop(d->http); /* first: it reads the sinks' names */
	d->http = NULL;
	for (unsigned i = 0; i < d->nsinks; i++)
		sink_free(d->sinks[i]);
	d->nsinks = 0;
	if (d->loop_up)
		ts_loop_release(&d->loop);
	d->loop_up = 0;
	ts_closes_release(d);
	ts_fanout_release(&d->fanout);
	cg_cache_release(&d->cg);
	ts_changes_release(&d->changes);
	ts_tcp_acc_release(&d->tcp);
	ts_metrics_release(&d->metrics);
}
