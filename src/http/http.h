/*
 * http.h - the HTTP server of --metrics and --control: one thread of its
 * own serves both listeners (libmicrohttpd driven from that thread's
 * epoll set: the library starts no thread).
 *
 * Contract: ts_http_start() opens what the options ask for: --metrics
 * [ADDR:]PORT, a TCP listener serving GET /metrics (Prometheus text
 * 0.0.4), /healthz and /readyz; --control PATH, a unix stream socket
 * created with mode 0600 serving those and the control API: POST /poll,
 * PUT /interval (body: a duration, validated as the option), GET /config,
 * GET /stats (the last poll's delta as JSON). An existing file at PATH
 * that is not a socket is refused, a socket another process listens on
 * too; a stale one (nobody listens) is replaced. *out is NULL when
 * neither option is set. Returns 0 or -errno, having printed one line.
 * The thread reads the daemon only through ts_daemon_metrics() (a
 * consistent snapshot) and acts only through ts_daemon_post() (a bounded
 * queue that never blocks), so no client can stall or crash the poll
 * loop: every request and response has a bound (headers 32 KiB, bodies
 * 64 bytes, responses 1 MiB, 64 connections per listener, 10 s idle);
 * bad requests get one 4xx answer with the reason.
 * ts_http_stop() ends the thread, closes the listeners and removes the
 * control socket it made (NULL is fine); call it before the daemon's
 * destinations are freed.
 * Thread-safety: start and stop from the daemon's thread; the server's
 * callbacks run on its own thread (signals stay blocked there, as in
 * every thread: util/stop.h).
 */
#ifndef TS_HTTP_H
#define TS_HTTP_H

struct ts_daemon;
struct ts_options;
struct ts_http;

int ts_http_start(struct ts_daemon *d, const struct ts_options *opt,
		  struct ts_http **out);
void ts_http_stop(struct ts_http *h);

#endif
