/*
 * main.c - tcpscope entry point: options, signals, the poll loop.
 *
 * Threads: this one (reconcile, poll shard 0, output), the namespace
 * opener (ns_open.h), and --workers - 1 extra poll threads (with
 * --io-engine uring, also the kernel's bounded io-wq workers: ring.h): a
 * constant number whatever the number of namespaces. Before each poll the
 * namespace table is reconciled; then every shard dumps its namespaces; each
 * record is stamped with the daemon-side fields (host name, record counter) and
 * handed to every destination; destinations are flushed at the end of the
 * poll, and a one-line summary goes to stderr unless --quiet.
 * With several workers, records reach the (single-threaded) sinks in
 * batches under one lock, so the lock is taken once per batch.
 * SIGINT/SIGTERM end the loop after the current poll's output is written;
 * SIGHUP reopens file destinations (log rotation).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/poller.h"
#include "../netns/ns_table.h"
#include "../pcap/replay.h"
#include "../sink/sink.h"
#include "../util/stop.h"
#include "../util/timeutil.h"
#include "options.h"

static volatile sig_atomic_t reopen_requested;

#define WORKER_BATCH 256

struct daemon;

struct worker {
	struct daemon *d;
	unsigned idx;
	pthread_t thread;
	struct poll_loop *loop;
	struct poll_stats st;
	size_t nbatch;
	struct ts_record batch[WORKER_BATCH];
};

struct daemon {
	struct ts_options opt;
	char hostname[256];
	uint64_t record_counter;
	struct sink *sinks[TS_MAX_DESTS];
	unsigned nsinks;
	struct ns_table table;
	struct worker *workers[NS_MAX_WORKERS];
	/* poll hand-off to the extra workers */
	pthread_mutex_t lock; /* also serialises sink writes */
	pthread_cond_t cond;
	uint64_t poll_gen; /* bumped to start a poll */
	unsigned running;  /* extra workers still polling */
	uint64_t poll_seq;
	int quitting;
};

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1;
	else
		ts_stop_request();
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a sleep between polls must wake up to stop */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void deliver(struct daemon *d, struct ts_record *rec)
{
	rec->hostname = d->hostname;
	rec->record_counter = ++d->record_counter;
	for (unsigned i = 0; i < d->nsinks; i++)
		(void)sink_write(d->sinks[i], rec);
}

static int on_record(struct ts_record *rec, void *arg)
{
	deliver(arg, rec);
	return 0;
}

/* Destinations send through the ring of the thread writing to them. */
static void use_ring(struct daemon *d, struct ring *r)
{
	for (unsigned i = 0; i < d->nsinks; i++)
		d->sinks[i]->ring = r;
}

static void flush_batch(struct worker *w)
{
	pthread_mutex_lock(&w->d->lock);
	use_ring(w->d, poll_loop_ring(w->loop));
	for (size_t i = 0; i < w->nbatch; i++)
		deliver(w->d, &w->batch[i]);
	pthread_mutex_unlock(&w->d->lock);
	w->nbatch = 0;
}

/* Several workers: copy into the worker's batch, deliver per batch. */
static int on_record_batched(struct ts_record *rec, void *arg)
{
	struct worker *w = arg;

	w->batch[w->nbatch++] = *rec;
	if (w->nbatch == WORKER_BATCH)
		flush_batch(w);
	return 0;
}

static void flush_sinks(struct daemon *d)
{
	if (d->workers[0])
		use_ring(d, poll_loop_ring(d->workers[0]->loop));
	if (reopen_requested) {
		reopen_requested = 0;
		for (unsigned i = 0; i < d->nsinks; i++) {
			int rc = sink_reopen(d->sinks[i]);
			/* the old file stays open: records keep landing there
			 */
			if (rc < 0)
				fprintf(stderr,
					"tcpscope: cannot reopen %s: %s; "
					"still writing to the file already "
					"open\n",
					d->sinks[i]->url, strerror(-rc));
		}
	}
	for (unsigned i = 0; i < d->nsinks; i++)
		(void)sink_flush(d->sinks[i]);
}

