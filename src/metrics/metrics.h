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
 * Thread-safety: publish and read from any thread; a ts_counters belongs
 * to one thread.
 */
#ifndef TS_METRICS_H
#define TS_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "../sink/sink.h"

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
	TS_C_CLOSE_EVENTS,     /* --close-events: close messages received */
	TS_C_CLOSE_FILTERED,   /* ... of those, refused by --filter */
	TS_C_CLOSE_LOST,       /* ... dropped by the kernel: buffer full */
	TS_C_CLOSE_OVERRUNS,   /* ... ENOBUFS reports */
	TS_C_CLOSE_ERRORS,     /* ... datagrams unreadable or malformed */
	TS_C_COUNT
};

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
	TS_G_EMIT_CHANGES,   /* 1 with --emit changes */
	TS_G_CLOSE_EVENTS,   /* 1 with --close-events */
	TS_G_CLOSE_MISSING,  /* namespaces polled without a close socket */
	TS_G_COUNT
};

struct ts_counters {
	uint64_t c[TS_C_COUNT];
	uint64_t g[TS_G_COUNT];
	unsigned nsinks;
	struct sink_stats sinks[TS_METRICS_MAX_SINKS];
};

struct ts_metrics {
	pthread_mutex_t lock;
	struct ts_counters cur;
	uint64_t publishes;
};

void ts_metrics_init(struct ts_metrics *m);
void ts_metrics_release(struct ts_metrics *m);
void ts_metrics_publish(struct ts_metrics *m, const struct ts_counters *c);
/* A consistent copy of the last publication; returns how many there were
 * (0: none yet, *out zeroed). */
uint64_t ts_metrics_read(struct ts_metrics *m, struct ts_counters *out);

/* out = now - before for the totals and the sinks; gauges from now. */
void ts_counters_delta(const struct ts_counters *now,
		       const struct ts_counters *before,
		       struct ts_counters *out);

/* The counters' names, for logs and the metrics endpoint. */
const char *ts_counter_name(enum ts_counter c);

#endif
