/*
 * test_kafka_outage.c - the broker goes away (the mock's
 * rd_kafka_mock_broker_set_down: connections cut, new ones refused) while
 * tcpscope polls every 100 ms, and comes back:
 *  - polling goes on at its interval through the outage;
 *  - queue full: 9 MB/s against queue_bytes=2 MiB: the queue's bound
 *    holds, RSS stays within queue_bytes plus a small margin of what it
 *    was before, and what does not fit is dropped as "queue full";
 *  - message timeout (timeout_ms=1000): what waited longer is dropped as
 *    "failed", and the line said names the timeout;
 *  - down at startup: tcpscope starts and polls anyway, says so once (at
 *    most every 10 s, and at exit what was dropped), and delivers
 *    everything once the broker is up;
 *  - every summary line adds up (sent + dropped + queued = written), at
 *    exit nothing is queued, delivery resumed after the broker came back,
 *    and the rows a consumer reads equal the records counted as sent, none
 *    twice (with message timeouts: at least those, at most those and the
 *    failed ones, since one that timed out in flight may have landed).
 */
#include "kafka_test.h"

struct ocase {
	const char *name;
	const char *query;
	const char *interval;
	int interval_ms;
	int down_at_start;
	int warm_polls; /* polls before the outage */
	int down_ms, up_ms;
	int queue_full, failed;	 /* drops expected for that reason */
	unsigned long queue_kib; /* the RSS bound's queue_bytes; 0: none */
};

#define RSS_MARGIN_KIB (6 * 1024)

/* The largest RSS of pid over ms milliseconds. */
static unsigned long rss_over(pid_t pid, int ms)
{
	uint64_t end = st_now_ms() + (uint64_t)ms;
	unsigned long max = 0, r;

	do {
		r = kt_rss_kib(pid);
		max = r > max ? r : max;
		usleep(50000);
	} while (st_now_ms() < end);
	return max;
}

static void run(const char *bin, const struct ocase *k)
{
	char url[512];
	struct st_dir td;
	struct kt_broker b;
	struct kt_msgs m;
	struct kt_counts c = { 0 }, up = { 0 };
	unsigned long base = 0, peak;
	int polls0, polls1, polls2;
	long rows, dups;

	st_dir_make(&td, "koutage", "unused");
	kt_broker_start(&b, "tcp", 8);
	/* messages spread over the partitions (the mock keeps 5 MB of
	 * each); idempotence: a retry after the cut is no duplicate; a
	 * reconnect every 500 ms at most (librdkafka's backoff grows to
	 * 10 s), so that delivery resumes within the test's wait */
	snprintf(url, sizeof(url),
		 "kafka://%s/tcp?kafka.sticky.partitioning.linger.ms=0&"
		 "kafka.enable.idempotence=true&kafka.reconnect.backoff.max.ms="
		 "500&max_rows=500&%s",
		 b.boot, k->query);
	if (k->down_at_start)
		kt_broker_cmd(&b, "down");
	char *argv[] = { (char *)bin, "--interval", (char *)k->interval,
			 "--netns",   "host",	    "--dest",
			 url,	      NULL };
	uint64_t t0 = st_now_ms();
	pid_t pid = st_spawn(argv, NULL, td.epath);
	CHECK(st_wait_polls(td.epath, k->warm_polls, 20000) == 0);
	if (!k->down_at_start) {
		usleep(300000); /* the last poll's messages delivered */
		base = rss_over(pid, 500);
		kt_broker_cmd(&b, "down");
	}
	st_polled(td.epath, &polls0);
	peak = rss_over(pid, k->down_ms);
	st_polled(td.epath, &polls1);
	(void)kt_last(td.epath, url, &up);
	kt_broker_cmd(&b, "up");
	usleep((useconds_t)k->up_ms * 1000);
	st_polled(td.epath, &polls2);
	kill(pid, SIGTERM);
	CHECK_EQ(st_wait(pid, 15000), 0);
	uint64_t took = st_now_ms() - t0;
	CHECK(kt_last(td.epath, url, &c) == 0);
	kt_consume(&b, "tcp", td.dir, &m);
	rows = kt_count_rows(&m, &dups);
	int said = kt_said(td.epath, url, NULL);
	fprintf(stderr,
		"%s: %d polls in the %d ms outage; RSS %lu KiB before, at most "
		"%lu during; at exit %llu sent (%llu before the broker was "
		"up), %llu dropped (%llu queue full, %llu failed), %llu "
		"queued; %zu messages, %ld rows (%ld twice) consumed; %d "
		"lines said in %llu ms\n",
		k->name, polls1 - polls0, k->down_ms, base, peak, c.sent,
		up.sent, c.dropped, c.drop[SINK_DROP_QUEUE_FULL],
		c.drop[SINK_DROP_FAILED], c.queued, m.n, rows, dups, said,
		(unsigned long long)took);
	/* polling went on at its interval (half of it: a loaded machine) */
	CHECK(polls1 - polls0 >= k->down_ms / k->interval_ms / 2);
	CHECK(polls2 > polls1);
	if (k->queue_kib)
		CHECK(peak <= base + k->queue_kib + RSS_MARGIN_KIB);
	CHECK(k->queue_full ? c.drop[SINK_DROP_QUEUE_FULL] > 0
			    : c.drop[SINK_DROP_QUEUE_FULL] == 0);
	CHECK(k->failed ? c.drop[SINK_DROP_FAILED] > 0
			: c.drop[SINK_DROP_FAILED] == 0);
	if (k->failed)
		CHECK(kt_said(td.epath, url, "timed out") >= 1);
	if (!k->queue_full && !k->failed)
		CHECK_EQ(c.dropped, 0);
	CHECK_EQ(c.dropped,
		 c.drop[SINK_DROP_QUEUE_FULL] + c.drop[SINK_DROP_FAILED]);
	CHECK_EQ(c.queued, 0);
	CHECK(c.sent > up.sent); /* delivery resumed */
	CHECK_EQ(kt_accounted(td.epath, url), 0);
	if (k->failed) {
		/* a message that timed out in flight may be in the log after
		 * all, twice even (the idempotent producer's new epoch): what
		 * was acknowledged is there, and nothing that was not given */
		CHECK(rows - dups >= (long)c.sent);
		CHECK(rows - dups <= (long)(c.sent + c.dropped));
	} else {
		CHECK_EQ(rows, c.sent);
		CHECK_EQ(dups, 0);
	}
	/* it said so, at most every 10 s (and at exit what was lost) */
	CHECK(said >= 1);
	CHECK(said <= 1 + (int)(took / 10000) + (c.dropped > 0));
	if (k->down_at_start)
		CHECK(kt_said(td.epath, url, "down") +
			      kt_said(td.epath, url, "refused") >=
		      1);
	kt_msgs_free(&m);
	kt_broker_stop(&b);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();
	static const struct ocase cases[] = {
		{ "queue full", "queue_bytes=2097152", "100ms", 100, 0, 3, 4000,
		  2000, 1, 0, 2048 },
		{ "message timeout", "timeout_ms=1000", "100ms", 100, 0, 3,
		  3000, 2000, 0, 1, 0 },
		{ "down at startup", "", "500ms", 500, 1, 1, 2000, 2500, 0, 0,
		  0 },
	};

	st_sandbox();
	/* ~3000 sockets: ~0.9 MB of protobuf-list per poll */
	CHECK(st_make_conns(1500) >= 3000);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(bin, &cases[i]);
	return check_exit();
}
