/*
 * test_redis_restart.c - a server that is down when tcpscope starts is no
 * startup failure: tcpscope says so, polls, counts the records as dropped
 * and delivers once the server is up. Then the server is killed (SIGKILL)
 * mid-run and started again on the same port a second later: polling goes
 * on at its interval meanwhile, every record is counted as sent or
 * dropped, and delivery resumes on a connection to the new server, which
 * gets the records of the last poll. What each server stored decodes,
 * equals the JSON of its poll and is no more than was counted as sent; no
 * record is stored twice.
 */
#include "redis_test.h"

#define POLLS 40

int main(void)
{
	const char *bin = st_bin();
	struct rt_server srv = { 0 };
	struct st_buf b1 = { 0 }, b2 = { 0 };
	unsigned long long sent = 0, dropped = 0;
	char url[256];
	struct st_dir td;
	struct st_set ref;
	int polls = 0, bad = 0;
	long seen;

	rt_begin(&td, &srv, "redis-restart", 100, 0);
	srv.port = rt_free_port(); /* nobody listens there yet */
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/ts?wait_ms=200",
		 srv.port);
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "40",	      "--netns",    "host",  "--dest",
			 url,	      "--dest",	    td.jurl, NULL };
	uint64_t t0 = st_now_ms();
	pid_t pid = st_spawn(argv, NULL, td.epath);
	CHECK(st_wait_polls(td.epath, 3, 10000) == 0);
	CHECK(rt_start(&srv) == 0);
	CHECK(st_wait_polls(td.epath, 15, 10000) == 0);

	/* what the first server stored, then it dies with the data */
	long e1 = rt_xrange(&srv, "ts", &b1);
	rt_kill(&srv);
	int p0, p1;
	st_polled(td.epath, &p0);
	usleep(1000000);
	st_polled(td.epath, &p1);
	CHECK(rt_start(&srv) == 0);
	CHECK_EQ(st_wait(pid, 20000), 0);
	uint64_t elapsed = st_now_ms() - t0;
	long e2 = rt_xrange(&srv, "ts", &b2);

	st_set_load(&ref, td.jpath, NULL, 0);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	long got1 =
		rt_check_entries(SINK_FMT_PROTOBUF_LIST, &b1, &ref, 0, 0, &bad);
	long got2 =
		rt_check_entries(SINK_FMT_PROTOBUF_LIST, &b2, &ref, 0, 0, &bad);
	long last = rt_poll_records(&ref, POLLS, &seen);
	fprintf(stderr,
		"first server: %ld entries, %ld records; second: %ld, %ld; "
		"tcpscope: %llu sent, %llu dropped of %zu; %d polls while "
		"down; %d polls in %llu ms\n",
		e1, got1, e2, got2, sent, dropped, ref.n, p1 - p0, polls,
		(unsigned long long)elapsed);
	CHECK(got1 > 0 && got2 > 0);
	CHECK_EQ(bad, 0); /* includes: no record twice */
	CHECK_EQ(sent + dropped, ref.n);
	CHECK(dropped > 0);
	CHECK((unsigned long long)(got1 + got2) <= sent);
	CHECK(last > 0 && seen == last); /* delivery resumed */
	CHECK_EQ(polls, POLLS);
	CHECK(p1 - p0 >= 6); /* the interval is kept while down */
	CHECK(elapsed < POLLS * 100 + 3000);
	CHECK(st_lines_with(td.epath, "not connected yet", NULL) +
		      st_lines_with(td.epath, "cannot connect", NULL) >=
	      1);
	st_set_free(&ref);
	rt_buf_free(&b1);
	rt_buf_free(&b2);
	rt_kill(&srv);
	st_dir_remove(&td);
	return check_exit();
}
