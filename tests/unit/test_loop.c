/*
 * test_loop - the daemon's event loop: ticks at the interval, a poll
 * request posted from another thread runs at once and coalesces with a
 * queued one and with a poll in progress, a new interval re-arms the
 * ticks, the queue is bounded, a long poll counts its missed ticks, and
 * SIGHUP / SIGTERM arrive through the signalfd as reopen / stop; a
 * watched close-event fd that is readable gives TS_EV_CLOSE (and does not
 * hold a tick back; not during a pause, at once after it), and the flush timer
 * fires once, at its first deadline (a later arming does not push it back), or
 * not at all once disarmed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "daemon/loop.h"
#include "util/stop.h"
#include "util/timeutil.h"

static uint64_t now_ms(void)
{
	return ts_now_ns(CLOCK_MONOTONIC) / 1000000;
}

static enum ts_event next(struct ts_loop *l, uint64_t *waited_ms)
{
	enum ts_event ev = (enum ts_event) - 1;
	uint64_t t0 = now_ms();

	CHECK(ts_loop_wait(l, &ev) == 0);
	ts_loop_polling(l, 0); /* the poll it started is over at once */
	if (waited_ms)
		*waited_ms = now_ms() - t0;
	return ev;
}

static void *post_later(void *arg)
{
	struct ts_req r = { TS_REQ_POLL, 0 };

	usleep(50 * 1000);
	CHECK(ts_loop_post(arg, &r) == 0);
	return NULL;
}

static void test_ticks_and_requests(void)
{
	struct ts_loop l;
	struct ts_req poll = { TS_REQ_POLL, 0 };
	struct ts_loop_stats st;
	pthread_t t;
	uint64_t ms;

	CHECK(ts_loop_init(&l, 100) == 0);
	CHECK(next(&l, &ms) == TS_EV_TICK);
	CHECK(ms >= 80 && ms < 300);

	/* another thread's request wakes the loop long before the tick */
	pthread_create(&t, NULL, post_later, &l);
	CHECK(next(&l, &ms) == TS_EV_POLL);
	CHECK(ms < 90);
	pthread_join(t, NULL);

	/* three requests while idle: one poll */
	for (int i = 0; i < 3; i++)
		CHECK(ts_loop_post(&l, &poll) == 0);
	CHECK(next(&l, NULL) == TS_EV_POLL);
	CHECK(next(&l, NULL) == TS_EV_TICK);

	/* during a poll: merged into it, no extra poll afterwards */
	ts_loop_polling(&l, 1);
	CHECK(ts_loop_post(&l, &poll) == 0);
	ts_loop_polling(&l, 0);
	CHECK(next(&l, NULL) == TS_EV_TICK);
	ts_loop_stats(&l, &st);
	CHECK_EQ(st.coalesced, 3);

	/* a long poll: the ticks it missed are counted, one tick follows */
	usleep(350 * 1000);
	CHECK(next(&l, &ms) == TS_EV_TICK);
	CHECK(ms < 20);
	ts_loop_stats(&l, &st);
	CHECK(st.ticks_missed >= 2);

	/* a new interval re-arms the ticks */
	struct ts_req iv = { TS_REQ_INTERVAL, 20 };
	CHECK(ts_loop_post(&l, &iv) == 0);
	CHECK(next(&l, NULL) == TS_EV_INTERVAL);
	CHECK_EQ(ts_loop_interval_ms(&l), 20);
	CHECK(next(&l, &ms) == TS_EV_TICK);
	CHECK(ms < 60);

	/* bounded: the queue refuses beyond TS_LOOP_QUEUE */
	struct ts_req ro = { TS_REQ_REOPEN, 0 };
	int refused = 0;
	for (int i = 0; i < TS_LOOP_QUEUE + 5; i++)
		refused += ts_loop_post(&l, &ro) == -EAGAIN;
	CHECK_EQ(refused, 5);
	for (int i = 0; i < TS_LOOP_QUEUE; i++)
		CHECK(next(&l, NULL) == TS_EV_REOPEN);
	ts_loop_release(&l);
}

static void test_signals(void)
{
	struct ts_loop l;
	uint64_t ms;

	CHECK(ts_loop_init(&l, 10000) == 0);
	kill(getpid(), SIGHUP);
	CHECK(next(&l, &ms) == TS_EV_REOPEN);
	CHECK(ms < 1000);
	kill(getpid(), SIGTERM);
	CHECK(next(&l, &ms) == TS_EV_STOP);
	CHECK(ms < 1000);
	CHECK(ts_stop_requested());
	ts_loop_release(&l);
}

/* The close set's fd stands in as a pipe: readable while it holds data. */
static void test_close_and_flush(void)
{
	struct ts_loop l;
	int p[2];
	uint64_t ms;
	char c;

	CHECK(pipe(p) == 0);
	CHECK(ts_loop_init(&l, 150) == 0);
	CHECK(ts_loop_watch_close(&l, p[0]) == 0);
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(next(&l, &ms) == TS_EV_CLOSE);
	CHECK(ms < 100);
	/* still readable (level): again, until read */
	CHECK(next(&l, NULL) == TS_EV_CLOSE);
	CHECK(read(p[0], &c, 1) == 1);
	/* closes waiting all the time do not hold the tick back */
	CHECK(write(p[1], "x", 1) == 1);
	uint64_t t0 = now_ms(), closes = 0;
	enum ts_event ev;
	while ((ev = next(&l, NULL)) == TS_EV_CLOSE && now_ms() - t0 < 1000)
		closes++;
	CHECK(ev == TS_EV_TICK);
	CHECK(closes > 0 && now_ms() - t0 < 250);
	CHECK(read(p[0], &c, 1) == 1);
	CHECK(ts_loop_set_interval(&l, 10000) == 0);

	/* a pause: the waiting close is handed out once it is over */
	CHECK(write(p[1], "x", 1) == 1);
	CHECK(ts_loop_close_pause(&l, 60) == 0);
	CHECK(next(&l, &ms) == TS_EV_CLOSE);
	CHECK(ms >= 50 && ms < 500);
	CHECK(next(&l, &ms) == TS_EV_CLOSE); /* watched again */
	CHECK(ms < 50);
	CHECK(read(p[0], &c, 1) == 1);

	/* flush: at the first deadline, not pushed back by a later arming */
	CHECK(ts_loop_flush_after(&l, 100) == 0);
	usleep(60 * 1000);
	CHECK(ts_loop_flush_after(&l, 100) == 0);
	CHECK(next(&l, &ms) == TS_EV_FLUSH);
	CHECK(ms < 80);
	/* disarmed: nothing comes (a request posted later wakes the loop) */
	CHECK(ts_loop_flush_after(&l, 20) == 0);
	CHECK(ts_loop_flush_after(&l, 0) == 0);
	pthread_t t;
	pthread_create(&t, NULL, post_later, &l);
	CHECK(next(&l, &ms) == TS_EV_POLL);
	CHECK(ms >= 40);
	pthread_join(t, NULL);
	ts_loop_release(&l);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	CHECK(ts_stop_init() == 0);
	test_ticks_and_requests();
	test_close_and_flush();
	test_signals();
	ts_loop_release(NULL);
	return check_exit();
}