static void print_sink_stats(struct daemon *d)
{
	for (unsigned i = 0; i < d->nsinks; i++) {
		const struct sink_stats *s = &d->sinks[i]->st;
		fprintf(stderr,
			"; %s: %llu sent, %llu dropped (%llu oversize), "
			"%llu errors",
			d->sinks[i]->url, (unsigned long long)s->records,
			(unsigned long long)s->dropped,
			(unsigned long long)s->oversize,
			(unsigned long long)s->errors);
	}
	fputc('\n', stderr);
}

static void print_summary(struct daemon *d, uint64_t seq,
			  const struct poll_stats *st,
			  const struct ns_reconcile_stats *ns)
{
	fprintf(stderr,
		"tcpscope: poll %llu: %llu sockets in %.1f ms; namespaces %u "
		"(+%u -%u, %u failed, reconcile %.1f ms); %u dumps "
		"(%u failed, %u inconsistent), %llu datagrams, "
		"%llu unknown attributes",
		(unsigned long long)seq, (unsigned long long)st->records,
		st->duration_ns / 1e6, ns->total, ns->added, ns->removed,
		ns->failed, ns->duration_ns / 1e6, st->dumps, st->dumps_failed,
		st->dump_intr, (unsigned long long)st->datagrams,
		(unsigned long long)st->unknown_attrs);
	if (st->error)
		fprintf(stderr, "; error: %s", st->errmsg);
	if (ns->error)
		fprintf(stderr, "; %s", ns->errmsg);
	print_sink_stats(d);
}

/* Sleeps until the absolute monotonic deadline or a signal. */
static void sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};
	while (!ts_stop_requested() &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
		       EINTR)
		;
}

static void poll_shard(struct worker *w)
{
	struct daemon *d = w->d;
	size_t n;
	struct poll_target *const *t = ns_table_targets(&d->table, w->idx, &n);
	int many = d->opt.workers > 1;

	(void)poll_loop_run(w->loop, t, n, d->poll_seq,
			    many ? on_record_batched : on_record,
			    many ? (void *)w : (void *)d, &w->st);
	if (many)
		flush_batch(w);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	uint64_t seen = 0;
	char err[160];

	/* the ring is made on its thread; a failure shows in the poll */
	(void)poll_loop_prepare(w->loop, err, sizeof(err));
	for (;;) {
		pthread_mutex_lock(&d->lock);
		while (d->poll_gen == seen && !d->quitting)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->quitting) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		seen = d->poll_gen;
		pthread_mutex_unlock(&d->lock);
		poll_shard(w);
		pthread_mutex_lock(&d->lock);
		if (--d->running == 0)
			pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
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
	if (s->error) {
		sum->error = s->error;
		memcpy(sum->errmsg, s->errmsg, sizeof(sum->errmsg));
	}
	if (s->duration_ns > sum->duration_ns)
		sum->duration_ns = s->duration_ns;
}

/* One poll over every shard: extra workers in parallel, shard 0 here. */
static int poll_all(struct daemon *d, struct poll_stats *sum)
{
	unsigned nw = d->opt.workers;

	pthread_mutex_lock(&d->lock);
	d->running = nw - 1;
	d->poll_gen++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	poll_shard(d->workers[0]);
	pthread_mutex_lock(&d->lock);
	while (d->running > 0)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < nw; i++)
		add_stats(sum, &d->workers[i]->st);
	return sum->error;
}

static int uring_features(void)
{
	const char *v = getenv("TCPSCOPE_URING_NO_MULTISHOT");

	return v && *v && strcmp(v, "0") != 0 ? 0 : RING_F_MULTISHOT;
}

