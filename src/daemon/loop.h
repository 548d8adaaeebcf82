/*
 * loop.h - the daemon's one event loop, on the main thread.
 *
 * Contract: ts_loop_init() makes a timerfd for the poll ticks (a fixed
 * rate; a poll longer than the interval skips the ticks it missed), an
 * eventfd through which other threads post requests, and watches the
 * stop module's signalfd and stop eventfd (util/stop.h). ts_loop_wait()
 * blocks until something is due and returns it, one event per call,
 * stop first, then reopen, interval changes, poll requests, ticks.
 * ts_loop_post() queues a request from any thread into a bounded queue
 * (TS_LOOP_QUEUE; -EAGAIN when full); a poll request coalesces with one
 * already queued and with a poll in progress (from the moment
 * ts_loop_wait() hands out TS_EV_POLL or TS_EV_TICK until
 * ts_loop_polling(l, 0)), so no number of clients can queue more than one
 * extra poll.
 * ts_loop_set_watchdog() arms a second, independent timer (a service
 * watchdog's keepalive): TS_EV_WATCHDOG comes once per period, between
 * polls (after a poll longer than the period, at once), before requests
 * and ticks so that they cannot starve it.
 * Close events (--close-events): ts_loop_watch_close() adds the close
 * set's epoll fd; while it is readable ts_loop_wait() hands out
 * TS_EV_CLOSE (after stop, reopen, requests and ticks, so a storm of
 * closes does not delay a poll); ts_loop_close_pause() stops watching it
 * for a while (closes then pile up in the kernel's buffer and are read in
 * fewer, larger batches: fewer wake-ups). ts_loop_flush_after() arms a one-shot
 * timer (kept if already armed, so records wait at most that long): when
 * it expires, TS_EV_FLUSH; 0 disarms it.
 * Thread-safety: ts_loop_post() and ts_loop_polling() from any thread; the
 * rest from the thread that owns the loop.
 */
#ifndef TS_LOOP_H
#define TS_LOOP_H

#include <pthread.h>
#include <stdint.h>

#define TS_LOOP_QUEUE 32

enum ts_req_kind {
	TS_REQ_POLL,	 /* poll now */
	TS_REQ_INTERVAL, /* arg: the new interval in ms */
	TS_REQ_REOPEN,	 /* reopen file destinations */
	TS_REQ_STOP,
};

enum ts_event {
	TS_EV_STOP,
	TS_EV_REOPEN,
	TS_EV_INTERVAL, /* the timer was re-armed: ts_loop_interval_ms() */
	TS_EV_POLL,	/* a posted poll request */
	TS_EV_TICK,	/* the interval's tick */
	TS_EV_WATCHDOG, /* the watchdog's period (ts_loop_set_watchdog()) */
	TS_EV_CLOSE,	/* close events are waiting (ts_loop_watch_close) */
	TS_EV_FLUSH,	/* the flush timer expired (ts_loop_flush_after) */
};

struct ts_req {
	enum ts_req_kind kind;
	uint64_t arg;
};

struct ts_loop_stats {
	uint64_t ticks_missed; /* ticks skipped by long polls */
	uint64_t posted;       /* requests accepted */
	uint64_t coalesced;    /* poll requests merged into another */
	uint64_t refused;      /* requests refused: queue full */
};

struct ts_loop {
	int epfd, tfd, efd;
	int wfd; /* the watchdog's timerfd, made when first armed; else 0 */
	int ffd; /* the flush timer */
	int cfd; /* the close set's epoll fd, or -1 */
	int flush_armed;
	int close_paused;	  /* cfd not watched until close_resume_ns */
	uint64_t close_resume_ns; /* CLOCK_MONOTONIC */
	uint64_t interval_ms;
	pthread_mutex_t lock; /* the queue and the flags below */
	struct ts_req q[TS_LOOP_QUEUE];
	unsigned qhead, qn;
	int poll_queued, polling;
	struct ts_loop_stats st;
};

/* The first tick comes one interval after init. 0 or -errno. */
int ts_loop_init(struct ts_loop *l, uint64_t interval_ms);
void ts_loop_release(struct ts_loop *l);

int ts_loop_post(struct ts_loop *l, const struct ts_req *r);
/* Marks a poll in progress (1) or over (0): poll requests meanwhile
 * coalesce with it. */
void ts_loop_polling(struct ts_loop *l, int on);
/* 0 and the next event, or -errno. */
int ts_loop_wait(struct ts_loop *l, enum ts_event *ev);
/* Re-arms the ticks (the next one interval from now). 0 or -errno. */
int ts_loop_set_interval(struct ts_loop *l, uint64_t interval_ms);
uint64_t ts_loop_interval_ms(const struct ts_loop *l);
/* TS_EV_WATCHDOG every period_ms from now (0: none). 0 or -errno. */
int ts_loop_set_watchdog(struct ts_loop *l, uint64_t period_ms);
/* Watches fd (readable: TS_EV_CLOSE). 0 or -errno. */
int ts_loop_watch_close(struct ts_loop *l, int fd);
/* cfd is not watched for ms (then again, by itself). 0 or -errno. */
int ts_loop_close_pause(struct ts_loop *l, uint64_t ms);
/* TS_EV_FLUSH in ms unless already armed; 0 disarms. 0 or -errno. */
int ts_loop_flush_after(struct ts_loop *l, uint64_t ms);
/* A copy of the counters (any thread). */
void ts_loop_stats(struct ts_loop *l, struct ts_loop_stats *out);

#endif
