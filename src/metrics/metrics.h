/*
 * metrics.h - every counter tcpscope keeps, as monotonic totals that
 * another thread can read.
 *
 * Contract: struct ts_counters holds the totals over the daemon's life
 * (TS_C_*) and the gauges of the last poll (TS_G_*), plus each
 * destination's sink_stats (monotonic already). The thread that runs the
 * polls adds a poll's figures with plain adds (the poll threads count in
 * their own poll_stats, summed once per poll: nothing is added per
 * socket), then publishes the whole set with ts_metrics_publish(); any
 * thread takes a consistent copy with ts_metrics_read() (one short lock
 * per poll and per read, never on the per-socket path).
 * ts_counters_delta() gives what one poll added: the summary line prints
 * that, so the sum of the summary lines equals the totals.
 * Durations are also counted in histograms (TS_H_*: one observation per
 * poll, fixed bounds ts_hist_bounds_ns[]), so that they aggregate across
 * hosts. The registry keeps the publication before the last one too
 * (ts_metrics_read_last(): what the last poll added), and each
 * destination's name and flags, set once at startup (ts_metrics_set_dests).
 * ts_metrics_set_gauge() changes one gauge between publications (the
 * start of a poll under way, a new interval) without publishing.
 * Thread-safety: publish and read from any thread; a ts_counters belongs
 * to one thread.
 */
#ifndef TS_METRICS_H
#define TS_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "../sink/sink.h"
#include "tcpstats.h"

#define TS_METRICS_MAX_SINKS 16

enum ts_counter {
	TS_C_POLLS,
	TS_C_POLLS_FAILED,     /* polls with a failed dump or no namespace */
	TS_C_POLL_OVERRUNS,    /* polls longer than the interval */
	TS_C_RECORDS,	       /* sockets dumped */
	TS_C_DATAGRAMS,	       /* netlink datagrams received */
	TS_C_BYTES,	       /* netlink bytes received */
	TS_C_UNKNOWN_ATTRS,    /* attributes the parser does not know */
	TS_C_DUMPS,	       /* dumps run */
	TS_C_DUMPS_FAILED,     /* dumps that failed */
	TS_C_DUMP_INTR,	       /* dumps marked inconsistent (DUMP_INTR) */
	TS_C_NS_ADDED,	       /* namespaces found */
	TS_C_NS_REMOVED,       /* namespaces gone */
	TS_C_NS_FAILED,	       /* namespace opens that failed, per poll */
	TS_C_NS_REOPENED,      /* dump sockets reopened after a failure */
	TS_C_POLL_NS,	       /* time spent polling */
	TS_C_RECONCILE_NS,     /* time spent reconciling namespaces */
	TS_C_RING_ENTERS,      /* io_uring_enter calls */
	TS_C_RING_SQES,	       /* submissions */
	TS_C_RING_CQES,	       /* completions */
	TS_C_RING_BUSY,	       /* refusals of a full in-flight table */
	TS_C_RING_BAD_CQES,    /* completions whose user_data broke the codec */
	TS_C_TICKS_MISSED,     /* interval ticks skipped by long polls */
	TS_C_REQUESTS,	       /* requests posted to the event loop */
	TS_C_SAMPLED_OUT,      /* records left out by --sample */
	TS_C_UNCHANGED,	       /* --emit changes: not sent, nothing changed */
	TS_C_CHANGES_OVERFLOW, /* --emit changes: sent, the table was full */
	/* dumps that failed, by reason (poller.h: POLL_FAIL_*, same order) */
	TS_C_DUMP_FAIL_TIMEOUT,
	TS_C_DUMP_FAIL_OVERRUN,
	TS_C_DUMP_FAIL_MALFORMED,
	TS_C_DUMP_FAIL_KERNEL,
	TS_C_DUMP_FAIL_IO,
	TS_C_CLOSE_EVENTS,   /* --close-events: close messages received */
	TS_C_CLOSE_FILTERED, /* ... of those, refused by --filter */
	TS_C_CLOSE_LOST,     /* ... dropped by the kernel: buffer full */
	TS_C_CLOSE_OVERRUNS, /* ... ENOBUFS reports */
	TS_C_CLOSE_ERRORS,   /* ... datagrams unreadable or malformed */
	TS_C_COUNT
};

#define TS_C_DUMP_FAIL_FIRST TS_C_DUMP_FAIL_TIMEOUT

