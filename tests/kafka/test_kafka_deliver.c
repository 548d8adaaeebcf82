/*
 * test_kafka_deliver.c - tcpscope produces to a broker (librdkafka's mock
 * cluster, its own process, over TCP on loopback) and a real consumer
 * (kcat) reads every message back, for each format and each compression
 * codec:
 *  - each message is exactly one frame and nothing else (protobuf-list:
 *    one varint(len) + Envelope of at most max_rows records and at most
 *    max_bytes bytes; protobuf: one varint-prefixed record; json: one
 *    object without its newline);
 *  - every record decodes with protobuf-c, field for field equal to
 *    tcpscope's JSON of the same run, and with `protoc --decode` against
 *    proto/xtcp_flat_record.proto;
 *  - the rows consumed equal the records the summary line counted as
 *    sent, which are every record written: the exit with a healthy broker
 *    delivers everything (the "at exit" line: 0 queued, 0 dropped), and
 *    each summary line adds up (sent + dropped + queued = written) and
 *    is current within one poll (the previous poll's records settled);
 *  - the codec is applied: the bytes through the sandbox's loopback while
 *    tcpscope runs (the produce requests and their answers) are fewer
 *    than the payloads' with a codec, not without, and each codec's
 *    differ from lz4's (on these records: gzip and zstd about 40% fewer,
 *    snappy 40% more).
 */
#include "kafka_test.h"

struct dcase {
	const char *name;
	const char *query; /* of the kafka:// URL */
	enum sink_format fmt;
	long max_rows;	  /* the most records one message may hold */
	size_t max_bytes; /* the largest message allowed */
	int polls;
	int compressed;
	int vs_lz4; /* another codec than the first case's lz4: its bytes
		       on the wire differ from lz4's by more than 15% */
};

static double lz4_wire; /* per record, of the first case */

static void run(const char *bin, const struct dcase *k)
{
	char url[512], count[8];
	struct st_dir td;
	struct kt_broker b;
	struct kt_msgs m;
	struct kt_counts c;
	struct st_set ref;
	long rows, maxrows, decoded;
	size_t maxlen, seen = 0;
	int bad = 0;

	st_dir_make(&td, "kdeliver", "unused");
	kt_broker_start(&b, "tcp", 1);
	snprintf(url, sizeof(url), "kafka://%s/tcp%s%s", b.boot,
		 k->query[0] ? "?" : "", k->query);
	snprintf(count, sizeof(count), "%d", k->polls);
	char *argv[] = { (char *)bin, "--count", count,	  "--interval",
			 "300ms",     "--netns", "host",  "--dest",
			 url,	      "--dest",	 td.jurl, NULL };
	uint64_t lo = kt_lo_bytes();
	pid_t pid = st_spawn(argv, NULL, td.epath);
	CHECK_EQ(st_wait(pid, 30000), 0);
	uint64_t wire = kt_lo_bytes() - lo;
	st_set_load(&ref, td.jpath, NULL, 0);
	CHECK(kt_last(td.epath, url, &c) == 0);
	kt_consume(&b, "tcp", td.dir, &m);
	rows = kt_check_all(k->fmt, &m, &ref, &bad, &maxrows, &maxlen);
	for (size_t i = 0; i < ref.n; i++)
		seen += ref.seen[i] != 0;
	decoded =
		k->fmt == SINK_FMT_JSON ? rows : kt_protoc(k->fmt, &m, td.dir);
	size_t payload = kt_payload_bytes(&m);
	fprintf(stderr,
		"%s: %zu records written; %llu sent, %llu dropped, %llu "
		"queued at exit; %zu messages consumed, %ld rows (protoc: "
		"%ld), at most %ld rows and %zu bytes in one; %.1f payload "
		"bytes, %.1f on the wire per record\n",
		k->name, ref.n, c.sent, c.dropped, c.queued, m.n, rows, decoded,
		maxrows, maxlen, (double)payload / (double)ref.n,
		(double)wire / (double)ref.n);
	CHECK(ref.n > 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(c.sent, ref.n); /* the exit delivered everything */
	CHECK_EQ(c.dropped, 0);
	CHECK_EQ(c.queued, 0);
	CHECK_EQ(rows, c.sent); /* rows consumed = what was counted */
	CHECK_EQ(seen, ref.n);	/* each record once */
	CHECK_EQ(decoded, rows);
	CHECK(maxrows <= k->max_rows);
	CHECK(maxlen <= k->max_bytes);
	if (k->max_rows > 1)
		CHECK(m.n > (size_t)k->polls); /* max_rows split the polls */
	if (k->compressed)
		CHECK(wire < payload * 7 / 10);
	else
		CHECK(wire >= payload);
	if (!lz4_wire)
		lz4_wire = (double)wire / (double)ref.n;
	if (k->vs_lz4) {
		double d = (double)wire / (double)ref.n - lz4_wire;
		CHECK(d > 0.15 * lz4_wire || d < -0.15 * lz4_wire);
	}
	int lagging;
	CHECK_EQ(kt_accounted_lag(td.epath, url, &lagging), 0);
	CHECK_EQ(lagging, 0);
	CHECK_EQ(kt_said(td.epath, url, NULL), 0); /* nothing went wrong */
	kt_msgs_free(&m);
	st_set_free(&ref);
	kt_broker_stop(&b);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();
	static const struct dcase cases[] = {
		{ "protobuf-list, lz4 (default)", "max_rows=300",
		  SINK_FMT_PROTOBUF_LIST, 300, 900000, 2, 1, 0 },
		{ "protobuf-list, none", "compression=none&max_rows=300",
		  SINK_FMT_PROTOBUF_LIST, 300, 900000, 2, 0, 0 },
		{ "protobuf-list, gzip", "compression=gzip&max_rows=300",
		  SINK_FMT_PROTOBUF_LIST, 300, 900000, 2, 1, 1 },
		{ "protobuf-list, snappy", "compression=snappy&max_rows=300",
		  SINK_FMT_PROTOBUF_LIST, 300, 900000, 2, 1, 1 },
		{ "protobuf-list, zstd", "compression=zstd&max_rows=300",
		  SINK_FMT_PROTOBUF_LIST, 300, 900000, 2, 1, 1 },
		/* the byte bound splits, not the row bound */
		{ "protobuf-list, max_bytes=20000", "max_bytes=20000",
		  SINK_FMT_PROTOBUF_LIST, 10000, 20000, 2, 1, 0 },
		{ "protobuf, one record per message", "format=protobuf",
		  SINK_FMT_PROTOBUF, 1, 900000, 2, 1, 0 },
		/* ~3 KB a record: one poll stays within the mock's 5 MB */
		{ "json, one object per message",
		  "format=json&compression=zstd", SINK_FMT_JSON, 1, 900000, 1,
		  1, 0 },
	};

	st_sandbox();
	CHECK(st_make_conns(500) >= 1000);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(bin, &cases[i]);
	return check_exit();
}
