/*
 * test_kafka_exit.c - tcpscope exits while the broker is down:
 *  - with --exit-timeout 1s after its last poll (--count): the messages it
 *    still holds get one second, then are purged and counted as dropped
 *    "exit" (none is left queued, none counted as failed), the exit takes
 *    about that second, and the "at exit" line gives the final numbers,
 *    which add up; what a consumer reads equals what was counted as sent;
 *  - with --exit-timeout 20s, a second SIGTERM ends the wait at once.
 * (The exit with a healthy broker, every record delivered, is
 * test_kafka_deliver's and test_kafka_outage's.)
 */
#include "kafka_test.h"

/* ms from `since` until pid exits (status in *rc), or -1. */
static long exit_after(pid_t pid, uint64_t since, int timeout_ms, int *rc)
{
	*rc = st_wait(pid, timeout_ms);
	return *rc < 0 ? -1 : (long)(st_now_ms() - since);
}

static void check_final(const struct st_dir *td, const char *url,
			struct kt_broker *b, const char *what)
{
	struct kt_counts c;
	struct kt_msgs m;
	long rows, dups;

	kt_broker_cmd(b, "up");
	CHECK(kt_last(td->epath, url, &c) == 0);
	kt_consume(b, "tcp", td->dir, &m);
	rows = kt_count_rows(&m, &dups);
	fprintf(stderr,
		"%s: at exit %llu sent, %llu dropped (%llu exit, %llu "
		"failed), %llu queued; %ld rows consumed; 'at exit' lines: "
		"%d\n",
		what, c.sent, c.dropped, c.drop[SINK_DROP_EXIT],
		c.drop[SINK_DROP_FAILED], c.queued, rows,
		st_lines_with(td->epath, "tcpscope: at exit", url, NULL));
	CHECK_EQ(c.queued, 0);
	CHECK(c.drop[SINK_DROP_EXIT] > 0);
	CHECK_EQ(c.dropped, c.drop[SINK_DROP_EXIT]);
	CHECK_EQ(st_lines_with(td->epath, "tcpscope: at exit", url, NULL), 1);
	CHECK_EQ(kt_accounted(td->epath, url), 0);
	CHECK_EQ(rows, c.sent);
	CHECK_EQ(dups, 0);
	/* what was lost at exit is said */
	CHECK_EQ(kt_said(td->epath, url, "exit"), 1);
	kt_msgs_free(&m);
}

struct xcase {
	const char *name;
	const char *exit_timeout;
	int count;	     /* --count (0: until SIGTERM, then a second) */
	long min_ms, max_ms; /* the exit took, from the last poll (count) or
				from the second SIGTERM */
};

static void run(const char *bin, const struct xcase *k)
{
	char url[512], count[8];
	struct st_dir td;
	struct kt_broker b;
	int rc, n = 0;
	char *argv[16] = { (char *)bin, "--interval", "300ms", "--netns",
			   "host" };

	st_dir_make(&td, "kexit", "unused");
	kt_broker_start(&b, "tcp", 1);
	snprintf(url, sizeof(url),
		 "kafka://%s/tcp?kafka.enable.idempotence=true", b.boot);
	snprintf(count, sizeof(count), "%d", k->count);
	n = 5; /* after the fixed arguments above */
	argv[n++] = "--exit-timeout";
	argv[n++] = (char *)k->exit_timeout;
	argv[n++] = "--dest";
	argv[n++] = url;
	if (k->count) {
		argv[n++] = "--count";
		argv[n++] = count;
	}
	pid_t pid = st_spawn(argv, NULL, td.epath);
	CHECK(st_wait_polls(td.epath, 2, 20000) == 0);
	usleep(100000); /* those polls delivered */
	kt_broker_cmd(&b, "down");
	CHECK(st_wait_polls(td.epath, k->count ? k->count : 4, 20000) == 0);
	if (!k->count) {
		kill(pid, SIGTERM);
		usleep(700000); /* in the exit's wait */
		CHECK(kt_rss_kib(pid) > 0);
		kill(pid, SIGTERM);
	}
	long took = exit_after(pid, st_now_ms(), 15000, &rc);
	fprintf(stderr, "%s: exited %d, %ld ms after %s\n", k->name, rc, took,
		k->count ? "the last poll" : "the second SIGTERM");
	CHECK_EQ(rc, 0);
	CHECK(took >= k->min_ms && took < k->max_ms);
	check_final(&td, url, &b, k->name);
	kt_broker_stop(&b);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();
	static const struct xcase cases[] = {
		{ "exit-timeout 1s", "1s", 6, 900, 3000 },
		{ "second SIGTERM", "20s", 0, 0, 1500 },
	};

	st_sandbox();
	CHECK(st_make_conns(500) >= 1000);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(bin, &cases[i]);
	return check_exit();
}
