/*
 * test_unixgram_slow.c - a unix datagram receiver that stops reading, then
 * reads slowly: every record tcpscope produced either arrived whole or was
 * counted as dropped (sent + dropped = records of the polls, received =
 * sent), and no empty datagram ever arrives. Run twice by meson: with the
 * syscall engine and through io_uring (test_unixgram_slow_uring), where a
 * kernel-retried send to a full unix datagram socket could deliver an
 * empty datagram and report success.
 */
#include "sink_test.h"

#define POLLS 12

int main(void)
{
	const char *bin = st_bin();
	char url[256];
	struct st_dir td;
	static uint8_t tmp[1 << 16];
	struct st_buf b = { 0 };
	struct st_set ref;
	unsigned long long sent = 0, dropped = 0;
	int polls = 0, bad = 0, empty = 0, rcv = 8192;
	long dgrams = 0;

	st_sandbox();
	CHECK(st_make_conns(300) >= 500);
	st_dir_make(&td, "ugram", "g.sock");
	snprintf(url, sizeof(url), "unixgram:%s?max_bytes=3000&wait_ms=10",
		 td.sock);
	int fd = st_unix_rx(SOCK_DGRAM, td.sock);
	CHECK(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "12",	      "--netns",    "host",  "--dest",
			 url,	      "--dest",	    td.jurl, NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);

	usleep(600000); /* stalled: the queue fills, sends are refused */
	for (int quiet = 0; quiet < 100;) { /* then slow: a few per 10 ms */
		int n = 0;
		for (; n < 4; n++) {
			ssize_t k = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
			if (k < 0)
				break;
			empty += k == 0;
			dgrams++;
			st_buf_add(&b, tmp, (size_t)k);
		}
		quiet = n ? 0 : quiet + 1;
		usleep(10000);
	}
	CHECK_EQ(st_wait(pid, 10000), 0);
	st_set_load(&ref, td.jpath, NULL, 0);
	long got = st_check(SINK_FMT_PROTOBUF_LIST, b.p, b.len, &ref, &bad);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	fprintf(stderr,
		"%ld datagrams (%d empty), %ld records received; tcpscope: "
		"%llu sent, %llu dropped in %d polls of %zu records\n",
		dgrams, empty, got, sent, dropped, polls, ref.n);
	CHECK_EQ(empty, 0);
	CHECK_EQ(bad, 0);
	CHECK(got > 0);
	CHECK_EQ(got, sent);		 /* what it counted as sent arrived */
	CHECK(dropped > 0);		 /* the stall did cost records */
	CHECK_EQ(sent + dropped, ref.n); /* every record accounted for */
	CHECK_EQ(polls, POLLS);
	st_set_free(&ref);
	free(b.p);
	st_dir_remove(&td);
	return check_exit();
}
