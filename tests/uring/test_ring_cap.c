/*
 * test_ring_cap.c - the in-flight table is capped at 2 x SQ entries: the
 * request beyond it is refused (NULL, counted) and a send beyond it returns
 * -EBUSY instead of growing; freed requests make room again.
 */
#include "uring_test.h"

int main(void)
{
	struct ring r;
	struct ring_req *q[16];
	struct iovec iov = { "x", 1 };
	int sv[2], res = 0;

	ut_ring(&r, 8, 0);
	CHECK_EQ(r.nreqs, 16);
	for (int i = 0; i < 16; i++) {
		q[i] = ring_req_get(&r, RING_OP_SEND, NULL, NULL);
		CHECK(q[i] != NULL);
	}
	CHECK(ring_req_get(&r, RING_OP_SEND, NULL, NULL) == NULL);
	CHECK_EQ(r.st.busy, 1);
	ut_pair(SOCK_DGRAM, sv);
	CHECK_EQ(ring_send_batch(&r, sv[0], &iov, 1, 0, &res), -EBUSY);
	for (int i = 0; i < 16; i++)
		ring_req_put(&r, q[i]);
	CHECK_EQ(r.nbusy, 0);
	CHECK_EQ(ring_send_batch(&r, sv[0], &iov, 1, 0, &res), 0);
	CHECK_EQ(res, 1);
	/* a batch larger than the table goes in chunks, never all at once */
	struct iovec many[40];
	int rs[40];
	char buf[8];
	for (int i = 0; i < 40; i++)
		many[i] = (struct iovec){ "y", 1 };
	CHECK_EQ(ring_send_batch(&r, sv[0], many, 40, 0, rs), 0);
	for (int i = 0; i < 40; i++)
		CHECK_EQ(rs[i], 1);
	for (int i = 0; i < 41; i++)
		CHECK_EQ(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), 1);
	CHECK_EQ(r.nbusy, 0);
	ring_release(&r);
	ring_release(NULL);
	close(sv[0]);
	close(sv[1]);
	return check_failures ? 1 : 0;
}
