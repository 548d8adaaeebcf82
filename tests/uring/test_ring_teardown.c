/*
 * test_ring_teardown.c - requests in flight at teardown: multishot
 * receives into provided buffers and single-shot receives on idle sockets
 * are cancelled and drained (no callback runs, nothing stays busy) before
 * any buffer is freed; releasing with requests still in flight is clean
 * too (the ASan build of this test checks the memory side).
 */
#include "uring_test.h"

static int calls;

static void on_cqe(struct ring *r, struct ring_req *q, int res, unsigned flags)
{
	(void)q;
	(void)res;
	calls++;
	if (flags & IORING_CQE_F_BUFFER)
		ring_buf_put(r, flags >> IORING_CQE_BUFFER_SHIFT);
}

/* Arms a receive on each of n socketpairs; data is sent on half. */
static void arm(struct ring *r, int (*sv)[2], int n)
{
	for (int i = 0; i < n; i++) {
		struct ring_req *q =
			ring_req_get(r, RING_OP_NL_RECV, on_cqe, NULL);
		struct io_uring_sqe *sqe;
		CHECK(q != NULL);
		ut_pair(SOCK_DGRAM, sv[i]);
		memset(&q->msg, 0, sizeof(q->msg));
		sqe = ring_sqe(r, q);
		if (r->features & RING_F_MULTISHOT) {
			io_uring_prep_recvmsg_multishot(sqe, sv[i][0], &q->msg,
							0);
			sqe->flags |= IOSQE_BUFFER_SELECT;
			sqe->buf_group = RING_BGID;
		} else {
			int bid = ring_buf_get(r);
			CHECK(bid >= 0);
			q->iov = (struct iovec){ ring_buf(r, (unsigned)bid),
						 1024 };
			q->msg.msg_iov = &q->iov;
			q->msg.msg_iovlen = 1;
			io_uring_prep_recvmsg(sqe, sv[i][0], &q->msg, 0);
		}
		if (i % 2)
			CHECK_EQ(send(sv[i][1], "data", 4, 0), 4);
	}
	(void)ring_reap(r, 100); /* some completions, most still armed */
}

static void run(unsigned features, int drain_first)
{
	struct ring r;
	int sv[16][2];

	ut_ring(&r, 32, features);
	arm(&r, sv, 16);
	CHECK(r.nbusy >= 8);
	if (drain_first) {
		int before = calls;
		CHECK_EQ(ring_drain(&r), 0);
		CHECK_EQ(r.nbusy, 0);
		CHECK_EQ(calls, before); /* no callback during teardown */
	}
	ring_release(&r); /* cancels and drains what is left itself */
	for (int i = 0; i < 16; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
}

int main(void)
{
	run(RING_F_MULTISHOT, 1);
	run(RING_F_MULTISHOT, 0);
	run(0, 1);
	run(0, 0);
	return check_failures ? 1 : 0;
}
