/*
 * test_unix_restart.c - a unix stream peer that restarts: tcpscope notices
 * the connection is gone, reconnects (with backoff while nobody listens)
 * and delivers to the new peer, which sees whole frames only; no record
 * arrives twice, and every record equals the JSON of its poll.
 */
#include "sink_test.h"

static int accept_within(int l, int ms)
{
	struct pollfd pf = { .fd = l, .events = POLLIN };
	return poll(&pf, 1, ms) == 1 ? accept(l, NULL, NULL) : -1;
}

/* Reads for `ms` (or until EOF when ms < 0). */
static void read_for(int c, struct st_buf *b, int ms)
{
	uint64_t end = st_now_ms() + (uint64_t)(ms < 0 ? 15000 : ms);
	while (st_now_ms() < end) {
		struct pollfd pf = { .fd = c, .events = POLLIN };
		if (poll(&pf, 1, 50) == 1 && st_read_stream(c, b) < 0)
			return;
	}
}

int main(void)
{
	const char *bin = st_bin();
	char url[256];
	struct st_dir td;
	struct st_buf b1 = { 0 }, b2 = { 0 };
	struct st_set ref;
	int bad = 0;

	st_sandbox();
	CHECK(st_make_conns(100) >= 100);
	st_dir_make(&td, "restart", "s.sock");
	snprintf(url, sizeof(url), "unix:%s", td.sock);
	int l = st_unix_rx(SOCK_STREAM, td.sock);
	CHECK(l >= 0);
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "30",	      "--netns",    "host",  "--dest",
			 url,	      "--dest",	    td.jurl, NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);
	int c = accept_within(l, 5000);
	CHECK(c >= 0);
	read_for(c, &b1, 800);

	/* the peer goes away, and nobody listens for a while */
	close(c);
	close(l);
	unlink(td.sock);
	usleep(500000);
	l = st_unix_rx(SOCK_STREAM, td.sock);
	c = accept_within(l, 6000);
	CHECK(c >= 0);
	read_for(c, &b2, -1);
	CHECK_EQ(st_wait(pid, 10000), 0);

	st_set_load(&ref, td.jpath, NULL, 0);
	/* the first peer hung up at any point: its last frame may be cut */
	long got1 = st_check(SINK_FMT_PROTOBUF_LIST, b1.p,
			     st_whole_frames(b1.p, b1.len), &ref, &bad);
	long got2 = st_check(SINK_FMT_PROTOBUF_LIST, b2.p, b2.len, &ref, &bad);
	fprintf(stderr,
		"first peer: %ld records, second peer: %ld records, "
		"of %zu\n",
		got1, got2, ref.n);
	CHECK(got1 > 0);
	CHECK(got2 > 0);  /* whole frames only: -1 otherwise */
	CHECK_EQ(bad, 0); /* includes: no record twice */
	CHECK(got2 > (long)ref.n / 4);
	st_set_free(&ref);
	free(b1.p);
	free(b2.p);
	st_dir_remove(&td);
	return check_exit();
}
