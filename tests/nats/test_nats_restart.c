/*
 * test_nats_restart.c - a server that is down, dies and comes back, while
 * tcpscope polls every 100 ms:
 *  - core NATS, the server down at startup: tcpscope starts anyway (says
 *    so once), polls, and delivers once it is up; then the server is
 *    killed (SIGKILL) and restarted a second later on the same port:
 *    polling goes on (every poll happens, none slowed down), the records
 *    of the downtime wait in the reconnect buffer and are counted sent
 *    when it goes out, so every record is counted sent or dropped (none
 *    dropped here), and delivery resumes (the subscriber gets records of
 *    polls after the restart, each whole, none twice);
 *  - core NATS with a small reconnect buffer (reconnect_buf=4096): what
 *    does not fit while the server is down is dropped and counted, and a
 *    line says why; the sum still holds;
 *  - JetStream, the server killed and restarted on the same store: every
 *    record is counted acknowledged or dropped, acks resume after the
 *    restart, and the stream holds records of polls after it.
 */
#include "natslib.h"

#define POLLS 40

static void wait_poll(const struct st_dir *td, int n)
{
	CHECK(st_wait_polls(td->epath, n, 20000) == 0);
}

/* Records of the reference marked seen whose poll is after `after`. */
static size_t seen_after(const struct st_set *ref, int after)
{
	size_t n = 0;
	char v[32];

	for (size_t i = 0; i < ref->n; i++)
		n += ref->seen[i] &&
		     st_json_get(ref->line[i], "poll_seq", v, sizeof(v)) == 0 &&
		     atoi(v) > after;
	return n;
}

/* The end of a run: every poll happened on time (40 of 100 ms: a poll
 * held up by the dead server shows), and the sum. */
static void check_sum(const struct st_dir *td, const char *url, uint64_t t0,
		      unsigned long long *sent, unsigned long long *dropped)
{
	fprintf(stderr, "%llu ms\n", (unsigned long long)(st_now_ms() - t0));
	CHECK(st_now_ms() - t0 < POLLS * 100 + 3000);
	(void)nl_sum(td, url, POLLS, sent, dropped);
}

static void run_core(const struct st_dir *td, struct nl_server *srv)
{
	struct nl_sub sub;
	struct st_set ref;
	char url[256];
	unsigned long long sent, dropped;
	int bad = 0, restart;
	size_t longest;
	uint64_t t0 = st_now_ms();

	nl_server_init(srv); /* down at startup */
	snprintf(url, sizeof(url), "%s/tcpscope.restart", srv->url);
	pid_t pid = nl_tcpscope(td, url, "100ms", POLLS, NL_REF);
	wait_poll(td, 3);
	nl_server_start(srv);
	nl_sub_start(&sub, srv, "tcpscope.restart");
	wait_poll(td, 12);
	nl_server_stop(srv, SIGKILL);
	usleep(1000000);
	nl_server_start(srv);
	restart = nl_polls(td->epath);
	CHECK_EQ(st_wait(pid, 30000), 0);
	nl_sub_stop(&sub, 500);

	check_sum(td, url, t0, &sent, &dropped);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(st_lines_with(td->epath, "not connected yet", NULL), 1);
	st_set_load(&ref, td->jpath, NULL, 0);
	long rows = nl_check_msgs(SINK_FMT_PROTOBUF_LIST, &sub.b, &ref, &bad,
				  &longest);
	size_t after = seen_after(&ref, restart + 2);
	fprintf(stderr, "core: %ld rows received, %zu after poll %d\n", rows,
		after, restart + 2);
	CHECK(rows > 0 && (unsigned long long)rows <= sent);
	CHECK_EQ(bad, 0);
	CHECK(after > 0);
	nl_end(td, &ref, &sub.b);
}

static void run_small_buffer(const struct st_dir *td, struct nl_server *srv)
{
	char url[256];
	unsigned long long sent, dropped;
	uint64_t t0 = st_now_ms();

	snprintf(url, sizeof(url),
		 "%s/tcpscope.small?reconnect_buf=4096&format=json", srv->url);
	pid_t pid = nl_tcpscope(td, url, "100ms", POLLS, NL_REF);
	wait_poll(td, 5);
	nl_server_stop(srv, SIGKILL);
	usleep(1500000);
	nl_server_start(srv);
	CHECK_EQ(st_wait(pid, 30000), 0);
	check_sum(td, url, t0, &sent, &dropped);
	CHECK(dropped > 0);
	CHECK(st_lines_with(td->epath, "reconnect buffer is full", NULL) >= 1);
	nl_end(td, NULL, NULL);
}

static void run_js(const struct st_dir *td, struct nl_server *srv)
{
	struct st_buf b = { 0 };
	struct st_set ref;
	char url[256];
	unsigned long long sent, dropped, sent_then = 0, d;
	int bad = 0, polls, restart;
	size_t longest;
	uint64_t t0 = st_now_ms();

	snprintf(url, sizeof(url), "%s/tcpscope.jsr?jetstream=1", srv->url);
	nl_stream_add(srv, "RESTART", "tcpscope.jsr");
	pid_t pid = nl_tcpscope(td, url, "100ms", POLLS, NL_REF);
	wait_poll(td, 10);
	nl_server_stop(srv, SIGKILL);
	usleep(1000000);
	nl_server_start(srv);
	restart = nl_polls(td->epath);
	(void)st_summary(td->epath, url, &sent_then, &d, &polls);
	CHECK_EQ(st_wait(pid, 30000), 0);
	check_sum(td, url, t0, &sent, &dropped);
	CHECK(sent > sent_then); /* acks resumed */

	nl_stream_read(srv, "RESTART", &b);
	st_set_load(&ref, td->jpath, NULL, 0);
	long rows =
		nl_check_msgs(SINK_FMT_PROTOBUF_LIST, &b, &ref, &bad, &longest);
	size_t after = seen_after(&ref, restart + 2);
	fprintf(stderr,
		"jetstream: %llu sent before the restart; %ld rows stored, "
		"%zu after poll %d\n",
		sent_then, rows, after, restart + 2);
	CHECK(rows > 0);
	CHECK_EQ(bad, 0);
	CHECK(after > 0);
	nl_end(td, &ref, &b);
}

int main(void)
{
	struct st_dir td;
	struct nl_server srv = { 0 }, jsrv = { .js = 1 };

	nl_setup(&td, "nats-restart");
	CHECK(st_make_conns(200) >= 200);
	run_core(&td, &srv);
	run_small_buffer(&td, &srv);
	nl_server_stop(&srv, SIGTERM);
	nl_server_start(&jsrv);
	run_js(&td, &jsrv);
	nl_server_stop(&jsrv, SIGTERM);
	return check_exit();
}
