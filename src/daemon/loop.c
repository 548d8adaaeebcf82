/* loop.c - the daemon's event loop (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "../util/stop.h"
#include "../util/timeutil.h"

/* A timer due every ms, the first in ms. */
static struct itimerspec every_ms(uint64_t ms)
{
	struct itimerspec its = {
		.it_interval = { (time_t)(ms / 1000),
				 (long)(ms % 1000) * 1000000 },
	};

	its.it_value = its.it_interval;
	return its;
}

int ts_loop_set_interval(struct ts_loop *l, uint64_t interval_ms)
{
	struct itimerspec its = every_ms(interval_ms);

	if (timerfd_settime(l->tfd, 0, &its, NULL) < 0)
		return -errno;
	l->interval_ms = interval_ms;
	return 0;
}

uint64_t ts_loop_interval_ms(const struct ts_loop *l)
{
	return l->interval_ms;
}

static int watch(struct ts_loop *l, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0
		       ? 0
		       : -errno;
}

int ts_loop_set_watchdog(struct ts_loop *l, uint64_t period_ms)
{
	struct itimerspec its = every_ms(period_ms);

	/* made only when wanted: a run without a watchdog keeps its fds */
	if (l->wfd <= 0 && period_ms) {
		int fd = timerfd_create(CLOCK_MONOTONIC,
					TFD_CLOEXEC | TFD_NONBLOCK);
		int rc = fd < 0 ? -errno : watch(l, fd);
		if (rc < 0) {
			if (fd >= 0)
				close(fd);
			return rc;
		}
		l->wfd = fd;
	}
	if (l->wfd > 0 && timerfd_settime(l->wfd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int ts_loop_init(struct ts_loop *l, uint64_t interval_ms)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->cfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	l->ffd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	pthread_mutex_init(&l->lock, NULL);
	if (l->epfd < 0 || l->tfd < 0 || l->efd < 0 || l->ffd < 0)
		rc = -errno;
	else if ((rc = watch(l, l->tfd)) == 0 && (rc = watch(l, l->efd)) == 0 &&
		 (rc = watch(l, l->ffd)) == 0 &&
		 (rc = watch(l, ts_stop_fd())) == 0 &&
		 (rc = watch(l, ts_stop_signal_fd())) == 0)
		rc = ts_loop_set_interval(l, interval_ms);
	if (rc < 0)
		ts_loop_release(l);
	return rc;
}

void ts_loop_release(struct ts_loop *l)
{
	if (!l)
		return;
	/* fds of a zeroed or failed loop are 0 or -1: only close what
	 * init made (it always sets all four); cfd is the caller's */
	if (l->epfd > 0)
		close(l->epfd);
	if (l->tfd > 0)
		close(l->tfd);
	if (l->efd > 0)
		close(l->efd);
	if (l->wfd > 0)
		close(l->wfd);
	if (l->ffd > 0)
		close(l->ffd);
	l->epfd = l->tfd = l->efd = l->wfd = l->ffd = l->cfd = -1;
	pthread_mutex_destroy(&l->lock);
}

int ts_loop_post(struct ts_loop *l, const struct ts_req *r)
{
	uint64_t one = 1;
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (r->kind == TS_REQ_POLL && (l->poll_queued || l->polling)) {
		l->st.coalesced++;
	} else if (l->qn == TS_LOOP_QUEUE) {
		l->st.refused++;
		rc = -EAGAIN;
	} else {
		l->q[(l->qhead + l->qn++) % TS_LOOP_QUEUE] = *r;
		l->poll_queued |= r->kind == TS_REQ_POLL;
		l->st.posted++;
	}
	pthread_mutex_unlock(&l->lock);
	if (rc == 0)
		(void)!write(l->efd, &one, sizeof(one));
	return rc;
}

void ts_loop_polling(struct ts_loop *l, int on)
{
	pthread_mutex_lock(&l->lock);
	l->polling = on;
	pthread_mutex_unlock(&l->lock);
}

void ts_loop_stats(struct ts_loop *l, struct ts_loop_stats *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->st;
	pthread_mutex_unlock(&l->lock);
}

int ts_loop_watch_close(struct ts_loop *l, int fd)
{
	int rc = watch(l, fd);

	if (rc == 0)
		l->cfd = fd;
	return rc;
}

static int watch_close(struct ts_loop *l, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = l->cfd };

	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->cfd, &ev) < 0 ? -errno : 0;
}

int ts_loop_close_pause(struct ts_loop *l, uint64_t ms)
{
	int rc;

	if (l->cfd < 0 || l->close_paused)
		return 0;
	rc = watch_close(l, 0);
	if (rc == 0) {
		l->close_paused = 1;
		l->close_resume_ns = ts_now_ns(CLOCK_MONOTONIC) + ms * 1000000;
	}
	return rc;
}

