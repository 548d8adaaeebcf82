/*
 * fanout.h - the one place where the daemon-side fields (host name,
 * record counter) are stamped on a record and the record is handed to
 * every destination.
 *
 * Contract: ts_fanout_record() is the per-record path: no allocation, no
 * log. Records from several poll threads are delivered in batches under
 * the fanout's lock (the destinations are single-threaded), so the lock
 * is taken once per batch, never per record. `ring` is the calling
 * thread's io_uring (NULL: syscalls), passed on to the destinations'
 * write and flush.
 * With --sample N only the sockets whose cookie hashes to 0 mod N are
 * delivered: the same sockets poll after poll (a time series each); the
 * others are counted in sampled_out. The fanout does not own the sinks.
 * Thread-safety: ts_fanout_batch() from any thread; ts_fanout_record()
 * by the only thread delivering (one worker), or under ts_fanout_lock().
 */
#ifndef TS_FANOUT_H
#define TS_FANOUT_H

#include <pthread.h>
#include <stdint.h>

#include "../record/record.h"
#include "../sink/sink.h"

struct ring;
struct cg_cache;
struct ts_changes;
struct ts_tcp_acc;

struct ts_fanout {
	char hostname[256];
	uint64_t record_counter; /* unique over the daemon's life */
	struct sink **sinks;
	unsigned nsinks;
	unsigned sample;	    /* --sample N: 1 in N sockets, by cookie */
	struct cg_cache *cg;	    /* --cgroup-path: ids to paths, or NULL */
	struct ts_changes *changes; /* --emit changes, or NULL: every one */
	struct ts_tcp_acc *tcp;	    /* --metrics-tcp, or NULL */
	uint64_t sampled_out; /* records not delivered: not in the sample */
	pthread_mutex_t lock;
};

void ts_fanout_init(struct ts_fanout *f, struct sink **sinks, unsigned nsinks);
void ts_fanout_release(struct ts_fanout *f);
void ts_fanout_record(struct ts_fanout *f, struct ts_record *rec,
		      struct ring *ring);
/* n records under the lock, in one go. */
void ts_fanout_batch(struct ts_fanout *f, struct ts_record *recs, size_t n,
		     struct ring *ring);
/* n close records (--close-events) under the lock: event "close",
 * sampled like the polls' records, never held back by --emit changes. */
void ts_fanout_closed(struct ts_fanout *f, struct ts_record *recs, size_t n,
		      struct ring *ring);
/* Start of poll `seq` (change-only output compares with the last one). */
void ts_fanout_poll_begin(struct ts_fanout *f, uint64_t seq);
/* End of a poll: every destination sends what it holds. */
void ts_fanout_flush(struct ts_fanout *f, struct ring *ring);

#endif
