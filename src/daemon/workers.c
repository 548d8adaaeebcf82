/* workers.c - the poll threads and their hand-off (see workers.h). */
#include "workers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/options.h"

struct ts_worker {
	struct ts_workers *ws;
	unsigned idx;
	pthread_t thread;
	int started;
	struct poll_loop *loop;
	struct poll_stats st;
	size_t nbatch;
	struct ts_record batch[TS_WORKER_BATCH];
};

static int on_record(struct ts_record *rec, void *arg)
{
	struct ts_worker *w = arg;

	ts_fanout_record(w->ws->fanout, rec, poll_loop_ring(w->loop));
	return 0;
}

static void flush_batch(struct ts_worker *w)
{
	ts_fanout_batch(w->ws->fanout, w->batch, w->nbatch,
			poll_loop_ring(w->loop));
	w->nbatch = 0;
}

/* Several workers: copy into the worker's batch, deliver per batch. */
static int on_record_batched(struct ts_record *rec, void *arg)
{
	struct ts_worker *w = arg;

	w->batch[w->nbatch++] = *rec;
	if (w->nbatch == TS_WORKER_BATCH)
		flush_batch(w);
	return 0;
}

static void poll_shard(struct ts_worker *w)
{
	struct ts_workers *ws = w->ws;
	size_t n;
	struct poll_target *const *t = ns_table_targets(ws->table, w->idx, &n);
	int many = ws->cfg.n > 1;

	(void)poll_loop_run(w->loop, t, n, ws->poll_seq,
			    many ? on_record_batched : on_record, w, &w->st);
	if (many)
		flush_batch(w);
}

static void *worker_main(void *arg)
{
	struct ts_worker *w = arg;
	struct ts_workers *ws = w->ws;
	uint64_t seen = 0;
	char err[160];

	/* the ring is made on its thread; a failure shows in the poll */
	(void)poll_loop_prepare(w->loop, err, sizeof(err));
	for (;;) {
		pthread_mutex_lock(&ws->lock);
		while (ws->poll_gen == seen && !ws->quitting)
			pthread_cond_wait(&ws->cond, &ws->lock);
		if (ws->quitting) {
			pthread_mutex_unlock(&ws->lock);
			return NULL;
		}
		seen = ws->poll_gen;
		pthread_mutex_unlock(&ws->lock);
		poll_shard(w);
		pthread_mutex_lock(&ws->lock);
		if (--ws->running == 0)
			pthread_cond_broadcast(&ws->cond);
		pthread_mutex_unlock(&ws->lock);
	}
}

static void add_stats(struct poll_stats *sum, const struct poll_stats *s)
{
	sum->records += s->records;
	sum->datagrams += s->datagrams;
	sum->bytes += s->bytes;
	sum->unknown_attrs += s->unknown_attrs;
	sum->targets += s->targets;
	sum->dumps += s->dumps;
	sum->dumps_failed += s->dumps_failed;
	sum->dump_intr += s->dump_intr;
	for (unsigned i = 0; i < POLL_FAIL_COUNT; i++)
		sum->dump_fail[i] += s->dump_fail[i];
	if (s->error) {
		sum->error = s->error;
		memcpy(sum->errmsg, s->errmsg, sizeof(sum->errmsg));
	}
	if (s->duration_ns > sum->duration_ns)
		sum->duration_ns = s->duration_ns;
}

int ts_workers_poll(struct ts_workers *ws, uint64_t seq, struct poll_stats *sum)
{
	unsigned nw = ws->cfg.n;

	pthread_mutex_lock(&ws->lock);
	ws->poll_seq = seq;
	ws->running = nw - 1;
	ws->poll_gen++;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	poll_shard(ws->w[0]);
	pthread_mutex_lock(&ws->lock);
	while (ws->running > 0)
		pthread_cond_wait(&ws->cond, &ws->lock);
	pthread_mutex_unlock(&ws->lock);
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < nw; i++)
		add_stats(sum, &ws->w[i]->st);
	return sum->error;
}

/* Makes every worker's loop with cfg's engine (no thread yet). */
static int make_loops(struct ts_workers *ws, struct ns_table_cfg *tc,
		      const struct poll_config *cfg)
{
	for (unsigned i = 0; i < ws->cfg.n; i++) {
		struct ts_worker *w = ws->w[i];
		if (!w) {
			w = calloc(1, sizeof(*w));
			if (!w || !(w->loop = calloc(1, sizeof(*w->loop)))) {
				free(w);
				return -ENOMEM;
			}
			w->ws = ws;
			w->idx = i;
			ws->w[i] = w;
		}
		int rc = poll_loop_init(w->loop, cfg);
		if (rc < 0)
			return rc;
		tc->loops[i] = w->loop;
	}
	return 0;
}

