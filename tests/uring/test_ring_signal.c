/*
 * test_ring_signal.c - a signal does not end a wait in the ring early: the
 * poll loop goes on waiting after SIGHUP or SIGTERM instead of failing
 * every dump in flight as timed out (liburing reports a wait cut short by
 * a signal as -EINTR, or, when the same call submitted, as the number
 * submitted: neither is a timeout). A wait that sees nothing returns 0 at
 * its deadline, and a completion ends it at once.
 */
#include <signal.h>
#include <sys/time.h>

#include "uring_test.h"
#include "util/timeutil.h"

static void on_alarm(int sig)
{
	(void)sig;
}

static void on_cqe(struct ring *r, struct ring_req *q, int res, unsigned flags)
{
	(void)r;
	(void)q;
	(void)res;
	(void)flags;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	struct ring r;
	struct ring_req *q;
	struct io_uring_sqe *sqe;
	char buf[16];
	int sv[2];
	uint64_t t0;

	ut_ring(&r, 8, 0);
	ut_pair(SOCK_DGRAM, sv);
	q = ring_req_get(&r, RING_OP_NL_RECV, on_cqe, NULL);
	sqe = ring_sqe(&r, q);
	io_uring_prep_recv(sqe, sv[0], buf, sizeof(buf), 0);

	sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < 2; i++) { /* with and without a submit */
		setitimer(ITIMER_REAL, &it, NULL);
		t0 = ts_now_ns(CLOCK_MONOTONIC);
		CHECK_EQ(ring_reap(&r, 300), 0);
		CHECK(ts_now_ns(CLOCK_MONOTONIC) - t0 >= 295000000ull);
		CHECK_EQ(r.nbusy, 1);
	}

	CHECK_EQ(send(sv[1], "x", 1, 0), 1);
	CHECK_EQ(ring_reap(&r, 1000), 1);
	CHECK_EQ(r.nbusy, 0);
	ring_release(&r);
	close(sv[0]);
	close(sv[1]);
	return check_failures ? 1 : 0;
}
