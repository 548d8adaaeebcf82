/* changes.c - change-only output (see changes.h). */
#include "changes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/table_mem.h"

int ts_changes_init(struct ts_changes *c, size_t max_sockets,
		    unsigned snapshot_every)
{
	void *cur = NULL, *prev = NULL;

	memset(c, 0, sizeof(*c));
	c->nslots = 1024;
	while (c->nslots < 2 * max_sockets)
		c->nslots *= 2;
	c->max = c->nslots / 2;
	c->snapshot_every = snapshot_every;
	if (ts_table_calloc(c->nslots, sizeof(struct ts_change_slot), &cur) <
		    0 ||
	    ts_table_calloc(c->nslots, sizeof(struct ts_change_slot), &prev) <
		    0) {
		free(cur); /* big tables: no half-made state kept */
		return -ENOMEM;
	}
	c->cur = cur;
	c->prev = prev;
	return 0;
}

void ts_changes_release(struct ts_changes *c)
{
	if (!c)
		return;
	free(c->cur);
	free(c->prev);
	c->cur = c->prev = NULL;
}

void ts_changes_poll_begin(struct ts_changes *c, uint64_t seq)
{
	struct ts_change_slot *t = c->prev;

	c->prev = c->cur;
	c->cur = t;
	memset(c->cur, 0, c->nslots * sizeof(*c->cur));
	c->ncur = 0;
	c->snapshot =
		c->snapshot_every && seq > 1 && seq % c->snapshot_every == 0;
}

static size_t slot_of(uint64_t cookie, size_t nslots)
{
	return (size_t)((cookie * 0x9e3779b97f4a7c15ull) >> 17) & (nslots - 1);
}

/* FNV-1a over a byte range. */
static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* What a change is: the state, the queues, and tcp_info without the
 * last_* ages (they grow by themselves between polls). */
static uint32_t hash_of(const struct ts_record *r)
{
	const uint8_t *info = (const uint8_t *)&r->info;
	size_t size = r->tcp_info_size < sizeof(r->info) ? r->tcp_info_size
							 : sizeof(r->info);
	size_t ages = offsetof(struct ts_tcp_info, last_data_sent);
	size_t after = offsetof(struct ts_tcp_info, last_ack_recv) +
		       sizeof(r->info.last_ack_recv);
	uint32_t h = 2166136261u;

	h = fnv(h, &r->state, sizeof(r->state));
	h = fnv(h, &r->rqueue, sizeof(r->rqueue));
	h = fnv(h, &r->wqueue, sizeof(r->wqueue));
	h = fnv(h, info, size < ages ? size : ages);
	if (size > after)
		h = fnv(h, info + after, size - after);
	return h;
}

static const struct ts_change_slot *find(const struct ts_change_slot *t,
					 size_t nslots, uint64_t cookie)
{
	for (size_t i = slot_of(cookie, nslots); t[i].cookie;
	     i = (i + 1) & (nslots - 1))
		if (t[i].cookie == cookie)
			return &t[i];
	return NULL;
}

const char *ts_changes_event(struct ts_changes *c, const struct ts_record *r)
{
	uint32_t h = hash_of(r);
	const struct ts_change_slot *old = find(c->prev, c->nslots, r->cookie);
	size_t i;

	if (c->ncur == c->max) { /* full: say it, never lose it */
		c->overflow++;
		return "change";
	}
	for (i = slot_of(r->cookie, c->nslots); c->cur[i].cookie;
	     i = (i + 1) & (c->nslots - 1))
		if (c->cur[i].cookie == r->cookie)
			break; /* seen twice in a poll (both families) */
	if (!c->cur[i].cookie)
		c->ncur++;
	c->cur[i].cookie = r->cookie;
	c->cur[i].hash = h;
	if (!old)
		return "open";
	if (c->snapshot)
		return "snapshot";
	if (old->hash != h)
		return "change";
	c->unchanged++;
	return NULL;
}