enum ts_gauge {
	TS_G_SOCKETS,	     /* sockets of the last poll */
	TS_G_NAMESPACES,     /* namespaces polled in the last poll */
	TS_G_NS_SKIPPED,     /* discovery entries that could not be read */
	TS_G_NS_CAPPED,	     /* namespaces not polled: over --netns-max */
	TS_G_POLL_NS,	     /* duration of the last poll */
	TS_G_RECONCILE_NS,   /* duration of the last reconcile */
	TS_G_LAST_POLL_MONO, /* CLOCK_MONOTONIC start of the last poll (ns) */
	TS_G_LAST_DONE_MONO, /* ... and its end */
	TS_G_POLL_SEQ,	     /* the last poll's number */
	TS_G_URING,	     /* 1 when the io_uring engine is in use */
	TS_G_SAMPLE,	     /* --sample N (1: every socket) */
	TS_G_ONE_WALK,	     /* 1: one dump walks the hash for both families */
	TS_G_EMIT_CHANGES,   /* 1 with --emit changes */
	TS_G_METRICS_TCP,    /* 1 with --metrics-tcp: the tcp block is set */
	TS_G_INTERVAL_MS,    /* the interval in force (it may be changed) */
	TS_G_NS_FAILED,	     /* namespaces that could not be opened */
	TS_G_CLOSE_EVENTS,   /* 1 with --close-events */
	TS_G_CLOSE_MISSING,  /* namespaces polled without a close socket */
	TS_G_COUNT
};

/* Histograms of durations: one observation per poll. */
enum ts_hist {
	TS_H_POLL,	/* a poll's dumps (TS_G_POLL_NS) */
	TS_H_RECONCILE, /* a reconcile (TS_G_RECONCILE_NS) */
	TS_H_COUNT
};

/* Upper bounds from 1 ms to 10 s, then +Inf (UINT64_MAX). */
#define TS_HIST_BUCKETS 14
extern const uint64_t ts_hist_bounds_ns[TS_HIST_BUCKETS];

struct ts_counters {
	uint64_t c[TS_C_COUNT];
	uint64_t g[TS_G_COUNT];
	/* observations per bucket (not cumulative); their sum is the count */
	uint64_t h[TS_H_COUNT][TS_HIST_BUCKETS];
	unsigned nsinks;
	struct sink_stats sinks[TS_METRICS_MAX_SINKS];
	struct ts_tcp_stats tcp; /* --metrics-tcp (TS_G_METRICS_TCP) */
};

/* What labels a destination's series: set once at startup. */
struct ts_metrics_dest {
	const char *name; /* the sink's (password masked); lives as long
			     as the daemon's sinks */
	int queue;	  /* it has a queue of its own: st.queued is its
			     depth (a library destination, SINK_F_OWN_IO) */
};

struct ts_metrics {
	pthread_mutex_t lock;
	struct ts_counters cur;
	struct ts_counters prev; /* the publication before cur */
	uint64_t publishes;
	unsigned ndests;
	struct ts_metrics_dest dests[TS_METRICS_MAX_SINKS];
};

void ts_metrics_init(struct ts_metrics *m);
void ts_metrics_release(struct ts_metrics *m);
void ts_metrics_publish(struct ts_metrics *m, const struct ts_counters *c);
/* A consistent copy of the last publication; returns how many there were
 * (0: none yet, *out zeroed but for gauges ts_metrics_set_gauge() set). */
uint64_t ts_metrics_read(struct ts_metrics *m, struct ts_counters *out);
/* The last publication and the one before it (zeroed before the first),
 * consistent with each other; returns the count as ts_metrics_read(). */
uint64_t ts_metrics_read_last(struct ts_metrics *m, struct ts_counters *now,
			      struct ts_counters *before);
/* Sets one gauge of the last publication, without publishing (a delta
 * takes its gauges from `now`, so it shows the new value). */
void ts_metrics_set_gauge(struct ts_metrics *m, enum ts_gauge g, uint64_t v);
/* Names the destinations' series (sinks' names, flags): once, before
 * they are published. n is clipped to TS_METRICS_MAX_SINKS. */
void ts_metrics_set_dests(struct ts_metrics *m, struct sink *const *sinks,
			  unsigned n);
/* A copy of the destinations' labels; returns how many. */
unsigned ts_metrics_dests(struct ts_metrics *m,
			  struct ts_metrics_dest out[TS_METRICS_MAX_SINKS]);

/* Counts one observation of ns nanoseconds in histogram h of c. */
void ts_hist_observe(struct ts_counters *c, enum ts_hist h, uint64_t ns);

/* out = now - before for the totals and the sinks; gauges from now. */
void ts_counters_delta(const struct ts_counters *now,
		       const struct ts_counters *before,
		       struct ts_counters *out);

/* A drop reason as a label or key: sink_drop_name() with '_' for ' '
 * ("send_error"). */
void ts_drop_label(enum sink_drop why, char *out, size_t n);

/* The counters' and gauges' names, for logs and the stats endpoint. */
const char *ts_counter_name(enum ts_counter c);
const char *ts_gauge_name(enum ts_gauge g);

#endif
