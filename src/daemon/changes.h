/*
 * changes.h - change-only output (--emit changes): a record is emitted
 * when its socket is new (event "open"), when its state or a counter
 * changed since the previous poll ("change"), and every socket once every
 * --snapshot-every polls ("snapshot"), so a consumer can rebuild the
 * whole picture.
 *
 * Contract: the state per socket is its cookie and a hash of the
 * compared fields (tcp_info but the last_* ages, which change by
 * themselves with time; the state; the queues) and the poll that wrote it, 16
 * bytes, in two tables of a fixed size (this poll's and the previous one's): no
 * allocation after init, no lock, nothing per record but a lookup and an
 * insert. When this poll's table is full, the socket is emitted (as "change")
 * and counted in `overflow`, never dropped. ts_changes_poll_begin() starts a
 * poll (the previous poll's table becomes the one looked up).
 * Thread-safety: the one thread delivering records (or under its lock).
 */
#ifndef TS_CHANGES_H
#define TS_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "../record/record.h"

#define TS_CHANGES_MAX_DEFAULT 262144
#define TS_CHANGES_MAX_LIMIT   (16u << 20)

struct ts_change_slot {
	uint64_t cookie;
	uint32_t hash;
	uint32_t gen; /* the poll that wrote it: others' slots are free */
};

struct ts_changes {
	struct ts_change_slot *cur, *prev;
	size_t nslots; /* a power of two */
	size_t max;    /* sockets per table (load factor <= 1/2) */
	size_t ncur;
	uint32_t gen; /* cur's poll number; prev's is gen - 1 */
	unsigned snapshot_every;
	int snapshot;	    /* this poll emits every socket */
	uint64_t unchanged; /* records not emitted: nothing changed */
	uint64_t overflow;  /* emitted because the table was full */
};

/* 0 or -ENOMEM. */
int ts_changes_init(struct ts_changes *c, size_t max_sockets,
		    unsigned snapshot_every);
void ts_changes_release(struct ts_changes *c);
void ts_changes_poll_begin(struct ts_changes *c, uint64_t poll_seq);
/* "open", "change" or "snapshot"; NULL: not emitted (unchanged). */
const char *ts_changes_event(struct ts_changes *c, const struct ts_record *r);

#endif
