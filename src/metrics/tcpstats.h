/*
 * tcpstats.h - --metrics-tcp: low-cardinality aggregates of tcp_info
 * across all sockets of the last poll, labelled by TCP state only:
 * histograms of smoothed RTT, min RTT and cwnd, the count of sockets,
 * and totals of retransmitted segments and bytes (the change since the
 * previous poll, for sockets seen in both, added up over the daemon's
 * life: counters a Prometheus rate() reads).
 *
 * Contract: ts_tcp_acc_add() is on the per-record path: plain adds into
 * fixed arrays and one lookup/insert in two fixed tables of
 * (cookie, retransmissions) (24 bytes a socket, TS_TCP_ACC_MAX sockets;
 * beyond, a socket's retransmissions are not counted, and it is counted
 * in `untracked`); no allocation, no lock. ts_tcp_acc_poll_begin() starts
 * a poll; ts_tcp_acc_flush() must come before `st` is read: a record's
 * table work waits for the next record (its slots prefetched meanwhile:
 * the tables are far larger than the caches, and a miss per probe was
 * most of the per-socket cost).
 * Thread-safety: the one thread delivering records (or under its lock).
 */
#ifndef TS_TCPSTATS_H
#define TS_TCPSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "../record/record.h"

#define TS_TCP_STATES  14 /* 0..TS_TCP_STATE_MAX */
#define TS_TCP_BUCKETS 12
#define TS_TCP_ACC_MAX 262144

/* Upper bounds: RTT in microseconds, cwnd in packets; the last +Inf. */
extern const uint64_t ts_tcp_rtt_bounds_us[TS_TCP_BUCKETS];
extern const uint64_t ts_tcp_cwnd_bounds[TS_TCP_BUCKETS];

enum { TS_TCP_SRTT, TS_TCP_MINRTT, TS_TCP_CWND, TS_TCP_NHIST };

struct ts_tcp_stats {
	uint64_t sockets[TS_TCP_STATES];
	uint64_t h[TS_TCP_NHIST][TS_TCP_STATES][TS_TCP_BUCKETS];
	uint64_t sum[TS_TCP_NHIST][TS_TCP_STATES]; /* us, us, packets */
	uint64_t retrans_segs[TS_TCP_STATES];	   /* totals */
	uint64_t retrans_bytes[TS_TCP_STATES];
	uint64_t untracked; /* sockets over TS_TCP_ACC_MAX in a poll */
};

struct ts_tcp_slot {
	uint64_t cookie;
	uint64_t bytes;
	uint32_t segs;
	uint32_t gen; /* the poll that wrote it: others' slots are free */
};

struct ts_tcp_acc {
	struct ts_tcp_stats st;
	struct ts_tcp_slot *cur, *prev;
	size_t nslots, ncur;
	uint32_t gen;		 /* cur's poll number; prev's is gen - 1 */
	struct ts_tcp_slot pend; /* the record whose table work waits */
	unsigned pend_state;	 /* pend.cookie 0: none waits */
};

int ts_tcp_acc_init(struct ts_tcp_acc *a);
void ts_tcp_acc_release(struct ts_tcp_acc *a);
void ts_tcp_acc_poll_begin(struct ts_tcp_acc *a);
void ts_tcp_acc_add(struct ts_tcp_acc *a, const struct ts_record *r);
/* The waiting record's retransmissions counted: `st` is complete. */
void ts_tcp_acc_flush(struct ts_tcp_acc *a);

#endif