/* Makes every worker's loop with cfg's engine (no thread yet). */
static int make_loops(struct daemon *d, struct ns_table_cfg *tc,
		      const struct poll_config *cfg)
{
	for (unsigned i = 0; i < d->opt.workers; i++) {
		struct worker *w = d->workers[i];
		if (!w) {
			w = calloc(1, sizeof(*w));
			if (!w || !(w->loop = calloc(1, sizeof(*w->loop)))) {
				free(w);
				return -ENOMEM;
			}
			w->d = d;
			w->idx = i;
			d->workers[i] = w;
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

/* The loops, this thread's ring, then the extra poll threads. The ring
 * decides the engine: --io-engine uring stops here when it cannot be made
 * (saying why: an opcode, or io_uring_setup's errno), auto falls back to
 * syscalls with one line. Prints its own errors. */
static int start_workers(struct daemon *d, struct ns_table_cfg *tc)
{
	struct poll_config cfg = {
		.engine = d->opt.io_engine == TS_ENGINE_SYSCALL
				  ? POLL_ENGINE_SYSCALL
				  : POLL_ENGINE_URING,
		.families = d->opt.families,
		.states = d->opt.states,
		.ext = d->opt.ext,
		.ring = {
			.recv_batch = d->opt.uring_recv_batch,
			.cqe_batch = d->opt.uring_cqe_batch,
			.features = uring_features(),
		},
	};
	char err[256];
	int rc;

	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	rc = make_loops(d, tc, &cfg);
	if (rc == 0 &&
	    poll_loop_prepare(d->workers[0]->loop, err, sizeof(err)) < 0) {
		if (d->opt.io_engine == TS_ENGINE_URING) {
			fprintf(stderr, "tcpscope: --io-engine uring: %s\n",
				err);
			return -EOPNOTSUPP;
		}
		fprintf(stderr,
			"tcpscope: io_uring not used (%s); using syscalls\n",
			err);
		for (unsigned i = 0; i < d->opt.workers; i++)
			poll_loop_release(d->workers[i]->loop);
		cfg.engine = POLL_ENGINE_SYSCALL;
		rc = make_loops(d, tc, &cfg);
	}
	for (unsigned i = 1; rc == 0 && i < d->opt.workers; i++)
		rc = -pthread_create(&d->workers[i]->thread, NULL, worker_main,
				     d->workers[i]);
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot start: %s\n", strerror(-rc));
		return rc;
	}
	use_ring(d, poll_loop_ring(d->workers[0]->loop));
	if (poll_loop_ring(d->workers[0]->loop)) {
		tc->stat_batch = stat_batch;
		tc->stat_ctx = poll_loop_ring(d->workers[0]->loop);
	}
	return 0;
}

static void stop_workers(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	d->quitting = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < d->opt.workers; i++) {
		struct worker *w = d->workers[i];
		if (!w)
			continue;
		if (i > 0 && w->thread)
			pthread_join(w->thread, NULL);
	}
}

static void free_workers(struct daemon *d)
{
	for (unsigned i = 0; i < d->opt.workers; i++) {
		struct worker *w = d->workers[i];
		if (!w)
			continue;
		if (w->loop)
			poll_loop_release(w->loop);
		free(w->loop);
		free(w);
		d->workers[i] = NULL;
	}
}

/* the interval's nanoseconds cannot wrap (options.c bounds it) */
_Static_assert(TS_INTERVAL_MAX_MS <= UINT64_MAX / 1000000ull,
	       "--interval's bound overflows in nanoseconds");

static int poll_loop_forever(struct daemon *d)
{
	uint64_t interval_ns = d->opt.interval_ms * 1000000ull;
	uint64_t next = ts_now_ns(CLOCK_MONOTONIC);
	int failed = 0; /* any poll of the run: the exit status says so */

	while (!ts_stop_requested() &&
	       (d->opt.count == 0 || d->poll_seq < d->opt.count)) {
		struct ns_reconcile_stats ns;
		struct poll_stats st;
		int rc = ns_table_reconcile(&d->table, &ns);
		if (rc < 0)
			fprintf(stderr, "tcpscope: namespace discovery: %s\n",
				strerror(-rc));
		d->poll_seq++;
		rc = poll_all(d, &st);
		int poll_failed = rc < 0 || ns.total == ns.failed;
		failed |= poll_failed;
		flush_sinks(d);
		if (!d->opt.quiet || poll_failed) /* never silent */
			print_summary(d, d->poll_seq, &st, &ns);
		if (d->opt.count && d->poll_seq >= d->opt.count)
			break;
		/* fixed-rate ticks; an overrun skips the ticks it missed */
		next += interval_ns;
		uint64_t now = ts_now_ns(CLOCK_MONOTONIC);
		if (next < now)
			next = now + interval_ns - (now - next) % interval_ns;
		sleep_until(next);
	}
	return failed ? -EIO : 0;
}

static int run_polls(struct daemon *d)
{
	struct ns_table_cfg tc = {
		.dirs = d->opt.netns_dirs,
		.ndirs = d->opt.nnetns_dirs,
		.proc = "/proc",
		.select = d->opt.netns,
		.nworkers = d->opt.workers,
	};
	int rc = start_workers(d, &tc);

	if (rc == 0) {
		rc = ns_table_init(&d->table, &tc);
		if (rc < 0)
			fprintf(stderr, "tcpscope: cannot start: %s\n",
				strerror(-rc));
	}
	if (rc == 0)
		rc = poll_loop_forever(d);
	stop_workers(d);
	ns_table_release(&d->table);
	/* what the destinations still send at exit goes by syscalls */
	use_ring(d, NULL);
	free_workers(d);
	return rc;
}

static int run_replay(struct daemon *d)
{
	const char *name = strcmp(d->opt.replay, "-") ? d->opt.replay : "stdin";
	struct replay_stats st;
	char err[160];
	int rc =
		replay_file(d->opt.replay, on_record, d, &st, err, sizeof(err));

	flush_sinks(d);
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot replay %s: %s\n", name, err);
		return rc;
	}
	if (!d->opt.quiet) {
		fprintf(stderr,
			"tcpscope: replay %s: %llu packets, %llu dumps, "
			"%llu sockets, %llu errors, %llu unknown attributes",
			name, (unsigned long long)st.packets,
			(unsigned long long)st.requests,
			(unsigned long long)st.records,
			(unsigned long long)st.errors,
			(unsigned long long)st.unknown_attrs);
		print_sink_stats(d);
	}
	return 0;
}

