/*
 * daemon.h - the daemon's lifecycle: destinations, poll workers,
 * namespace table, event loop and counters, wired from the options.
 *
 * Contract: ts_daemon_init() opens every destination (a bad URL or
 * option: -EINVAL, the caller exits 2; another failure -errno, exit 1),
 * printing its own one-line errors. ts_daemon_run() polls (or replays)
 * until --count is reached or a stop is requested: the first poll at
 * once, then one per tick of the event loop or per request posted to it
 * (ts_daemon_post(), from any thread); SIGHUP reopens file destinations
 * between polls. After each poll the totals are published to the
 * metrics registry (ts_daemon_metrics()) and, unless --quiet, the poll's
 * summary line is printed (a failed poll always). With --close-events,
 * the close records are read between polls (and before each poll's end)
 * and go to the destinations, which send them within a second (closes.h). Then
 * the exit phase: one bound (--exit-timeout) for every destination's last
 * delivery. Returns 0, or -EIO when any poll failed or no namespace could ever
 * be opened (exit 1), or the startup error. ts_daemon_release() frees
 * everything (NULL and a failed init are fine). Thread-safety: init, run and
 * release from main; post and metrics from any thread once init returned 0.
 * With --metrics or --control, init starts the HTTP server (http.h)
 * before opening the destinations, so that /healthz and /readyz answer
 * during startup; release stops it first.
 */
#ifndef TS_DAEMON_H
#define TS_DAEMON_H

#include "../cgroup/cgpath.h"
#include "../cli/options.h"
#include "../engine/close_set.h"
#include "../metrics/metrics.h"
#include "../netns/ns_table.h"
#include "changes.h"
#include "fanout.h"
#include "loop.h"
#include "workers.h"

struct ts_http;

struct ts_daemon {
	const struct ts_options *opt;
	struct sink *sinks[TS_MAX_DESTS];
	unsigned nsinks;
	struct ts_fanout fanout;
	struct ts_workers workers;
	struct ns_table table;
	int table_up;
	struct ts_loop loop;
	int loop_up;
	struct ts_metrics metrics;
	struct cg_cache cg;
	struct ts_changes changes;
	struct ts_tcp_acc tcp;
	struct close_set closes; /* --close-events */
	int closes_up;
	int close_pending;	/* close records written since the last flush */
	int close_warned;	/* the buffer the kernel granted was said */
	uint64_t close_read_ns; /* the last read of the close set */
	struct ts_counters totals;  /* the main thread's own */
	struct ts_counters printed; /* at the last summary line */
	uint64_t poll_seq;
	int one_walk; /* both families in one dump (--walk) */
	int any_failed;
	struct ts_http *http; /* --metrics / --control, or NULL */
};

int ts_daemon_init(struct ts_daemon *d, const struct ts_options *opt);
int ts_daemon_run(struct ts_daemon *d);
int ts_daemon_post(struct ts_daemon *d, const struct ts_req *r);
struct ts_metrics *ts_daemon_metrics(struct ts_daemon *d);
/* 1 when the only destination's reader went away (stdout into
 * `head -1`): the run ended, and the caller dies of SIGPIPE as any
 * filter would (sink.h: sole). */
int ts_daemon_reader_gone(const struct ts_daemon *d);
void ts_daemon_release(struct ts_daemon *d);

#endif
