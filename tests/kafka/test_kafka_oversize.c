/*
 * test_kafka_oversize.c - messages too large:
 *  - for the broker: it refuses the first Produce requests with
 *    MESSAGE_TOO_LARGE (the mock's pushed errors, as a broker whose
 *    message.max.bytes is below max_bytes does): their records are
 *    counted as dropped "oversize" (and as errors), the line said names
 *    the broker's error, the rest is delivered, and it all adds up;
 *  - for max_bytes itself: a record larger alone (max_bytes=64) is
 *    dropped as oversize before any message is made, and said.
 * (max_bytes above kafka.message.max.bytes is refused at startup:
 * test_kafka_url.)
 */
#include "kafka_test.h"

static void run(const char *bin, const char *name, const char *query,
		const char *broker_cmd)
{
	char url[512];
	struct st_dir td;
	struct kt_broker b;
	struct kt_msgs m;
	struct kt_counts c;
	long rows, dups;
	unsigned long long written;
	int polls;

	st_dir_make(&td, "koversize", "unused");
	kt_broker_start(&b, "tcp", 1);
	if (broker_cmd)
		kt_broker_cmd(&b, broker_cmd);
	snprintf(url, sizeof(url), "kafka://%s/tcp?%s", b.boot, query);
	char *argv[] = { (char *)bin, "--count", "4",	 "--interval",
			 "300ms",     "--netns", "host", "--dest",
			 url,	      NULL };
	CHECK_EQ(st_wait(st_spawn(argv, NULL, td.epath), 30000), 0);
	written = st_polled(td.epath, &polls);
	CHECK(kt_last(td.epath, url, &c) == 0);
	kt_consume(&b, "tcp", td.dir, &m);
	rows = kt_count_rows(&m, &dups);
	fprintf(stderr,
		"%s: %llu written; %llu sent, %llu dropped (%llu oversize), "
		"%llu errors, %llu queued; %ld rows consumed\n",
		name, written, c.sent, c.dropped, c.oversize, c.errors,
		c.queued, rows);
	CHECK(written > 0);
	CHECK(c.oversize > 0);
	CHECK_EQ(c.dropped, c.oversize);
	CHECK_EQ(c.queued, 0);
	CHECK_EQ(c.sent + c.dropped, written);
	CHECK_EQ(kt_accounted(td.epath, url), 0);
	CHECK_EQ(rows, c.sent);
	CHECK_EQ(dups, 0);
	if (broker_cmd) { /* the broker's refusal */
		CHECK(c.sent > 0);
		CHECK(c.errors > 0);
		CHECK(kt_said(td.epath, url, "too large") >= 1);
	} else { /* max_bytes' */
		CHECK_EQ(c.sent, 0);
		CHECK_EQ(m.n, 0);
		CHECK(kt_said(td.epath, url, "oversize") >= 1);
	}
	kt_msgs_free(&m);
	kt_broker_stop(&b);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();

	st_sandbox();
	CHECK(st_make_conns(500) >= 1000);
	run(bin, "broker refuses", "max_rows=300", "error 10 2");
	run(bin, "record over max_bytes", "max_bytes=64", NULL);
	return check_exit();
}
