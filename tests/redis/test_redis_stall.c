/*
 * test_redis_stall.c - a server that stops answering (SIGSTOP): each poll
 * waits for it at most wait_ms per destination, so polling goes on; the
 * records it has not answered stay queued and, once it answers again
 * (SIGCONT), are counted as sent and are in the stream: nothing is lost
 * to a pause. A destination with a small buffer drops what does not fit
 * (counted, and said) instead of growing. A stop request while the
 * server is stopped ends tcpscope within the exit timeout, the records
 * still owed counted as dropped.
 */
#include "redis_test.h"

#define POLLS 30

static const char *bin;
static struct rt_server srv;
static struct st_dir td;

/* The records stored under key, checked against ref; -1: not whole. */
static long stored(const char *key, struct st_set *ref, int *bad)
{
	struct st_buf b = { 0 };
	long got;

	st_set_unsee(ref);
	CHECK(rt_xrange(&srv, key, &b) >= 0);
	got = rt_check_entries(SINK_FMT_PROTOBUF_LIST, &b, ref, 0, 0, bad);
	rt_buf_free(&b);
	return got;
}

static void pause_and_resume(void)
{
	char big[256], small[256];
	unsigned long long sent[2], dropped[2];
	struct st_set ref;
	int polls = 0, p0, p1, bad = 0;

	snprintf(big, sizeof(big), "redis://127.0.0.1:%d/big?wait_ms=150",
		 srv.port);
	snprintf(small, sizeof(small),
		 "redis://127.0.0.1:%d/small?wait_ms=150&buffer=16384&"
		 "max_bytes=4096",
		 srv.port);
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "30",	      "--netns",    "host",  "--dest",
			 big,	      "--dest",	    small,   "--dest",
			 td.jurl,     NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);
	CHECK(st_wait_polls(td.epath, 5, 10000) == 0);
	kill(srv.pid, SIGSTOP);
	st_polled(td.epath, &p0);
	usleep(2000000);
	st_polled(td.epath, &p1);
	kill(srv.pid, SIGCONT);
	CHECK_EQ(st_wait(pid, 30000), 0);

	st_set_load(&ref, td.jpath, NULL, 0);
	CHECK(st_summary(td.epath, big, &sent[0], &dropped[0], &polls) == 0);
	CHECK(st_summary(td.epath, small, &sent[1], &dropped[1], &polls) == 0);
	long got_big = stored("big", &ref, &bad);
	long got_small = stored("small", &ref, &bad);
	fprintf(stderr,
		"%d polls while stopped; big: %llu sent, %llu dropped, %ld "
		"stored; small: %llu sent, %llu dropped, %ld stored; of %zu\n",
		p1 - p0, sent[0], dropped[0], got_big, sent[1], dropped[1],
		got_small, ref.n);
	CHECK(p1 - p0 >= 3); /* each poll: at most 2 x 150 ms of waits */
	CHECK_EQ(polls, POLLS);
	CHECK_EQ(bad, 0);
	CHECK_EQ(dropped[0], 0); /* queued, then answered */
	CHECK_EQ(sent[0], ref.n);
	CHECK_EQ(got_big, sent[0]);
	CHECK(dropped[1] > 0); /* buffer=16384 is full */
	CHECK_EQ(sent[1] + dropped[1], ref.n);
	CHECK_EQ(got_small, sent[1]);
	CHECK(st_lines_with(td.epath, "/big", "stay queued", NULL) >= 1);
	CHECK(st_lines_with(td.epath, "/small", "records dropped", NULL) >= 1);
	st_set_free(&ref);
}

/* SIGTERM while the server is stopped: out within the exit timeout. */
static void stop_while_stopped(void)
{
	char url[256], jurl[256], jpath[200], epath[200];
	unsigned long long sent = 0, dropped = 0;
	struct st_set ref;
	int polls = 0;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/exit?wait_ms=100",
		 srv.port);
	snprintf(jpath, sizeof(jpath), "%s/exit.json", td.dir);
	snprintf(epath, sizeof(epath), "%s/exit.stderr", td.dir);
	snprintf(jurl, sizeof(jurl), "file:%s?format=json", jpath);
	char *argv[] = { (char *)bin, "--interval",	"100ms", "--netns",
			 "host",      "--exit-timeout", "500ms", "--dest",
			 url,	      "--dest",		jurl,	 NULL };
	kill(srv.pid, SIGSTOP);
	pid_t pid = st_spawn(argv, NULL, epath);
	CHECK(st_wait_polls(epath, 4, 10000) == 0);
	uint64_t t0 = st_now_ms();
	kill(pid, SIGTERM);
	CHECK_EQ(st_wait(pid, 10000), 0);
	uint64_t took = st_now_ms() - t0;
	st_set_load(&ref, jpath, NULL, 0);
	CHECK(st_summary(epath, url, &sent, &dropped, &polls) == 0);
	fprintf(stderr,
		"stopped server, SIGTERM: out in %llu ms; %llu sent, "
		"%llu dropped of %zu\n",
		(unsigned long long)took, sent, dropped, ref.n);
	CHECK(took < 100 + 500 + 1000);
	CHECK_EQ(sent, 0);
	CHECK_EQ(dropped, ref.n); /* the at-exit line: none left queued */
	CHECK(st_lines_with(epath, "tcpscope: at exit", NULL) == 1);
	st_set_free(&ref);
}

int main(void)
{
	bin = st_bin();
	rt_begin(&td, &srv, "redis-stall", 100, 1);

	pause_and_resume();
	stop_while_stopped();

	rt_kill(&srv);
	st_dir_remove(&td);
	return check_exit();
}
