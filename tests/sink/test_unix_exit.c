/*
 * test_unix_exit.c - a unix stream peer that reads slowly while tcpscope
 * exits (--once), in both engines:
 *  - a reader fast enough for the exit timeout: the stream ends on a frame
 *    boundary, and the last summary accounts for every record (received =
 *    sent, sent + dropped = records of the poll);
 *  - one frame of 0.9 MB read at 400 kB/s (over 2 s) within the default
 *    5 s exit timeout: it arrives whole and nothing is dropped;
 *  - the same reader with --exit-timeout 1s: the stream ends mid-frame, as
 *    the man page says it then does: whole frames = what was counted as
 *    sent, the cut frame's records are counted as dropped, the cut as an
 *    error, and stderr says so.
 */
#include "sink_test.h"

struct exit_case {
	const char *name;
	const char *query;	  /* of the unix: URL */
	const char *exit_timeout; /* NULL: the default */
	size_t chunk;		  /* the reader takes chunk bytes ... */
	unsigned pace_us;	  /* ... every pace_us */
	int cut;		  /* the stream is to end mid-frame */
	int whole_poll;		  /* every record is to arrive */
};

/* The peer: reads at its pace until tcpscope closes the stream. */
static void read_slowly(int c, const struct exit_case *k, struct st_buf *b)
{
	static uint8_t tmp[1 << 16];
	int small = 4096;

	setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (;;) {
		ssize_t n = recv(c, tmp, k->chunk, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0)
			st_buf_add(b, tmp, (size_t)n);
		usleep(k->pace_us);
	}
}

static void run(const char *bin, const struct exit_case *k)
{
	char url[256];
	struct st_dir td;
	struct st_buf b = { 0 };
	struct st_set ref;
	unsigned long long sent = 0, dropped = 0;
	int polls = 0, bad = 0, n = 0;
	enum sink_format fmt = strstr(k->query, "format=json")
				       ? SINK_FMT_JSON
				       : SINK_FMT_PROTOBUF_LIST;
	char *argv[16] = { (char *)bin, "--once", "--netns", "host" };

	st_dir_make(&td, "uexit", "s.sock");
	snprintf(url, sizeof(url), "unix:%s?%s", td.sock, k->query);
	int l = st_unix_rx(SOCK_STREAM, td.sock);
	CHECK(l >= 0);
	n = 4;
	argv[n++] = "--dest";
	argv[n++] = url;
	argv[n++] = "--dest";
	argv[n++] = td.jurl;
	if (k->exit_timeout) {
		argv[n++] = "--exit-timeout";
		argv[n++] = (char *)k->exit_timeout;
	}
	argv[n] = NULL;
	uint64_t t0 = st_now_ms();
	pid_t pid = st_spawn(argv, NULL, td.epath);
	struct pollfd pf = { .fd = l, .events = POLLIN };
	CHECK(poll(&pf, 1, 5000) == 1);
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	read_slowly(c, k, &b);
	uint64_t took = st_now_ms() - t0;
	CHECK_EQ(st_wait(pid, 10000), 0);
	close(c);
	close(l);
	st_set_load(&ref, td.jpath, NULL, 0);
	/* what a reader can use: the whole frames */
	size_t whole =
		fmt == SINK_FMT_JSON ? b.len : st_whole_frames(b.p, b.len);
	long got = st_check(fmt, b.p, whole, &ref, &bad);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	int said = st_lines_with(td.epath, url, "ends mid-frame", NULL);
	fprintf(stderr,
		"%s: %zu bytes (%zu in whole frames), %ld records received in "
		"%llu ms; tcpscope: %llu sent, %llu dropped of %zu, %llu "
		"errors\n",
		k->name, b.len, whole, got, (unsigned long long)took, sent,
		dropped, ref.n, st_errors(td.epath, url));
	CHECK(got > 0); /* -1: not whole records */
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, sent); /* what was counted as sent arrived, whole */
	CHECK_EQ(sent + dropped, ref.n);
	if (k->cut) {
		CHECK(whole < b.len); /* the stream ended mid-frame ... */
		CHECK(dropped > 0);   /* ... its records counted ... */
		CHECK(st_errors(td.epath, url) > 0); /* ... the cut too */
		CHECK_EQ(said, 1);		     /* ... and said */
	} else {
		CHECK_EQ(whole, b.len);
		CHECK_EQ(said, 0);
	}
	if (k->whole_poll)
		CHECK_EQ(dropped, 0);
	st_set_free(&ref);
	free(b.p);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();
	static const struct exit_case cases[] = {
		{ "fast reader", "format=json&wait_ms=100", NULL, 65536, 2000,
		  0, 0 },
		/* 8 KiB / 20 ms: the poll's 0.9 MB, one frame (max_rows
		 * above the records), in over 2 s */
		{ "slow reader, within the exit timeout",
		  "wait_ms=100&max_rows=100000", NULL, 8192, 20000, 0, 1 },
		{ "slow reader, exit timeout 1s", "wait_ms=100", "1s", 8192,
		  20000, 1, 0 },
	};

	st_sandbox();
	CHECK(st_make_conns(1500) >= 3000);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(bin, &cases[i]);
	return check_exit();
}
