/* stop.c - the daemon's stop request (see stop.h). */
#include "stop.h"

#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "timeutil.h"

static int cut(void);

static int stop_fd = -1;
static int sig_fd = -1;
static atomic_uint reopens;	  /* SIGHUPs not yet taken */
static atomic_uint requests;	  /* stop requests so far */
static atomic_uint exit_requests; /* of them, before the exit phase */
static atomic_int exiting;
static _Atomic uint64_t exit_deadline_ns;

int ts_stop_init(void)
{
	sigset_t set;

	if (stop_fd >= 0)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	/* blocked before any other thread exists, so every thread inherits
	 * the mask and the signals only ever reach the signalfd */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -EINVAL;
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		return -errno;
	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_fd < 0) {
		int rc = -errno;
		close(sig_fd);
		sig_fd = -1;
		return rc;
	}
	return 0;
}

int ts_stop_signal_fd(void)
{
	return sig_fd;
}

void ts_stop_read_signals(void)
{
	struct signalfd_siginfo si[8];
	ssize_t n;

	if (sig_fd < 0)
		return;
	while ((n = read(sig_fd, si, sizeof(si))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
			if (si[i].ssi_signo == SIGHUP)
				atomic_fetch_add(&reopens, 1);
			else
				ts_stop_request();
		}
	}
}

int ts_stop_take_reopen(void)
{
	unsigned v = atomic_load(&reopens);

	while (v && !atomic_compare_exchange_weak(&reopens, &v, 0))
		;
	return v > 0;
}

void ts_stop_request(void)
{
	uint64_t one = 1;
	int saved = errno; /* a signal handler keeps errno */

	atomic_fetch_add(&requests, 1);
	if (stop_fd >= 0)
		(void)!write(stop_fd, &one, sizeof(one));
	errno = saved;
}

int ts_stop_requested(void)
{
	return atomic_load(&requests) > 0;
}

int ts_stop_fd(void)
{
	return stop_fd;
}

void ts_stop_exit_begin(uint64_t timeout_ms)
{
	uint64_t v;

	atomic_store(&exit_deadline_ns,
		     ts_now_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000ull);
	atomic_store(&exit_requests, atomic_load(&requests));
	atomic_store(&exiting, 1);
	/* the requests so far are spent: only a later one cuts exit waits */
	if (stop_fd >= 0)
		while (read(stop_fd, &v, sizeof(v)) == sizeof(v))
			;
}

uint64_t ts_stop_exit_left_ms(void)
{
	uint64_t now = ts_now_ns(CLOCK_MONOTONIC), dl;

	if (!atomic_load(&exiting))
		return UINT64_MAX;
	if (cut())
		return 0;
	dl = atomic_load(&exit_deadline_ns);
	return now >= dl ? 0 : (dl - now) / 1000000;
}

int ts_stop_exiting(void)
{
	return atomic_load(&exiting);
}

int ts_stop_exit_expired(void)
{
	return atomic_load(&exiting) &&
	       ts_now_ns(CLOCK_MONOTONIC) >= atomic_load(&exit_deadline_ns);
}

/* 1 when waits are to be cut now. */
static int cut(void)
{
	if (!atomic_load(&exiting))
		return atomic_load(&requests) > 0;
	return atomic_load(&requests) > atomic_load(&exit_requests);
}

int ts_wait_fd(int fd, short events, uint64_t budget_ns, uint64_t *waited_ns)
{
	for (;;) {
		uint64_t now = ts_now_ns(CLOCK_MONOTONIC), left;
		struct pollfd pfd[3] = {
			{ .fd = fd, .events = events },
			{ .fd = stop_fd, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
		};
		int ms, n;

		ts_stop_read_signals();
		if (cut())
			return -ECANCELED;
		if (*waited_ns >= budget_ns)
			return -ETIMEDOUT;
		left = budget_ns - *waited_ns;
		if (atomic_load(&exiting)) {
			uint64_t dl = atomic_load(&exit_deadline_ns);
			if (now >= dl)
				return -ETIMEDOUT;
			if (dl - now < left)
				left = dl - now;
		}
		ms = left >= (uint64_t)INT32_MAX * 1000000ull
			     ? -1
			     : (int)((left + 999999) / 1000000);
		n = poll(pfd, 3, ms);
		*waited_ns += ts_now_ns(CLOCK_MONOTONIC) - now;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && pfd[0].revents)
			return 0;
		/* timeout, EINTR or the stop fd: the top of the loop decides */
	}
}
