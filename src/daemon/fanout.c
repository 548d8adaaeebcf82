/* fanout.c - stamping and fan-out of records (see fanout.h). */
#include "fanout.h"

#include "../cgroup/cgpath.h"
#include "../metrics/tcpstats.h"
#include "changes.h"

#include <linux/inet_diag.h>
#include <string.h>
#include <unistd.h>

void ts_fanout_init(struct ts_fanout *f, struct sink **sinks, unsigned nsinks)
{
	char host[sizeof(f->hostname)] = "";

	memset(f, 0, sizeof(*f));
	/* a local buffer: gcc's -Wnonnull under ASan misreads the member */
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "unknown");
	memcpy(f->hostname, host, sizeof(host));
	f->sinks = sinks;
	f->nsinks = nsinks;
	pthread_mutex_init(&f->lock, NULL);
}

void ts_fanout_release(struct ts_fanout *f)
{
	if (f)
		pthread_mutex_destroy(&f->lock);
}

/* splitmix64's finaliser: cookies are sequential, the sample must not
 * be (one in N of every range of sockets, stable for a cookie). */
static int in_sample(uint64_t cookie, unsigned n)
{
	uint64_t z = cookie + 0x9e3779b97f4a7c15ull;

	if (n <= 1)
		return 1;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % n == 0;
}

/* The record's daemon-side fields, then every destination. */
static void deliver(struct ts_fanout *f, struct ts_record *rec,
		    struct ring *ring)
{
	if (f->cg && (rec->present & (1u << INET_DIAG_CGROUP_ID)))
		rec->cgroup_path = cg_cache_lookup(f->cg, rec->cgroup_id);
	rec->hostname = f->hostname;
	rec->record_counter = ++f->record_counter;
	for (unsigned i = 0; i < f->nsinks; i++)
		(void)sink_write(f->sinks[i], rec, ring);
}

void ts_fanout_record(struct ts_fanout *f, struct ts_record *rec,
		      struct ring *ring)
{
	if (f->tcp) /* every socket dumped, before any selection */
		ts_tcp_acc_add(f->tcp, rec);
	if (!in_sample(rec->cookie, f->sample)) {
		f->sampled_out++;
		return;
	}
	rec->event = "poll";
	if (f->changes && !(rec->event = ts_changes_event(f->changes, rec)))
		return; /* unchanged: counted there */
	deliver(f, rec, ring);
}

void ts_fanout_batch(struct ts_fanout *f, struct ts_record *recs, size_t n,
		     struct ring *ring)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < n; i++)
		ts_fanout_record(f, &recs[i], ring);
	pthread_mutex_unlock(&f->lock);
}

void ts_fanout_closed(struct ts_fanout *f, struct ts_record *recs, size_t n,
		      struct ring *ring)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < n; i++) {
		/* the same sockets as their polls: the sample is by cookie */
		if (!in_sample(recs[i].cookie, f->sample)) {
			f->sampled_out++;
			continue;
		}
		/* always sent: a socket's end is a change whatever --emit */
		recs[i].event = "close";
		deliver(f, &recs[i], ring);
	}
	pthread_mutex_unlock(&f->lock);
}

void ts_fanout_poll_begin(struct ts_fanout *f, uint64_t seq)
{
	if (f->changes)
		ts_changes_poll_begin(f->changes, seq);
	if (f->tcp)
		ts_tcp_acc_poll_begin(f->tcp);
}

void ts_fanout_flush(struct ts_fanout *f, struct ring *ring)
{
	pthread_mutex_lock(&f->lock);
	for (unsigned i = 0; i < f->nsinks; i++)
		(void)sink_flush(f->sinks[i], ring);
	pthread_mutex_unlock(&f->lock);
}
