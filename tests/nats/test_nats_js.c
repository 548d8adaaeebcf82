/*
 * test_nats_js.c - JetStream (jetstream=1) against Debian's nats-server
 * started here with -js and a private store:
 *  - with a stream on the subject, in each format, small messages (many
 *    per poll; with at most 2 acks outstanding, the publisher keeps
 *    waiting for acks):
 *    every message in the stream is one whole payload, its records equal
 *    the JSON of the same run, and the rows stored equal the records the
 *    summary line counts as sent (acknowledged), which are all the records
 *    polled; while it runs, tcpscope has its 2 threads and the library's 5
 *    (the 4 of core NATS and the acks' receiver);
 *  - without a stream on the subject, nothing is acknowledged: every
 *    record is counted as dropped, the errors are counted, and a line
 *    says the records were not delivered;
 *  - with no server at all, from start to exit: nothing was ever
 *    published, everything held is dropped at exit, and tcpscope exits
 *    cleanly.
 */
#include "natslib.h"

static void run_stream(const struct st_dir *td, const struct nl_server *srv,
		       enum sink_format fmt, const char *stream,
		       const char *query)
{
	struct st_buf b = { 0 };
	struct st_set ref;
	char url[256], subject[64];
	unsigned long long sent = 0, dropped = 0, polled;
	int bad = 0, threads;
	size_t longest;
	long rows;
	uint64_t msgs;

	snprintf(subject, sizeof(subject), "tcpscope.%s", stream);
	snprintf(url, sizeof(url), "%s/%s?jetstream=1&%s", srv->url, subject,
		 query);
	nl_stream_add(srv, stream, subject);
	pid_t pid = nl_tcpscope(td, url, "100ms", 10, NL_REF);
	CHECK(st_wait_polls(td->epath, 3, 10000) == 0);
	threads = nl_threads(pid);
	CHECK_EQ(st_wait(pid, 30000), 0);

	msgs = nl_stream_read(srv, stream, &b);
	st_set_load(&ref, td->jpath, NULL, 0);
	rows = nl_check_msgs(fmt, &b, &ref, &bad, &longest);
	polled = nl_sum(td, url, 10, &sent, &dropped);
	fprintf(stderr, "%s: %llu messages, %ld rows; threads %d\n",
		sink_format_name(fmt), (unsigned long long)msgs, rows, threads);
	CHECK(polled == ref.n);
	CHECK_EQ(rows, sent);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(bad, 0);
	CHECK(msgs > 10); /* many per poll */
	CHECK_EQ(threads, 7);
	nl_end(td, &ref, &b);
}

static void run_no_stream(const struct st_dir *td, const struct nl_server *srv)
{
	char url[256];
	unsigned long long sent = 1, dropped = 0, polled;

	snprintf(url, sizeof(url), "%s/nobody.listens?jetstream=1", srv->url);
	CHECK_EQ(st_wait(nl_tcpscope(td, url, "200ms", 4, 0), 30000), 0);
	polled = nl_sum(td, url, 4, &sent, &dropped);
	CHECK_EQ(sent, 0);
	CHECK_EQ(dropped, polled);
	CHECK(st_errors(td->epath, url) > 0);
	CHECK(st_lines_with(td->epath, "not delivered", "not acknowledged",
			    NULL) == 1);
	nl_end(td, NULL, NULL);
}

static void run_no_server(const struct st_dir *td)
{
	struct nl_server none = { 0 };
	char url[256];
	unsigned long long sent = 1, dropped = 0, polled;

	nl_server_init(&none); /* a port nobody listens on */
	snprintf(url, sizeof(url), "%s/tcpscope.none?jetstream=1", none.url);
	CHECK_EQ(
		st_wait(nl_tcpscope(td, url, "100ms", 3, NL_QUICK_EXIT), 30000),
		0);
	polled = nl_sum(td, url, 3, &sent, &dropped);
	CHECK_EQ(sent, 0);
	CHECK_EQ(dropped, polled);
	nl_end(td, NULL, NULL);
}

int main(void)
{
	struct st_dir td;
	struct nl_server srv = { .js = 1 };

	nl_setup(&td, "nats-js");
	CHECK(st_make_conns(300) >= 300);
	nl_server_start(&srv);
	run_stream(&td, &srv, SINK_FMT_PROTOBUF_LIST, "PBL",
		   "max_pending=2&max_rows=20");
	run_stream(&td, &srv, SINK_FMT_JSON, "JSON", "format=json&max_rows=7");
	run_stream(&td, &srv, SINK_FMT_PROTOBUF, "PB",
		   "format=protobuf&max_bytes=4096");
	run_no_stream(&td, &srv);
	run_no_server(&td);
	nl_server_stop(&srv, SIGTERM);
	return check_exit();
}
