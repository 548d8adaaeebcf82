/*
 * test_ring_send.c - destination sends through the ring:
 *  - single and batched (1/16/64/256) datagrams arrive whole and in order,
 *    with a handful of io_uring_enter calls per batch;
 *  - a unix datagram receiver whose queue is full: every send either
 *    delivered its datagram or reported -EAGAIN (so the caller counts or
 *    retries it); the receiver gets exactly the delivered ones, whole, in
 *    the order they were sent, and never an empty datagram. (Linux 6.18 can
 * deliver an empty datagram and report success when io_uring itself retries a
 * send to a full unix datagram socket; ring_send_batch always sends
 * MSG_DONTWAIT, and this test also reports whether the kernel here shows that
 * bug.)
 *  - a unix stream socket with a small buffer: a send completes short or
 *    with -EAGAIN, never blocks.
 */
#include <fcntl.h>

#include "uring_test.h"

#define PL 200

static void fill(char *p, unsigned seq)
{
	memset(p, 'a' + seq % 26, PL);
	memcpy(p, &seq, sizeof(seq));
}

static void batches(struct ring *r)
{
	static const unsigned sizes[] = { 1, 16, 64, 256 };
	static char data[256][PL];
	struct iovec iov[256];
	int res[256], sv[2], rcv = 4 << 20;

	ut_pair(SOCK_DGRAM, sv);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &rcv, sizeof(rcv));
	for (unsigned s = 0; s < 4; s++) {
		unsigned n = sizes[s];
		uint64_t enters = r->st.enters;
		for (unsigned i = 0; i < n; i++) {
			fill(data[i], i);
			iov[i] = (struct iovec){ data[i], PL };
		}
		CHECK_EQ(ring_send_batch(r, sv[0], iov, n, 0, res), 0);
		for (unsigned i = 0; i < n; i++)
			CHECK_EQ(res[i], PL);
		/* one submit-and-wait per chunk of 64 */
		CHECK(r->st.enters - enters <= (n + 63) / 64 + 1);
		for (unsigned i = 0; i < n; i++) {
			char got[PL + 1];
			ssize_t k = recv(sv[1], got, sizeof(got), MSG_DONTWAIT);
			CHECK_EQ(k, PL);
			CHECK(k == PL && memcmp(got, data[i], PL) == 0);
		}
		CHECK_EQ(r->nbusy, 0);
	}
	close(sv[0]);
	close(sv[1]);
}

/* Sends until the receiver's queue is full; checks what arrived. */
static void full_receiver(struct ring *r)
{
	static char data[512][PL];
	struct iovec iov[64];
	int res[64], sv[2];
	unsigned seq = 0, delivered = 0, refused = 0, got = 0, ok[512];

	ut_pair(SOCK_DGRAM, sv);
	for (int round = 0; round < 8 && seq + 64 <= 512; round++) {
		for (unsigned i = 0; i < 64; i++) {
			fill(data[seq + i], seq + i);
			iov[i] = (struct iovec){ data[seq + i], PL };
		}
		CHECK_EQ(ring_send_batch(r, sv[0], iov, 64, 0, res), 0);
		for (unsigned i = 0; i < 64; i++) {
			CHECK(res[i] == PL || res[i] == -EAGAIN ||
			      res[i] == -ECANCELED);
			if (res[i] == PL)
				ok[delivered++] = seq + i;
			else
				refused++;
		}
		/* what was refused is not sent again here (the sink counts
		 * it, or sends it again after POLLOUT) */
		seq += 64;
	}
	CHECK(refused > 0); /* the queue did fill up */
	for (;;) {
		char buf[PL + 1];
		ssize_t k = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0)
			break;
		CHECK_EQ(k, PL); /* never an empty datagram */
		/* exactly the delivered ones, in the order they were sent */
		CHECK(got < delivered && k == PL &&
		      memcmp(buf, data[ok[got]], PL) == 0);
		got++;
	}
	CHECK_EQ(got, delivered);
	CHECK_EQ(r->nbusy, 0);
	close(sv[0]);
	close(sv[1]);
}

/* Whether io_uring's own retry of a send to a full unix datagram socket
 * delivers an empty datagram here: informational only. */
static void kernel_retry_bug(struct ring *r)
{
	char buf[PL + 1], data[PL];
	int sv[2], empty = 0, rc;
	struct ring_req *q;
	struct io_uring_sqe *sqe;

	ut_pair(SOCK_DGRAM, sv);
	memset(data, 'Z', sizeof(data));
	while (send(sv[0], data, PL, MSG_DONTWAIT) == PL)
		;
	q = ring_req_get(r, RING_OP_SEND, NULL, NULL);
	sqe = ring_sqe(r, q);
	io_uring_prep_send(sqe, sv[0], data, PL, 0); /* no MSG_DONTWAIT */
	(void)ring_reap(r, 50);
	(void)recv(sv[1], buf, sizeof(buf), 0); /* room for one */
	for (int i = 0; i < 20 && !q->done; i++)
		(void)ring_reap(r, 100);
	rc = q->done ? q->res : -ETIMEDOUT;
	if (!q->done) {
		(void)ring_cancel(r, q);
		for (int i = 0; i < 20 && !q->done; i++)
			(void)ring_reap(r, 100);
	}
	q->busy = 0;
	ring_req_put(r, q);
	for (;;) {
		ssize_t k = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (k < 0)
			break;
		empty += k == 0;
	}
	printf("kernel: io_uring-retried send to a full unix datagram socket: "
	       "res %d, %s\n",
	       rc,
	       empty ? "EMPTY datagram delivered (the bug MSG_DONTWAIT "
		       "avoids)"
		     : "no empty datagram");
	close(sv[0]);
	close(sv[1]);
}

static void stream_short(struct ring *r)
{
	static char big[1 << 20];
	struct iovec iov = { big, sizeof(big) };
	int sv[2], res = 0, small = 4096;

	ut_pair(SOCK_STREAM, sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	CHECK_EQ(ring_send_batch(r, sv[0], &iov, 1, 0, &res), 0);
	CHECK(res > 0 && (size_t)res < sizeof(big));
	/* the buffer is full now: the next send says so at once */
	CHECK_EQ(ring_send_batch(r, sv[0], &iov, 1, 0, &res), 0);
	CHECK_EQ(res, -EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	struct ring r;

	ut_ring(&r, 0, RING_F_MULTISHOT);
	batches(&r);
	full_receiver(&r);
	stream_short(&r);
	kernel_retry_bug(&r);
	CHECK_EQ(r.st.bad_cqes, 0);
	ring_release(&r);
	return check_failures ? 1 : 0;
}