/* What is still buffered goes out; when that changed a destination's
 * counts, the final totals get their own line. */
static void finish_sinks(struct daemon *d)
{
	int changed = 0;

	for (unsigned i = 0; i < d->nsinks; i++)
		changed |= sink_finish(d->sinks[i]);
	if (changed && !d->opt.quiet) {
		fputs("tcpscope: at exit", stderr);
		print_sink_stats(d);
	}
}

/* 0/1/2 closed at exec are reopened on /dev/null: else the first socket
 * or file opened takes one, and records or summaries would be written into
 * it. In order, so that open() returns the fd being filled. */
static int open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n < 0)
			return -errno;
		if (n != fd) {
			int rc = dup2(n, fd) < 0 ? -errno : 0;
			close(n);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	char err[256];
	int rc;

	/* before anything opens an fd */
	rc = open_std_fds();
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot open /dev/null: %s\n",
			strerror(-rc));
		return 1;
	}
	/* before anything else: a SIGHUP or SIGTERM while a destination's
	 * name is resolved must not kill the daemon */
	if (ts_stop_init() < 0) {
		perror("tcpscope: eventfd");
		return 1;
	}
	install_signals();
	rc = ts_options_parse(argc, argv, &d.opt, stdout, stderr);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (gethostname(d.hostname, sizeof(d.hostname) - 1) < 0)
		strcpy(d.hostname, "unknown");
	for (unsigned i = 0; i < d.opt.ndests; i++) {
		rc = sink_new(d.opt.dests[i], d.opt.format, &d.sinks[i], err,
			      sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "tcpscope: %s\n", err);
			return rc == -EINVAL ? 2 : 1;
		}
		d.nsinks++;
	}
	rc = d.opt.replay ? run_replay(&d) : run_polls(&d);
	finish_sinks(&d);
	for (unsigned i = 0; i < d.nsinks; i++)
		sink_free(d.sinks[i]);
	return rc < 0 ? 1 : 0;
}
