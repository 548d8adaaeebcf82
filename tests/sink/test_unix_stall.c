/*
 * test_unix_stall.c - a unix stream peer that stops reading: tcpscope's
 * memory stays bounded, the records it cannot deliver are counted as
 * dropped, polling goes on at its pace (each poll waits at most wait_ms),
 * and when the peer reads again it gets whole frames only, each record
 * equal to the JSON of its poll.
 */
#include "sink_test.h"

#define POLLS 25

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(void)
{
	const char *bin = st_bin();
	char url[256];
	struct st_dir td;
	struct st_buf b = { 0 };
	struct st_set ref;
	unsigned long long sent = 0, dropped = 0;
	int polls = 0, bad = 0;

	st_sandbox();
	CHECK(st_make_conns(300) >= 500);
	st_dir_make(&td, "stall", "s.sock");
	snprintf(url, sizeof(url),
		 "unix:%s?buffer=262144&max_bytes=65536&wait_ms=20", td.sock);
	int l = st_unix_rx(SOCK_STREAM, td.sock);
	CHECK(l >= 0);
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "25",	      "--netns",    "host",  "--dest",
			 url,	      "--dest",	    td.jurl, NULL };
	uint64_t t0 = st_now_ms();
	pid_t pid = st_spawn(argv, NULL, td.epath);
	struct pollfd pf = { .fd = l, .events = POLLIN };
	CHECK(poll(&pf, 1, 5000) == 1);
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);

	/* stalled: nothing is read for 1.5 s (about 15 polls) */
	usleep(500000);
	long rss1 = rss_kb(pid);
	usleep(1000000);
	long rss2 = rss_kb(pid);
	fprintf(stderr, "rss while stalled: %ld kB, then %ld kB\n", rss1, rss2);
	CHECK(rss1 > 0 && rss2 > 0 && rss2 - rss1 < 2048);

	/* reading again, until tcpscope exits and closes */
	for (;;) {
		pf = (struct pollfd){ .fd = c, .events = POLLIN };
		if (poll(&pf, 1, 10000) <= 0 || st_read_stream(c, &b) < 0)
			break;
	}
	CHECK_EQ(st_wait(pid, 10000), 0);
	uint64_t elapsed = st_now_ms() - t0;
	st_set_load(&ref, td.jpath, NULL, 0);
	long got = st_check(SINK_FMT_PROTOBUF_LIST, b.p, b.len, &ref, &bad);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	fprintf(stderr,
		"%zu bytes, %ld records received; tcpscope: %llu sent, "
		"%llu dropped, %d polls in %llu ms\n",
		b.len, got, sent, dropped, polls, (unsigned long long)elapsed);
	CHECK(got > 0); /* whole frames only: -1 otherwise */
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, sent); /* what it counted as sent arrived */
	CHECK(dropped > 0);
	CHECK_EQ(sent + dropped, ref.n); /* every record accounted for */
	CHECK_EQ(polls, POLLS);
	CHECK(elapsed < POLLS * (100 + 20) + 4000);
	st_set_free(&ref);
	free(b.p);
	st_dir_remove(&td);
	return check_exit();
}
