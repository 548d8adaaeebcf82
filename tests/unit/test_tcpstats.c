/*
 * test_tcpstats.c - --metrics-tcp's accumulator (ts_tcp_acc): the
 * retransmission totals are each poll's change for the sockets seen in two
 * polls, the poll's last socket included (its table work waits for the
 * next record, or for ts_tcp_acc_flush()); a socket new in a poll adds
 * nothing, as does one missing from the previous poll; the tables' poll
 * numbers wrap safely; histograms count every socket with tcp_info.
 */
#include <linux/inet_diag.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "metrics/tcpstats.h"

static void add(struct ts_tcp_acc *a, uint64_t cookie, uint32_t segs,
		uint64_t bytes)
{
	struct ts_record r;

	memset(&r, 0, sizeof(r));
	r.cookie = cookie;
	r.state = TCP_ESTABLISHED;
	r.present = 1u << INET_DIAG_INFO;
	r.tcp_info_size = sizeof(r.info);
	r.info.rtt = 300;
	r.info.min_rtt = 200;
	r.info.snd_cwnd = 10;
	r.info.total_retrans = segs;
	r.info.bytes_retrans = bytes;
	ts_tcp_acc_add(a, &r);
}

int main(void)
{
	static struct ts_tcp_acc a;
	const unsigned e = TCP_ESTABLISHED;

	CHECK_EQ(ts_tcp_acc_init(&a), 0);
	ts_tcp_acc_poll_begin(&a);
	add(&a, 1, 5, 500);
	add(&a, 2, 0, 0);
	add(&a, 3, 7, 700);
	ts_tcp_acc_flush(&a);
	CHECK_EQ(a.st.sockets[e], 3);
	CHECK_EQ(a.st.retrans_segs[e], 0); /* nothing seen twice yet */

	ts_tcp_acc_poll_begin(&a);
	add(&a, 1, 6, 600);   /* +1, +100 */
	add(&a, 4, 9, 900);   /* new: nothing */
	add(&a, 3, 10, 1000); /* +3, +300: the poll's last socket */
	ts_tcp_acc_flush(&a);
	CHECK_EQ(a.st.sockets[e], 3);
	CHECK_EQ(a.st.h[TS_TCP_SRTT][e][2], 3); /* 300 us: (250, 500] */
	CHECK_EQ(a.st.retrans_segs[e], 4);
	CHECK_EQ(a.st.retrans_bytes[e], 400);
	ts_tcp_acc_flush(&a); /* twice: nothing more */
	CHECK_EQ(a.st.retrans_segs[e], 4);

	/* the next poll sees the last socket's counters of this one */
	ts_tcp_acc_poll_begin(&a);
	add(&a, 3, 12, 1200);
	ts_tcp_acc_flush(&a);
	CHECK_EQ(a.st.retrans_segs[e], 6);
	CHECK_EQ(a.st.retrans_bytes[e], 600);

	/* a socket missing from the last poll is new again: slots written
	 * two polls ago are free (tables are not cleared between polls) */
	ts_tcp_acc_poll_begin(&a);
	add(&a, 5, 1, 100);
	ts_tcp_acc_poll_begin(&a);
	add(&a, 6, 0, 0);
	ts_tcp_acc_poll_begin(&a);
	add(&a, 5, 10, 1000);
	ts_tcp_acc_flush(&a);
	CHECK_EQ(a.st.retrans_segs[e], 6);

	/* the poll numbers wrap: both tables cleared, counting goes on */
	a.gen = UINT32_MAX - 1;
	ts_tcp_acc_poll_begin(&a);
	add(&a, 7, 1, 100);
	ts_tcp_acc_poll_begin(&a); /* wraps: 7 is new again */
	add(&a, 7, 3, 300);
	ts_tcp_acc_flush(&a);
	CHECK_EQ(a.st.retrans_segs[e], 6);
	ts_tcp_acc_poll_begin(&a);
	add(&a, 7, 6, 600);
	ts_tcp_acc_flush(&a);
	CHECK_EQ(a.st.retrans_segs[e], 9);
	CHECK_EQ(a.st.retrans_bytes[e], 900);
	ts_tcp_acc_release(&a);
	ts_tcp_acc_release(NULL);
	return check_failures ? 1 : 0;
}
