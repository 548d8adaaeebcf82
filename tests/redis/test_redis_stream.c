/*
 * test_redis_stream.c - mode=xadd end to end: tcpscope polls a private
 * namespace holding known sockets and sends every record to a real
 * redis-server; the stream is read back with XRANGE and each entry
 * decoded alone (protobuf-c for the protobuf formats) and compared, field
 * by field, with the JSON file of the same polls. The entries hold every
 * record once, as many as the summary line counted as sent, and a poll's
 * entries are acknowledged within that poll (each summary line counts
 * every record so far as sent). max_bytes and max_rows bound each entry;
 * valkey:// is the same destination (here on [::1]); a host name is
 * resolved (localhost); maxlen trims the stream (MAXLEN ~). The _uring
 * twin runs it with the io_uring engine, and tcpscope says once that
 * hiredis owns the socket.
 */
#include "redis_test.h"

static const char *bin;
static struct rt_server srv;
static struct st_dir td;

/* Summary lines whose count of sent records for url is not every record
 * polled so far (-1: no summary line). */
static int late_polls(const char *err_path, const char *url)
{
	FILE *f = fopen(err_path, "r");
	char line[4096], pat[300];
	unsigned long long polled = 0, k, sent;
	int late = 0, lines = 0;

	snprintf(pat, sizeof(pat), "%s: ", url);
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat);
		if (sscanf(line, "tcpscope: poll %*u: %llu sockets", &k) != 1 ||
		    !p || sscanf(p + strlen(pat), "%llu sent", &sent) != 1)
			continue;
		polled += k;
		late += sent != polled;
		lines++;
	}
	if (f)
		fclose(f);
	return lines ? late : -1;
}

/* One run of 3 polls to SCHEME://127.0.0.1:PORT/KEY?QUERY; returns the
 * records the summary counted as sent, after checking what was stored. */
static void run(const char *scheme, const char *host, const char *key,
		const char *query, enum sink_format fmt, size_t max_bytes,
		long max_rows, long maxlen)
{
	char url[256], jurl[256], jpath[200], epath[200];
	unsigned long long sent = 0, dropped = 0;
	struct st_buf b = { 0 };
	struct st_set ref;
	int polls = 0, bad = 0;

	snprintf(url, sizeof(url), "%s://%s:%d/%s%s", scheme, host, srv.port,
		 key, query);
	snprintf(jpath, sizeof(jpath), "%s/%s.json", td.dir, key);
	snprintf(epath, sizeof(epath), "%s/%s.stderr", td.dir, key);
	snprintf(jurl, sizeof(jurl), "file:%s?format=json", jpath);
	char *argv[] = { (char *)bin, "--count", "3",	 "--interval",
			 "100ms",     "--netns", "host", "--dest",
			 url,	      "--dest",	 jurl,	 NULL };
	CHECK_EQ(st_wait(st_spawn(argv, NULL, epath), 20000), 0);
	st_set_load(&ref, jpath, NULL, 0);
	CHECK(ref.n >= 300);
	CHECK(st_summary(epath, url, &sent, &dropped, &polls) == 0);
	long entries = rt_xrange(&srv, key, &b);
	long got = rt_check_entries(fmt, &b, &ref, max_bytes, max_rows, &bad);
	fprintf(stderr,
		"%s: %ld entries, %ld records of %zu; tcpscope: %llu sent, "
		"%llu dropped\n",
		url, entries, got, ref.n, sent, dropped);
	CHECK_EQ(bad, 0);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(sent, ref.n);
	CHECK_EQ(polls, 3);
	CHECK_EQ(late_polls(epath, url), 0);
	/* the _uring twin: said once, that hiredis owns its socket */
	if (getenv("TCPSCOPE_TEST_ENGINE"))
		CHECK_EQ(st_lines_with(epath,
				       "the io_uring engine does not "
				       "drive it",
				       NULL),
			 1);
	if (maxlen < 0) {
		CHECK(entries > 0);
		CHECK_EQ(got, sent); /* what it counted as sent is there */
	} else {
		/* one record per entry (max_rows=1): the stream was trimmed
		 * to about maxlen (~: whole nodes of up to 100 entries) */
		CHECK(got > 0 && got == entries);
		CHECK(entries >= maxlen && entries <= maxlen + 100);
		CHECK(entries < (long)sent);
		CHECK_EQ(rt_int(&srv, "XLEN", key), entries);
	}
	st_set_free(&ref);
	rt_buf_free(&b);
}

int main(void)
{
	bin = st_bin();
	rt_begin(&td, &srv, "redis-stream", 150, 0);
	srv.v6 = rt_have_v6();
	CHECK(rt_start(&srv) == 0);
	if (!srv.v6)
		fprintf(stderr, "note: no IPv6 loopback, [::1] not tested\n");

	/* the defaults: protobuf-list, entries of at most 64 KiB */
	run("redis", "127.0.0.1", "ts", "", SINK_FMT_PROTOBUF_LIST, 65536, 0,
	    -1);
	/* several entries per poll, bounded in bytes and rows */
	run("valkey", srv.v6 ? "[::1]" : "127.0.0.1", "ts-json",
	    "?format=json&max_bytes=4000&max_rows=7", SINK_FMT_JSON, 4000, 7,
	    -1);
	run("redis", "127.0.0.1", "ts-pb",
	    "?format=protobuf&max_bytes=2000&mode=xadd", SINK_FMT_PROTOBUF,
	    2000, 0, -1);
	run("redis", "localhost", "ts-trim", "?maxlen=20&max_rows=1",
	    SINK_FMT_PROTOBUF_LIST, 0, 1, 20);

	rt_kill(&srv);
	st_dir_remove(&td);
	return check_exit();
}
