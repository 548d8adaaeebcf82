/* tcpstats.c - tcp_info aggregates for --metrics-tcp (see tcpstats.h). */
#include "tcpstats.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../util/table_mem.h"

const uint64_t ts_tcp_rtt_bounds_us[TS_TCP_BUCKETS] = {
	100,   250,   500,   1000,   2500,   5000,
	10000, 25000, 50000, 100000, 250000, UINT64_MAX,
};
const uint64_t ts_tcp_cwnd_bounds[TS_TCP_BUCKETS] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, UINT64_MAX,
};

int ts_tcp_acc_init(struct ts_tcp_acc *a)
{
	void *cur = NULL, *prev = NULL;

	memset(a, 0, sizeof(*a));
	a->nslots = 2 * TS_TCP_ACC_MAX;
	if (ts_table_calloc(a->nslots, sizeof(struct ts_tcp_slot), &cur) < 0 ||
	    ts_table_calloc(a->nslots, sizeof(struct ts_tcp_slot), &prev) < 0) {
		free(cur); /* big tables: no half-made state kept */
		return -ENOMEM;
	}
	a->cur = cur;
	a->prev = prev;
	a->gen = 1; /* the zeroed slots (gen 0) are free in both tables */
	return 0;
}

void ts_tcp_acc_release(struct ts_tcp_acc *a)
{
	if (!a)
		return;
	free(a->cur);
	free(a->prev);
	a->cur = a->prev = NULL;
}

/* The last poll's gauges and histograms start again; totals go on. */
void ts_tcp_acc_poll_begin(struct ts_tcp_acc *a)
{
	struct ts_tcp_slot *t = a->prev;

	ts_tcp_acc_flush(a);
	memset(a->st.sockets, 0, sizeof(a->st.sockets));
	memset(a->st.h, 0, sizeof(a->st.h));
	memset(a->st.sum, 0, sizeof(a->st.sum));
	a->prev = a->cur;
	a->cur = t;
	/* nothing cleared: slots are live under their poll's number */
	ts_table_next_gen(&a->gen, a->cur, a->prev,
			  a->nslots * sizeof(*a->cur));
	a->ncur = 0;
}

static void observe(struct ts_tcp_acc *a, int h, unsigned st,
		    const uint64_t *bounds, uint64_t v)
{
	unsigned i = 0;

	while (v > bounds[i])
		i++; /* the last bound is UINT64_MAX */
	a->st.h[h][st][i]++;
	a->st.sum[h][st] += v;
}

/* Retransmissions since the previous poll, for a socket seen in both
 * (p: its cookie and counters, st its state). */
static void retrans(struct ts_tcp_acc *a, const struct ts_tcp_slot *p,
		    unsigned st)
{
	uint32_t g = a->gen, pg = a->gen - 1;
	size_t i;

	for (i = ts_cookie_slot(p->cookie, a->nslots); a->prev[i].gen == pg;
	     i = (i + 1) & (a->nslots - 1))
		if (a->prev[i].cookie == p->cookie) {
			if (p->segs >= a->prev[i].segs)
				a->st.retrans_segs[st] +=
					p->segs - a->prev[i].segs;
			if (p->bytes >= a->prev[i].bytes)
				a->st.retrans_bytes[st] +=
					p->bytes - a->prev[i].bytes;
			break;
		}
	if (a->ncur == TS_TCP_ACC_MAX) {
		a->st.untracked++;
		return;
	}
	for (i = ts_cookie_slot(p->cookie, a->nslots); a->cur[i].gen == g;
	     i = (i + 1) & (a->nslots - 1))
		if (a->cur[i].cookie == p->cookie)
			return;
	a->cur[i] = *p;
	a->cur[i].gen = g;
	a->ncur++;
}

void ts_tcp_acc_flush(struct ts_tcp_acc *a)
{
	if (!a->pend.cookie)
		return;
	retrans(a, &a->pend, a->pend_state);
	a->pend.cookie = 0;
}

void ts_tcp_acc_add(struct ts_tcp_acc *a, const struct ts_record *r)
{
	unsigned st = r->state < TS_TCP_STATES ? r->state : 0;
	size_t i;

	a->st.sockets[st]++;
	if (!(r->present & (1u << INET_DIAG_INFO)) ||
	    r->tcp_info_size < offsetof(struct ts_tcp_info, min_rtt) + 4)
		return; /* no tcp_info, or one without min_rtt (fields past
			   the kernel's size are zero: bytes_retrans too) */
	observe(a, TS_TCP_SRTT, st, ts_tcp_rtt_bounds_us, r->info.rtt);
	observe(a, TS_TCP_MINRTT, st, ts_tcp_rtt_bounds_us, r->info.min_rtt);
	observe(a, TS_TCP_CWND, st, ts_tcp_cwnd_bounds, r->info.snd_cwnd);
	/* this socket's slots load while the previous one's are probed and
	 * the rest of the pipeline (formats, sends, the next parse) runs */
	i = ts_cookie_slot(r->cookie, a->nslots);
	__builtin_prefetch(&a->prev[i]);
	__builtin_prefetch(&a->cur[i], 1);
	ts_tcp_acc_flush(a);
	a->pend = (struct ts_tcp_slot){ .cookie = r->cookie,
					.bytes = r->info.bytes_retrans,
					.segs = r->info.total_retrans };
	a->pend_state = st;
}
