/*
 * test_nats_stall.c - a server that stops answering (SIGSTOP: the
 * connection stays up, nothing is read or acknowledged) never holds the
 * polls beyond their bound, nor the exit beyond its own:
 *  - core NATS, wait_ms=200: the socket fills, the write that blocks is
 *    cut by the library's write deadline, the library reconnects (to a
 *    server that accepts and never answers); payloads are held meanwhile
 *    (reconnect_buf=1 MiB), the rest dropped and counted; every poll
 *    happens on time, and at exit what is held waits for --exit-timeout
 *    only; every record is counted sent or dropped;
 *  - JetStream, max_pending=3, one record per message: no more than 3
 *    messages are ever out without an ack (once the server runs again,
 *    its stream holds at most 3 more than tcpscope counted acknowledged),
 *    each poll waits for acks at most wait_ms, the exit at most
 *    --exit-timeout for the 3 outstanding, and the sum holds;
 *  - JetStream, wait_ms=10000 and one message awaiting its ack at most: a
 *    SIGTERM while a poll waits for the ack cuts the wait at once; the
 *    exit takes --exit-timeout, not the 10 s, and the sum holds;
 *  - JetStream, one message per poll: a message whose ack does not come
 *    within 5 s is given up (not delivered, said on stderr) while the
 *    next polls go on publishing, and the sum holds.
 */
#include "natslib.h"

static void run_core(const struct st_dir *td, struct nl_server *srv)
{
	char url[256];
	unsigned long long sent, dropped;
	uint64_t t0 = st_now_ms(), ms;

	snprintf(url, sizeof(url),
		 "%s/tcpscope.stall?format=json&wait_ms=200&reconnect_buf="
		 "1048576",
		 srv->url);
	pid_t pid = nl_tcpscope(td, url, "100ms", 25, NL_QUICK_EXIT);
	CHECK(st_wait_polls(td->epath, 2, 10000) == 0);
	kill(srv->pid, SIGSTOP);
	CHECK_EQ(st_wait(pid, 30000), 0);
	ms = st_now_ms() - t0;
	/* 25 polls of 100 ms; at most 2 x wait_ms in one poll (the write
	 * cut by its deadline); the exit: 1 s, and the library's close may
	 * wait for a connect attempt under way (NATS_CONNECT_MS, 1 s) */
	fprintf(stderr, "core: %llu ms\n", (unsigned long long)ms);
	CHECK(ms < 2500 + 400 + 2000 + 1500);
	(void)nl_sum(td, url, 25, &sent, &dropped);
	CHECK(dropped > 0);
	CHECK(st_lines_with(td->epath, "record(s) dropped", NULL) >= 1);
	nl_end(td, NULL, NULL);
	nl_server_stop(srv, SIGKILL);
}

static void run_js(const struct st_dir *td, struct nl_server *srv)
{
	struct st_buf b = { 0 };
	char url[256];
	unsigned long long sent, dropped;
	uint64_t t0, ms, stored;

	nl_stream_add(srv, "STALL", "tcpscope.jstall");
	snprintf(url, sizeof(url),
		 "%s/tcpscope.jstall?jetstream=1&max_pending=3&max_rows=1&"
		 "wait_ms=300",
		 srv->url);
	t0 = st_now_ms();
	pid_t pid = nl_tcpscope(td, url, "200ms", 6, NL_QUICK_EXIT);
	CHECK(st_wait_polls(td->epath, 2, 10000) == 0);
	kill(srv->pid, SIGSTOP);
	CHECK_EQ(st_wait(pid, 30000), 0);
	ms = st_now_ms() - t0;
	kill(srv->pid, SIGCONT);
	usleep(1000000); /* it stores what it had read */
	stored = nl_stream_read(srv, "STALL", &b);
	fprintf(stderr, "jetstream: %llu ms, %llu messages stored\n",
		(unsigned long long)ms, (unsigned long long)stored);
	/* 6 polls of 200 ms, each waiting for acks at most 300 ms (plus a
	 * publish under way), the exit 1 s */
	CHECK(ms < 6 * 200 + 6 * 600 + 1000 + 1500);
	(void)nl_sum(td, url, 6, &sent, &dropped);
	CHECK(sent > 0);
	CHECK(stored >= sent && stored <= sent + 3);
	nl_end(td, NULL, &b);
}

static void run_js_sigterm(const struct st_dir *td, struct nl_server *srv)
{
	char url[256];
	unsigned long long sent, dropped;
	uint64_t t0, ms;

	nl_stream_add(srv, "TERM", "tcpscope.term");
	snprintf(url, sizeof(url),
		 "%s/tcpscope.term?jetstream=1&max_pending=1&max_rows=1&"
		 "wait_ms=10000",
		 srv->url);
	pid_t pid = nl_tcpscope(td, url, "100ms", 100, NL_QUICK_EXIT);
	CHECK(st_wait_polls(td->epath, 2, 10000) == 0);
	kill(srv->pid, SIGSTOP);
	usleep(500000); /* a poll waits for its first ack */
	t0 = st_now_ms();
	kill(pid, SIGTERM);
	CHECK_EQ(st_wait(pid, 30000), 0);
	ms = st_now_ms() - t0;
	fprintf(stderr, "jetstream, SIGTERM while waiting: %llu ms\n",
		(unsigned long long)ms);
	CHECK(ms < 1000 + 1500);
	(void)nl_sum(td, url, 0, &sent, &dropped);
	CHECK(dropped > 0);
	nl_end(td, NULL, NULL);
	kill(srv->pid, SIGCONT);
}

static void run_js_timeout(const struct st_dir *td, struct nl_server *srv)
{
	char url[256];
	unsigned long long sent, dropped;
	uint64_t t0 = st_now_ms(), ms;

	nl_stream_add(srv, "LATE", "tcpscope.late");
	snprintf(url, sizeof(url), "%s/tcpscope.late?jetstream=1", srv->url);
	pid_t pid = nl_tcpscope(td, url, "500ms", 16, NL_QUICK_EXIT);
	CHECK(st_wait_polls(td->epath, 2, 10000) == 0);
	kill(srv->pid, SIGSTOP);
	CHECK_EQ(st_wait(pid, 30000), 0);
	ms = st_now_ms() - t0;
	fprintf(stderr, "jetstream, late acks: %llu ms\n",
		(unsigned long long)ms);
	CHECK(ms < 16 * 500 + 1000 + 1500);
	(void)nl_sum(td, url, 16, &sent, &dropped);
	CHECK(sent > 0 && dropped > 0);
	/* the first complaint: polls 3, 4... waited 5 s for their acks */
	CHECK(st_lines_with(td->epath, "not delivered (not acknowledged",
			    NULL) == 1);
	nl_end(td, NULL, NULL);
}

int main(void)
{
	struct st_dir td;
	struct nl_server srv = { 0 }, jsrv = { .js = 1 };

	nl_setup(&td, "nats-stall");
	CHECK(st_make_conns(300) >= 300);
	nl_server_start(&srv);
	run_core(&td, &srv);
	nl_server_start(&jsrv);
	run_js(&td, &jsrv);
	nl_server_stop(&jsrv, SIGKILL);
	nl_server_start(&jsrv);
	run_js_sigterm(&td, &jsrv);
	run_js_timeout(&td, &jsrv);
	nl_server_stop(&jsrv, SIGKILL);
	return check_exit();
}
