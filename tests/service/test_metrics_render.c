/*
 * test_metrics_render - the registry as Prometheus text: counters and
 * gauges from a snapshot, cumulative histogram buckets with +Inf, _sum
 * and _count, dump failures by reason, destinations' label values
 * escaped, every drop reason as a label (send_error), a queue depth only
 * for destinations with a queue, namespaces polled less the failed ones;
 * a buffer too small is marked full and never overrun. Also the dump
 * failure classification and its count per dump, histogram deltas, the
 * /stats JSON and the listen address parser.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "engine/poller.h"
#include "metrics/render.h"
#include "util/parse.h"

static char buf[1 << 16];

static int has(const char *line)
{
	const char *p = buf;
	size_t n = strlen(line);

	/* a whole line of the text */
	while ((p = strstr(p, line))) {
		if ((p == buf || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	fprintf(stderr, "missing line: %s\n", line);
	return 0;
}

static void snapshot(struct ts_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->c[TS_C_POLLS] = 3;
	c->c[TS_C_RECORDS] = 1234;
	c->c[TS_C_POLL_NS] = 2500000000ull;
	c->c[TS_C_DUMP_FAIL_FIRST + POLL_FAIL_KERNEL] = 2;
	c->g[TS_G_SOCKETS] = 411;
	c->g[TS_G_NAMESPACES] = 5;
	c->g[TS_G_NS_FAILED] = 2;
	c->g[TS_G_INTERVAL_MS] = 1500;
	ts_hist_observe(c, TS_H_POLL, 1500000);	    /* 1.5 ms */
	ts_hist_observe(c, TS_H_POLL, 30000000);    /* 30 ms */
	ts_hist_observe(c, TS_H_POLL, 20000000000); /* 20 s: +Inf only */
	c->nsinks = 2;
	c->sinks[0].records = 77;
	c->sinks[0].bytes = 9000;
	c->sinks[0].drop[SINK_DROP_SEND_ERROR] = 5;
	c->sinks[0].dropped = 5;
	c->sinks[1].queued = 42;
}

static void test_prom(void)
{
	struct ts_metrics_dest d[2] = { { "unix:/tmp/a\"b\\c\nd", 0 },
					{ "kafka://b:9092/t", 1 } };
	struct ts_proc proc = { 1.5, 4096, 8192, 7, 1024, 3, 1700000000.0 };
	struct ts_counters c;
	struct ts_sb b;

	snapshot(&c);
	ts_sb_init(&b, buf, sizeof(buf));
	ts_render_prom(&b, &c, d, &proc);
	CHECK(!b.full);
	CHECK(has("tcpscope_build_info{version=\"" TS_VERSION "\"} 1"));
	CHECK(has("# TYPE tcpscope_polls_total counter"));
	CHECK(has("tcpscope_polls_total 3"));
	CHECK(has("tcpscope_records_total 1234"));
	CHECK(has("tcpscope_sockets 411"));
	CHECK(has("tcpscope_namespaces 3"));
	CHECK(has("tcpscope_namespaces_failed 2"));
	CHECK(has("tcpscope_poll_interval_seconds 1.5"));
	CHECK(has("tcpscope_dump_failures_total{reason=\"kernel\"} 2"));
	CHECK(has("tcpscope_dump_failures_total{reason=\"timeout\"} 0"));
	CHECK(has("# TYPE tcpscope_poll_duration_seconds histogram"));
	CHECK(has("tcpscope_poll_duration_seconds_bucket{le=\"0.001\"} 0"));
	CHECK(has("tcpscope_poll_duration_seconds_bucket{le=\"0.0025\"} 1"));
	CHECK(has("tcpscope_poll_duration_seconds_bucket{le=\"0.025\"} 1"));
	CHECK(has("tcpscope_poll_duration_seconds_bucket{le=\"0.05\"} 2"));
	CHECK(has("tcpscope_poll_duration_seconds_bucket{le=\"10\"} 2"));
	CHECK(has("tcpscope_poll_duration_seconds_bucket{le=\"+Inf\"} 3"));
	CHECK(has("tcpscope_poll_duration_seconds_count 3"));
	CHECK(has("tcpscope_poll_duration_seconds_sum 2.500000000"));
	CHECK(has("tcpscope_reconcile_duration_seconds_count 0"));
	CHECK(has("tcpscope_destination_records_total{destination="
		  "\"unix:/tmp/a\\\"b\\\\c\\nd\"} 77"));
	CHECK(has("tcpscope_destination_bytes_total{destination="
		  "\"kafka://b:9092/t\"} 0"));
	CHECK(has("tcpscope_destination_dropped_records_total{destination="
		  "\"unix:/tmp/a\\\"b\\\\c\\nd\",reason=\"send_error\"} 5"));
	CHECK(has("tcpscope_destination_dropped_records_total{destination="
		  "\"kafka://b:9092/t\",reason=\"queue_full\"} 0"));
	CHECK(has("tcpscope_destination_queued_records{destination="
		  "\"kafka://b:9092/t\"} 42"));
	CHECK(strstr(buf, "queued_records{destination=\"unix") == NULL);
	CHECK(has("process_cpu_seconds_total 1.50"));
	CHECK(has("process_resident_memory_bytes 4096"));
	CHECK(has("process_open_fds 7"));
	CHECK(has("process_max_fds 1024"));
	CHECK(has("process_threads 3"));
	CHECK(has("process_start_time_seconds 1700000000.00"));

	/* without a queue anywhere, no queue family at all */
	d[1].queue = 0;
	ts_sb_init(&b, buf, sizeof(buf));
	ts_render_prom(&b, &c, d, NULL);
	CHECK(strstr(buf, "queued_records") == NULL);
	CHECK(strstr(buf, "process_") == NULL);

	/* a small buffer: full, NUL-terminated, nothing past it */
	char small[300];
	memset(small, 'x', sizeof(small));
	ts_sb_init(&b, small, 200);
	ts_render_prom(&b, &c, d, &proc);
	CHECK(b.full);
	CHECK(b.len < 200 && small[b.len] == '\0');
	CHECK(small[200] == 'x');
}

static void test_stats(void)
{
	struct ts_metrics_dest d[2] = { { "file:/tmp/a\"b\n", 0 },
					{ "null", 0 } };
	struct ts_counters c, before, delta;
	struct ts_sb b;

	snapshot(&c);
	before = c;
	c.c[TS_C_POLLS]++;
	c.c[TS_C_RECORDS] += 411;
	c.sinks[0].records += 411;
	ts_hist_observe(&c, TS_H_POLL, 3000000);
	ts_counters_delta(&c, &before, &delta);
	CHECK_EQ(delta.h[TS_H_POLL][2], 1); /* the 5 ms bucket */
	CHECK_EQ(delta.h[TS_H_POLL][13], 0);
	ts_sb_init(&b, buf, sizeof(buf));
	ts_render_stats(&b, &delta, d);
	CHECK(!b.full);
	CHECK(strstr(buf, "\"counters\":{\"polls\":1,") != NULL);
	CHECK(strstr(buf, "\"records\":411") != NULL);
	CHECK(strstr(buf, "\"sockets\":411") != NULL);
	/* escaped as JSON (a file name can hold anything) */
	CHECK(strstr(buf, "{\"destination\":\"file:/tmp/a\\\"b\\u000a\","
			  "\"records\":411,") != NULL);
	CHECK(strstr(buf, "\"send_error\":0") != NULL);
	CHECK(buf[b.len - 1] == '\n' && buf[b.len - 2] == '}');
	/* every gauge under a name of its own (unnamed ones were all "?",
	 * keys a JSON reader takes only the last of) */
	CHECK(strstr(buf, "\"one_walk\":") != NULL);
	CHECK(strstr(buf, "\"?\"") == NULL);
	for (unsigned i = 0; i < TS_G_COUNT; i++)
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(ts_gauge_name(i), ts_gauge_name(j)) != 0);
}

static void test_fail_reasons(void)
{
	static struct poll_loop l;
	struct poll_target t = { .netns = "host" };
	struct poll_stats st = { 0 };

	CHECK_EQ(poll_fail_reason(-ETIMEDOUT, 0), POLL_FAIL_TIMEOUT);
	CHECK_EQ(poll_fail_reason(-ENOBUFS, 0), POLL_FAIL_OVERRUN);
	CHECK_EQ(poll_fail_reason(-EBADMSG, -EBADMSG), POLL_FAIL_MALFORMED);
	CHECK_EQ(poll_fail_reason(-EPROTO, -EPROTO), POLL_FAIL_MALFORMED);
	CHECK_EQ(poll_fail_reason(-EPERM, -EPERM), POLL_FAIL_KERNEL);
	CHECK_EQ(poll_fail_reason(-ECONNRESET, 0), POLL_FAIL_IO);
	CHECK(strcmp(poll_fail_name(POLL_FAIL_OVERRUN), "overrun") == 0);
	/* each failed dump counted once, under its reason */
	l.st = &st;
	t.parser.error = -EPERM;
	poll_dump_end(&l, &t, -EPERM);
	t.parser.error = 0;
	poll_dump_end(&l, &t, -ETIMEDOUT);
	poll_dump_end(&l, &t, 0);
	CHECK_EQ(st.dumps_failed, 2);
	CHECK_EQ(st.dump_fail[POLL_FAIL_KERNEL], 1);
	CHECK_EQ(st.dump_fail[POLL_FAIL_TIMEOUT], 1);
	CHECK_EQ(st.dump_fail[POLL_FAIL_IO], 0);
}

static void test_listen(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = 0;

	CHECK(ts_parse_listen("9100", &ss, &len) == 0);
	CHECK(ss.ss_family == AF_INET && ntohs(v4->sin_port) == 9100);
	CHECK(ntohl(v4->sin_addr.s_addr) == INADDR_LOOPBACK);
	CHECK(len == sizeof(*v4));
	CHECK(ts_parse_listen("0.0.0.0:1", &ss, &len) == 0);
	CHECK(v4->sin_addr.s_addr == 0 && ntohs(v4->sin_port) == 1);
	CHECK(ts_parse_listen("[::1]:65535", &ss, &len) == 0);
	CHECK(ss.ss_family == AF_INET6 && ntohs(v6->sin6_port) == 65535);
	CHECK(len == sizeof(*v6));
	const char *bad[] = { "",
			      "0",
			      "65536",
			      "x:80",
			      "::1:80",
			      "[::1]",
			      "[::1]80",
			      ":80",
			      "1.2.3:80",
			      "localhost:80",
			      "[1.2.3.4]:8",
			      "9100 ",
			      "-1",
			      "[]:80" };
	ss.ss_family = AF_UNIX;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ts_parse_listen(bad[i], &ss, &len) != -EINVAL)
			fprintf(stderr, "accepted: '%s'\n", bad[i]);
		CHECK(ss.ss_family == AF_UNIX); /* untouched */
	}
}

int main(void)
{
	test_prom();
	test_stats();
	test_fail_reasons();
	test_listen();
	return check_exit();
}
