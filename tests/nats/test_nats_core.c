/*
 * test_nats_core.c - core NATS end to end: tcpscope polls a private
 * namespace holding known sockets and publishes to Debian's nats-server
 * (started here, max_payload 16 KiB); a subscriber decodes every message
 * and compares each record, field by field, with the JSON file written by
 * the same run. In every format:
 *  - each message is one whole payload, within the server's max_payload
 *    (read from the connection: tcpscope's own default is 1 MiB);
 *  - the rows received equal the records the summary line counts as sent,
 *    which are all the records polled (none dropped), none twice;
 * and while it runs, tcpscope has the threads the README says: its 2 and
 * the library's 4 (timers, callbacks, garbage collector, the connection's
 * reader).
 */
#include "natslib.h"

#define MAX_PAYLOAD 16384

static void run(const struct st_dir *td, const struct nl_server *srv,
		enum sink_format fmt, const char *query, int check_threads)
{
	struct nl_sub sub;
	struct st_set ref;
	char url[256];
	unsigned long long sent = 0, dropped = 0, polled;
	int bad = 0, threads = -1;
	size_t longest;
	long rows;

	snprintf(url, sizeof(url), "%s/tcpscope.core%s", srv->url, query);
	nl_sub_start(&sub, srv, "tcpscope.core");
	pid_t pid =
		nl_tcpscope(td, url, "100ms", check_threads ? 12 : 4, NL_REF);
	if (check_threads) {
		CHECK(st_wait_polls(td->epath, 3, 10000) == 0);
		threads = nl_threads(pid);
	}
	CHECK_EQ(st_wait(pid, 30000), 0);
	nl_sub_stop(&sub, 500);

	st_set_load(&ref, td->jpath, NULL, 0);
	rows = nl_check_msgs(fmt, &sub.b, &ref, &bad, &longest);
	polled = nl_sum(td, url, 0, &sent, &dropped);
	fprintf(stderr,
		"%s: %zu messages (largest %zu bytes), %ld rows; threads %d\n",
		sink_format_name(fmt), sub.b.ncut, longest, rows, threads);
	CHECK(polled == ref.n);
	CHECK_EQ(rows, sent);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(bad, 0); /* includes: no record twice */
	CHECK(longest <= MAX_PAYLOAD);
	CHECK(sub.b.ncut > (size_t)(check_threads ? 12 : 4)); /* many a poll */
	/* the io_uring twin: the kernel's io-wq workers are tasks too, and
	 * the daemon says once that the ring does not drive this one */
	if (check_threads && !getenv("TCPSCOPE_TEST_ENGINE"))
		CHECK_EQ(threads, 6);
	if (getenv("TCPSCOPE_TEST_ENGINE"))
		CHECK_EQ(st_lines_with(td->epath, "tcpscope.core",
				       "the io_uring engine does not drive it",
				       NULL),
			 1);
	nl_end(td, &ref, &sub.b);
}

int main(void)
{
	struct st_dir td;
	struct nl_server srv = { .conf = "max_payload: 16384\n" };

	nl_setup(&td, "nats-core");
	CHECK(st_make_conns(300) >= 300);
	nl_server_start(&srv);
	run(&td, &srv, SINK_FMT_PROTOBUF_LIST, "", 1);
	run(&td, &srv, SINK_FMT_PROTOBUF, "?format=protobuf&max_rows=50", 0);
	run(&td, &srv, SINK_FMT_JSON, "?format=json", 0);
	nl_server_stop(&srv, SIGTERM);
	return check_exit();
}
