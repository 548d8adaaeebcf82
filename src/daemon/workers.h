/*
 * workers.h - the poll threads and their hand-off.
 *
 * Contract: ts_workers_start() makes one poll loop per worker with the
 * engine the options ask for (the ring decides: --io-engine uring fails
 * here when it cannot be made, saying why; auto falls back to syscalls
 * with one line), then starts workers - 1 threads; the calling thread is
 * worker 0. ts_workers_poll() runs one poll over every worker's share of
 * the namespace table, the extra workers in parallel, and returns the
 * sum of their poll_stats. Records go to the fanout: directly from a
 * lone worker, in batches of TS_WORKER_BATCH from several.
 * ts_workers_ring_stats() adds up the rings' counters (between polls).
 * Thread-safety: everything from the thread that started them.
 */
#ifndef TS_WORKERS_H
#define TS_WORKERS_H

#include <pthread.h>

#include "../engine/poller.h"
#include "../netns/ns_table.h"
#include "fanout.h"

#define TS_WORKER_BATCH 256

struct ts_workers_cfg {
	unsigned n; /* workers, 1..NS_MAX_WORKERS */
	int engine; /* TS_ENGINE_* (options.h) */
	struct poll_config poll;
};

struct ts_worker;

struct ts_workers {
	struct ts_workers_cfg cfg;
	struct ts_fanout *fanout;
	const struct ns_table *table;
	struct ts_worker *w[NS_MAX_WORKERS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t poll_gen; /* bumped to start a poll */
	unsigned running;  /* extra workers still polling */
	uint64_t poll_seq;
	int quitting;
	int uring; /* the engine in use */
};

/* Fills tc->loops (and the ring's stat batch) for ns_table_init().
 * Prints its own errors. 0 or -errno. */
int ts_workers_start(struct ts_workers *ws, const struct ts_workers_cfg *cfg,
		     struct ts_fanout *fanout, struct ns_table_cfg *tc);
/* The table whose targets the workers poll (after ns_table_init). */
void ts_workers_set_table(struct ts_workers *ws, const struct ns_table *t);
int ts_workers_poll(struct ts_workers *ws, uint64_t seq,
		    struct poll_stats *sum);
void ts_workers_ring_stats(const struct ts_workers *ws, struct ring_stats *out);
/* Worker 0 is the calling thread: fn(arg) runs there every `every`
 * datagrams of its polls (poll_loop_set_hook). After ts_workers_start. */
void ts_workers_set_hook(struct ts_workers *ws, void (*fn)(void *arg),
			 void *arg, unsigned every);
/* Worker 0's ring (the calling thread's), or NULL. */
struct ring *ts_workers_ring(const struct ts_workers *ws);
void ts_workers_stop(struct ts_workers *ws);
/* Frees the loops: after ns_table_release(). NULL and a zeroed struct
 * are fine. */
void ts_workers_release(struct ts_workers *ws);

#endif
