/*
 * stop.h - the daemon's stop request, seen by every wait.
 *
 * Contract: ts_stop_init() runs once at startup, before any signal is
 * handled. ts_stop_request() is async-signal-safe (a signal handler, or
 * another thread, calls it): it wakes every ts_wait_fd() under way.
 * While polling, a stop request cuts every wait at once (-ECANCELED):
 * what was not delivered is the caller's to count as dropped.
 * ts_stop_exit_begin() starts the exit phase, which has one bound for
 * the whole exit: from then on waits are clipped to that deadline, and
 * only a further stop request (a second SIGTERM) cuts them.
 * Signals: ts_stop_init() blocks SIGINT, SIGTERM and SIGHUP in the
 * calling thread (so in every thread made after it: call it first in
 * main) and reads them from one signalfd, which every ts_wait_fd() also
 * watches, so a thread blocked on a slow destination still sees a stop.
 * SIGINT/SIGTERM become stop requests; SIGHUP a reopen request that
 * ts_stop_take_reopen() hands out once.
 * Thread-safety: every function may be called from any thread.
 */
#ifndef TS_STOP_H
#define TS_STOP_H

#include <stdint.h>

/* 0, or -errno (the eventfd or signalfd could not be made). Idempotent. */
int ts_stop_init(void);
/* The signalfd (SIGINT, SIGTERM, SIGHUP) for a poll set of one's own:
 * when it is readable, call ts_stop_read_signals(). */
int ts_stop_signal_fd(void);
/* Reads every pending signal of the signalfd and records it. */
void ts_stop_read_signals(void);
/* 1 once per SIGHUP received since the last call. */
int ts_stop_take_reopen(void);
void ts_stop_request(void);
/* 1 once a stop was requested. */
int ts_stop_requested(void);
/* Exit phase: waits end by now + timeout_ms at the latest. */
void ts_stop_exit_begin(uint64_t timeout_ms);
/* Milliseconds left of the exit's bound (0: used up); UINT64_MAX
 * before the exit phase. For a library's own flush(timeout). */
uint64_t ts_stop_exit_left_ms(void);
/* 1 in the exit phase (after ts_stop_exit_begin()). */
int ts_stop_exiting(void);
/* 1 in the exit phase, once its deadline has passed. */
int ts_stop_exit_expired(void);
/* The eventfd that is readable while waits are to be cut (for callers
 * with a poll set of their own); -1 before ts_stop_init(). */
int ts_stop_fd(void);

/* Waits until fd reports `events`, within what is left of a budget:
 * *waited_ns (in/out) is what has been waited already, budget_ns the
 * bound (UINT64_MAX: none but a stop request). 0 when ready,
 * -ETIMEDOUT when the budget or the exit deadline is used up,
 * -ECANCELED when a stop request cuts the wait, other -errno from poll. */
int ts_wait_fd(int fd, short events, uint64_t budget_ns, uint64_t *waited_ns);

#endif
