/*
 * test_unix_exit.c - a unix stream peer that reads slowly while tcpscope
 * exits: the stream still ends on a frame boundary (the frame the peer got
 * part of is completed before the socket is closed), and the totals of the
 * last summary line account for every record (received = sent, sent +
 * dropped = records of the poll). Run with both engines.
 */
#include "sink_test.h"

int main(void)
{
	const char *bin = st_bin();
	char url[256];
	struct st_dir td;
	static uint8_t tmp[1 << 16];
	struct st_buf b = { 0 };
	struct st_set ref;
	unsigned long long sent = 0, dropped = 0;
	int polls = 0, bad = 0, small = 4096;

	st_sandbox();
	CHECK(st_make_conns(1500) >= 3000);
	st_dir_make(&td, "uexit", "s.sock");
	snprintf(url, sizeof(url), "unix:%s?format=json&wait_ms=100", td.sock);
	int l = st_unix_rx(SOCK_STREAM, td.sock);
	CHECK(l >= 0);
	char *argv[] = { (char *)bin, "--once", "--netns", "host", "--dest",
			 url,	      "--dest", td.jurl,   NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);
	struct pollfd pf = { .fd = l, .events = POLLIN };
	CHECK(poll(&pf, 1, 5000) == 1);
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (;;) { /* 64 KiB every 2 ms: slower than tcpscope writes */
		ssize_t n = recv(c, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0)
			st_buf_add(&b, tmp, (size_t)n);
		usleep(2000);
	}
	CHECK_EQ(st_wait(pid, 10000), 0);
	st_set_load(&ref, td.jpath, NULL, 0);
	long got = st_check(SINK_FMT_JSON, b.p, b.len, &ref, &bad);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	fprintf(stderr,
		"%zu bytes, %ld records received; tcpscope: %llu sent, "
		"%llu dropped of %zu\n",
		b.len, got, sent, dropped, ref.n);
	CHECK(got > 0); /* -1: the stream ended mid-record */
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, sent);
	CHECK_EQ(sent + dropped, ref.n);
	st_set_free(&ref);
	free(b.p);
	st_dir_remove(&td);
	return check_exit();
}