/* The epoll wait's timeout: -1, or the ms left of a pause (which ends
 * here once due: cfd is watched again). */
static int close_timeout(struct ts_loop *l)
{
	uint64_t now;

	if (!l->close_paused)
		return -1;
	now = ts_now_ns(CLOCK_MONOTONIC);
	if (now < l->close_resume_ns)
		return (int)((l->close_resume_ns - now + 999999) / 1000000);
	/* a failure leaves it paused: tried again at the next wait, and the
	 * poll's end reads the set anyway */
	l->close_paused = watch_close(l, EPOLLIN) < 0;
	return l->close_paused ? 10 : -1;
}

int ts_loop_flush_after(struct ts_loop *l, uint64_t ms)
{
	struct itimerspec its = {
		.it_value = { (time_t)(ms / 1000),
			      (long)(ms % 1000) * 1000000 },
	};

	if (ms && l->flush_armed)
		return 0;
	if (timerfd_settime(l->ffd, 0, &its, NULL) < 0)
		return -errno;
	l->flush_armed = ms != 0;
	return 0;
}

/* 1 and TS_EV_FLUSH when the flush timer expired. */
static int take_flush(struct ts_loop *l, enum ts_event *ev)
{
	uint64_t n;

	if (!l->flush_armed || read(l->ffd, &n, sizeof(n)) != sizeof(n))
		return 0;
	l->flush_armed = 0;
	*ev = TS_EV_FLUSH;
	return 1;
}

/* The first queued request, applied: 1 and its event, 0 when the queue
 * is empty, -1 when it was taken but has no event of its own. */
static int take_request(struct ts_loop *l, enum ts_event *ev)
{
	struct ts_req r;

	pthread_mutex_lock(&l->lock);
	if (l->qn == 0) {
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	r = l->q[l->qhead];
	l->qhead = (l->qhead + 1) % TS_LOOP_QUEUE;
	l->qn--;
	/* the poll it starts is in progress from now: requests posted
	 * until it ends coalesce with it */
	if (r.kind == TS_REQ_POLL) {
		l->poll_queued = 0;
		l->polling = 1;
	}
	pthread_mutex_unlock(&l->lock);
	switch (r.kind) {
	case TS_REQ_STOP:
		ts_stop_request();
		*ev = TS_EV_STOP;
		break;
	case TS_REQ_REOPEN:
		*ev = TS_EV_REOPEN;
		break;
	case TS_REQ_INTERVAL:
		/* the poster validated it: a failure leaves the old one */
		if (ts_loop_set_interval(l, r.arg) < 0)
			return -1;
		*ev = TS_EV_INTERVAL;
		break;
	case TS_REQ_POLL:
		*ev = TS_EV_POLL;
		break;
	}
	return 1;
}

/* 1 and TS_EV_TICK when the timer expired (missed ticks counted). */
static int take_tick(struct ts_loop *l, enum ts_event *ev)
{
	uint64_t n;

	if (read(l->tfd, &n, sizeof(n)) != sizeof(n) || n == 0)
		return 0;
	pthread_mutex_lock(&l->lock);
	l->st.ticks_missed += n - 1;
	l->polling = 1; /* as for a posted poll */
	pthread_mutex_unlock(&l->lock);
	*ev = TS_EV_TICK;
	return 1;
}

/* 1 and the first event due without waiting, in the order of loop.h. */
static int take_due(struct ts_loop *l, enum ts_event *ev)
{
	uint64_t v;
	int rc;

	ts_stop_read_signals();
	if (ts_stop_requested()) {
		*ev = TS_EV_STOP;
		return 1;
	}
	if (ts_stop_take_reopen()) {
		*ev = TS_EV_REOPEN;
		return 1;
	}
	/* the watchdog before requests and ticks: they cannot starve it */
	if (l->wfd > 0 && read(l->wfd, &v, sizeof(v)) == sizeof(v)) {
		*ev = TS_EV_WATCHDOG;
		return 1;
	}
	(void)!read(l->efd, &v, sizeof(v));
	while ((rc = take_request(l, ev)) < 0)
		;
	return rc > 0 || take_tick(l, ev) || take_flush(l, ev);
}

int ts_loop_wait(struct ts_loop *l, enum ts_event *ev)
{
	/* from this call's own wait only: a later call waits again, which
	 * returns at once while the close set is still readable */
	int close_ready = 0;

	for (;;) {
		struct epoll_event e[8];

		if (take_due(l, ev))
			return 0;
		if (close_ready) {
			*ev = TS_EV_CLOSE;
			return 0;
		}
		int n = epoll_wait(l->epfd, e, 8, close_timeout(l));
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			close_ready |= l->cfd >= 0 && e[i].data.fd == l->cfd;
	}
}
