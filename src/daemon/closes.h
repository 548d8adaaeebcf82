/*
 * closes.h - the daemon's side of close events (--close-events): the
 * close set (engine/close_set.h) the namespace table attaches each
 * namespace's listening socket to, read on the main thread.
 *
 * Contract: ts_closes_init() (from ts_daemon_init, after the loop) makes
 * the set and has the loop watch it; nothing without --close-events or
 * with --replay. ts_closes_drain() reads what is queued (at most `budget`
 * datagrams) into the fanout (ts_fanout_closed: the fanout's lock, the
 * destinations' batches) and arms the loop's flush timer, so that a
 * close record is sent within TS_CLOSE_FLUSH_MS whatever --interval:
 * ts_closes_read() is the loop's TS_EV_CLOSE: a drain, then, when the
 * set was read to the end, a pause of TS_CLOSE_PAUSE_MS in watching it,
 * shorter (or none) when at the last read's rate the smallest buffer
 * would be a quarter full by then.
 * ts_closes_during_polls() (after the workers started) has worker 0 read
 * the set every TS_CLOSE_MID_POLL_EVERY datagrams of its polls.
 * ts_closes_flush() is the timer's flush, ts_closes_flushed() says a
 * poll's end flushed (and disarms it). ts_closes_count() copies the set's
 * totals into d->totals (for the summary line and the metrics);
 * ts_closes_report_last() prints what was read after the last summary
 * line (the table's release reads every socket to the end), with --quiet
 * too when some were lost. ts_closes_warn() says once that the kernel
 * gave a smaller buffer than --close-buffer.
 * Thread-safety: the main thread.
 */
#ifndef TS_CLOSES_H
#define TS_CLOSES_H

#include "daemon.h"

/* a close record waits at most this long in a destination's batch */
#define TS_CLOSE_FLUSH_MS 1000
/* after the set was read to the end, closes pile up this long in the
 * kernel's buffers before the next read: fewer wake-ups, larger batches
 * (a 4 MiB buffer holds about 3,200 closes: 320,000 a second) */
#define TS_CLOSE_PAUSE_MS 10
/* during a poll (whose worker 0 is the main thread) the set is read every
 * this many dump datagrams (about 40 to 80 sockets each), at most this
 * many close datagrams at a time: a long poll does not overflow it */
#define TS_CLOSE_MID_POLL_EVERY	 4
#define TS_CLOSE_MID_POLL_BUDGET 256

int ts_closes_init(struct ts_daemon *d);
void ts_closes_release(struct ts_daemon *d);
int ts_closes_drain(struct ts_daemon *d, unsigned budget);
void ts_closes_read(struct ts_daemon *d);
void ts_closes_during_polls(struct ts_daemon *d);
void ts_closes_flush(struct ts_daemon *d);
void ts_closes_flushed(struct ts_daemon *d);
void ts_closes_count(struct ts_daemon *d, const struct ns_reconcile_stats *ns);
void ts_closes_warn(struct ts_daemon *d);
void ts_closes_report_last(struct ts_daemon *d);

#endif
