/* tcpstats.c - tcp_info aggregates for --metrics-tcp (see tcpstats.h). */
#include "tcpstats.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const uint64_t ts_tcp_rtt_bounds_us[TS_TCP_BUCKETS] = {
	100,   250,   500,   1000,   2500,   5000,
	10000, 25000, 50000, 100000, 250000, UINT64_MAX,
};
const uint64_t ts_tcp_cwnd_bounds[TS_TCP_BUCKETS] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, UINT64_MAX,
};

int ts_tcp_acc_init(struct ts_tcp_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->nslots = 2 * TS_TCP_ACC_MAX;
	a->cur = calloc(a->nslots, sizeof(*a->cur));
	a->prev = calloc(a->nslots, sizeof(*a->prev));
	if (!a->cur || !a->prev) {
		ts_tcp_acc_release(a);
		return -ENOMEM;
	}
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

	memset(a->st.sockets, 0, sizeof(a->st.sockets));
	memset(a->st.h, 0, sizeof(a->st.h));
	memset(a->st.sum, 0, sizeof(a->st.sum));
	a->prev = a->cur;
	a->cur = t;
	memset(a->cur, 0, a->nslots * sizeof(*a->cur));
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

static size_t slot_of(uint64_t cookie, size_t n)
{
	return (size_t)((cookie * 0x9e3779b97f4a7c15ull) >> 19) & (n - 1);
}

/* Retransmissions since the previous poll, for a socket seen in both. */
static void retrans(struct ts_tcp_acc *a, const struct ts_record *r,
		    unsigned st)
{
	size_t i;

	for (i = slot_of(r->cookie, a->nslots); a->prev[i].cookie;
	     i = (i + 1) & (a->nslots - 1))
		if (a->prev[i].cookie == r->cookie) {
			if (r->info.total_retrans >= a->prev[i].segs)
				a->st.retrans_segs[st] +=
					r->info.total_retrans - a->prev[i].segs;
			if (r->info.bytes_retrans >= a->prev[i].bytes)
				a->st.retrans_bytes[st] +=
					r->info.bytes_retrans -
					a->prev[i].bytes;
			break;
		}
	if (a->ncur == TS_TCP_ACC_MAX) {
		a->st.untracked++;
		return;
	}
	for (i = slot_of(r->cookie, a->nslots); a->cur[i].cookie;
	     i = (i + 1) & (a->nslots - 1))
		if (a->cur[i].cookie == r->cookie)
			return;
	a->cur[i].cookie = r->cookie;
	a->cur[i].segs = r->info.total_retrans;
	a->cur[i].bytes = r->info.bytes_retrans;
	a->ncur++;
}

void ts_tcp_acc_add(struct ts_tcp_acc *a, const struct ts_record *r)
{
	unsigned st = r->state < TS_TCP_STATES ? r->state : 0;

	a->st.sockets[st]++;
	if (!(r->present & (1u << INET_DIAG_INFO)) ||
	    r->tcp_info_size < offsetof(struct ts_tcp_info, min_rtt) + 4)
		return; /* no tcp_info, or one without min_rtt (fields past
			   the kernel's size are zero: bytes_retrans too) */
	observe(a, TS_TCP_SRTT, st, ts_tcp_rtt_bounds_us, r->info.rtt);
	observe(a, TS_TCP_MINRTT, st, ts_tcp_rtt_bounds_us, r->info.min_rtt);
	observe(a, TS_TCP_CWND, st, ts_tcp_cwnd_bounds, r->info.snd_cwnd);
	retrans(a, r, st);
}
