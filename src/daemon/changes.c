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
	c->gen = 1; /* the zeroed slots (gen 0) are free in both tables */
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
	/* nothing cleared: slots are live under their poll's number */
	ts_table_next_gen(&c->gen, c->cur, c->prev,
			  c->nslots * sizeof(*c->cur));
	c->ncur = 0;
	c->snapshot =
		c->snapshot_every && seq > 1 && seq % c->snapshot_every == 0;
}

/* A byte range into h a word at a time (a byte at a time cost ~0.2 us
 * per socket over tcp_info's ~230 bytes: a serial multiply per byte).
 * Each step is a bijection of h for a given word, so two ranges that
 * differ in one word always end apart; the rotation carries high bits
 * down so that differences do not cancel in the top bit. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w;

	for (; n >= 8; n -= 8, b += 8) {
		memcpy(&w, b, 8);
		h = ((h ^ w) << 29 | (h ^ w) >> 35) * 0x9e3779b97f4a7c15ull;
	}
	w = 0;
	memcpy(&w, b, n);
	return ((h ^ w ^ n) << 29 | (h ^ w ^ n) >> 35) * 0x9e3779b97f4a7c15ull;
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
	uint64_t h = 0;

	h = mix(h, &r->state, sizeof(r->state));
	h = mix(h, &r->rqueue, sizeof(r->rqueue));
	h = mix(h, &r->wqueue, sizeof(r->wqueue));
	h = mix(h, info, size < ages ? size : ages);
	if (size > after)
		h = mix(h, info + after, size - after);
	/* murmur3's finaliser: every bit of h into the 32 kept */
	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdull;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(h ^ (h >> 33));
}

static const struct ts_change_slot *find(const struct ts_change_slot *t,
					 size_t nslots, uint64_t cookie,
					 uint32_t gen)
{
	for (size_t i = ts_cookie_slot(cookie, nslots); t[i].gen == gen;
	     i = (i + 1) & (nslots - 1))
		if (t[i].cookie == cookie)
			return &t[i];
	return NULL;
}

const char *ts_changes_event(struct ts_changes *c, const struct ts_record *r)
{
	size_t i = ts_cookie_slot(r->cookie, c->nslots);
	const struct ts_change_slot *old;
	uint32_t h;

	/* both tables' slots load while the hash is computed */
	__builtin_prefetch(&c->prev[i]);
	__builtin_prefetch(&c->cur[i], 1);
	h = hash_of(r);
	old = find(c->prev, c->nslots, r->cookie, c->gen - 1);

	if (c->ncur == c->max) { /* full: say it, never lose it */
		c->overflow++;
		return "change";
	}
	for (i = ts_cookie_slot(r->cookie, c->nslots); c->cur[i].gen == c->gen;
	     i = (i + 1) & (c->nslots - 1))
		if (c->cur[i].cookie == r->cookie)
			break; /* seen twice in a poll (both families) */
	if (c->cur[i].gen != c->gen)
		c->ncur++;
	c->cur[i].cookie = r->cookie;
	c->cur[i].hash = h;
	c->cur[i].gen = c->gen;
	if (!old)
		return "open";
	if (c->snapshot)
		return "snapshot";
	if (old->hash != h)
		return "change";
	c->unchanged++;
	return NULL;
}