/* Discovery's stats of /proc/<pid>/ns/net through this thread's ring
 * (the reconcile runs here). */
static int stat_batch(void *ctx, const char *const *paths, unsigned n,
		      uint64_t *dev, uint64_t *ino, int *res)
{
	return ring_stat_batch(ctx, paths, n, dev, ino, res);
}

/* The ring decides the engine: uring stops here when it cannot be made,
 * auto falls back to syscalls with one line. */
static int choose_engine(struct ts_workers *ws, struct ns_table_cfg *tc,
			 struct poll_config *pc)
{
	char err[256];
	int rc = make_loops(ws, tc, pc);

	if (rc < 0 || poll_loop_prepare(ws->w[0]->loop, err, sizeof(err)) == 0)
		return rc;
	if (ws->cfg.engine == TS_ENGINE_URING) {
		fprintf(stderr, "tcpscope: --io-engine uring: %s\n", err);
		return -EOPNOTSUPP;
	}
	fprintf(stderr, "tcpscope: io_uring not used (%s); using syscalls\n",
		err);
	for (unsigned i = 0; i < ws->cfg.n; i++)
		poll_loop_release(ws->w[i]->loop);
	pc->engine = POLL_ENGINE_SYSCALL;
	return make_loops(ws, tc, pc);
}

int ts_workers_start(struct ts_workers *ws, const struct ts_workers_cfg *cfg,
		     struct ts_fanout *fanout, struct ns_table_cfg *tc)
{
	struct poll_config pc = cfg->poll;
	int rc;

	memset(ws, 0, sizeof(*ws));
	ws->cfg = *cfg;
	ws->fanout = fanout;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->cond, NULL);
	pc.engine = cfg->engine == TS_ENGINE_SYSCALL ? POLL_ENGINE_SYSCALL
						     : POLL_ENGINE_URING;
	rc = choose_engine(ws, tc, &pc);
	if (rc == -EOPNOTSUPP)
		return rc; /* said why */
	for (unsigned i = 1; rc == 0 && i < cfg->n; i++) {
		rc = -pthread_create(&ws->w[i]->thread, NULL, worker_main,
				     ws->w[i]);
		ws->w[i]->started = rc == 0;
	}
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot start: %s\n", strerror(-rc));
		return rc;
	}
	ws->uring = pc.engine == POLL_ENGINE_URING;
	if (poll_loop_ring(ws->w[0]->loop)) {
		tc->stat_batch = stat_batch;
		tc->stat_ctx = poll_loop_ring(ws->w[0]->loop);
	}
	return 0;
}

void ts_workers_set_table(struct ts_workers *ws, const struct ns_table *t)
{
	ws->table = t;
}

void ts_workers_set_hook(struct ts_workers *ws, void (*fn)(void *arg),
			 void *arg, unsigned every)
{
	if (ws->w[0])
		poll_loop_set_hook(ws->w[0]->loop, fn, arg, every);
}

struct ring *ts_workers_ring(const struct ts_workers *ws)
{
	return ws->w[0] ? poll_loop_ring(ws->w[0]->loop) : NULL;
}

void ts_workers_ring_stats(const struct ts_workers *ws, struct ring_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ws->cfg.n; i++) {
		const struct ring *r =
			ws->w[i] ? poll_loop_ring(ws->w[i]->loop) : NULL;
		if (!r)
			continue;
		out->enters += r->st.enters;
		out->sqes += r->st.sqes;
		out->cqes += r->st.cqes;
		out->busy += r->st.busy;
		out->bad_cqes += r->st.bad_cqes;
	}
}

void ts_workers_stop(struct ts_workers *ws)
{
	pthread_mutex_lock(&ws->lock);
	ws->quitting = 1;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	for (unsigned i = 1; i < ws->cfg.n; i++)
		if (ws->w[i] && ws->w[i]->started) {
			pthread_join(ws->w[i]->thread, NULL);
			ws->w[i]->started = 0;
		}
}

void ts_workers_release(struct ts_workers *ws)
{
	if (!ws)
		return;
	for (unsigned i = 0; i < ws->cfg.n && i < NS_MAX_WORKERS; i++) {
		struct ts_worker *w = ws->w[i];
		if (!w)
			continue;
		if (w->loop)
			poll_loop_release(w->loop);
		free(w->loop);
		free(w);
		ws->w[i] = NULL;
	}
}
