/*
 * test_proto_encode.c - our protobuf encoder and the batch framing,
 * decoded by protobuf-c and compared field by field with the JSON
 * marshaller's view of the same records.
 */
#include "sink_test.h"

#include "record/json.h"
#include "record/proto.h"
#include "sink/batch.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	return check_rand(&rng);
}

static const char *strs[] = { "vm", "host", "", "a\"b\\c\x01", "ns-1", NULL };

/* Random bytes everywhere, then the members with rules made valid. */
static void random_record(struct ts_record *r)
{
	unsigned char *p = (unsigned char *)r;
	for (size_t i = 0; i < sizeof(*r); i++)
		p[i] = (unsigned char)rnd();
	for (size_t i = 0; i < ts_nfields; i++) {
		const struct ts_field *f = &ts_fields[i];
		if (f->kind == TS_FK_STRPTR) {
			const char *s = strs[rnd() % 6];
			memcpy(p + f->offset, &s, sizeof(s));
		}
	}
	/* small values too, so every varint length is exercised */
	if (rnd() % 2)
		r->record_counter = rnd() % 300;
	if (rnd() % 2)
		r->info.rtt = (uint32_t)(rnd() % 200);
	r->timestamp_ns &= INT64_MAX; /* int64 on the wire */
	r->family = rnd() % 2 ? AF_INET : AF_INET6;
	r->state = (uint8_t)(rnd() % 14);
	strcpy(r->cong, rnd() % 2 ? "cubic" : "");
	r->present = (uint32_t)rnd();
	r->tcp_info_size = (uint16_t)(rnd() % (sizeof(r->info) + 40));
}

static int check_one(const struct ts_record *r)
{
	static uint8_t buf[PROTO_RECORD_MAX];
	static char json[JSON_RECORD_MAX];
	size_t n = 0, jn;
	st_msg *m;
	int bad;

	if (proto_record(buf, sizeof(buf), r, &n) != 0)
		return 1;
	jn = json_record(json, sizeof(json), r);
	if (jn == 0)
		return 1;
	json[jn] = '\0';
	m = xtcp_flat_record__v1__xtcp_flat_record__unpack(NULL, n, buf);
	if (!m)
		return 1;
	bad = st_compare(json, m);
	xtcp_flat_record__v1__xtcp_flat_record__free_unpacked(m, NULL);
	/* too small a buffer fails cleanly, at every size */
	for (size_t cap = 0; cap < n; cap += 1 + cap / 8) {
		size_t out = 12345;
		if (proto_record(buf, cap, r, &out) != -EMSGSIZE ||
		    out != 12345)
			bad++;
	}
	return bad;
}

static void test_records(void)
{
	static struct ts_record r;
	int bad = 0;

	memset(&r, 0, sizeof(r));
	CHECK(check_one(&r) == 0); /* all defaults: an empty message */
	for (int i = 0; i < 3000; i++) {
		random_record(&r);
		if (i % 3 == 0) { /* everything present */
			r.present = ~0u;
			r.tcp_info_size = sizeof(r.info);
		}
		bad += check_one(&r);
	}
	CHECK_EQ(bad, 0);

	/* values checked directly, not only against JSON */
	uint8_t buf[PROTO_RECORD_MAX];
	size_t n;
	memset(&r, 0, sizeof(r));
	r.record_counter = 300;
	r.family = AF_INET6;
	r.src[15] = 1;
	r.present = 1u << 2; /* INET_DIAG_INFO */
	r.tcp_info_size = sizeof(r.info);
	r.info.rtt = 1234;
	r.info.pacing_rate = UINT64_MAX;
	CHECK(proto_record(buf, sizeof(buf), &r, &n) == 0);
	st_msg *m =
		xtcp_flat_record__v1__xtcp_flat_record__unpack(NULL, n, buf);
	CHECK(m && m->record_counter == 300 && m->tcp_info_rtt == 1234 &&
	      m->tcp_info_pacing_rate == UINT64_MAX &&
	      m->inet_diag_msg_socket_source.len == 16 &&
	      m->inet_diag_msg_socket_source.data[15] == 1 &&
	      m->inet_diag_msg_family == AF_INET6 && m->tcp_info_size == 280);
	xtcp_flat_record__v1__xtcp_flat_record__free_unpacked(m, NULL);
}

/* --- batch ----------------------------------------------------------- */

static struct st_buf got;
static uint32_t max_bytes_seen, max_rows_seen, payloads, rows_seen;

static void collect(void *ctx, const struct batch_payload *p, unsigned n)
{
	(void)ctx;
	for (unsigned i = 0; i < n; i++) {
		st_buf_add(&got, p[i].data, p[i].len);
		st_buf_cut(&got, p[i].len);
		if (p[i].len > max_bytes_seen)
			max_bytes_seen = (uint32_t)p[i].len;
		if (p[i].rows > max_rows_seen)
			max_rows_seen = p[i].rows;
		rows_seen += p[i].rows;
		payloads++;
	}
}

static void run_batch(enum sink_format fmt, uint32_t max_bytes,
		      uint32_t max_rows, size_t arena, unsigned maxpl, int nrec)
{
	static struct ts_record r;
	static char json[JSON_RECORD_MAX];
	struct batch b;
	struct st_set ref;
	struct st_buf jl = { 0 };
	int bad = 0, oversize = 0;

	memset(&got, 0, sizeof(got));
	max_bytes_seen = max_rows_seen = payloads = rows_seen = 0;
	CHECK(batch_init(&b, fmt, max_bytes, max_rows, arena, maxpl, collect,
			 NULL) == 0);
	for (int i = 0; i < nrec; i++) {
		random_record(&r);
		r.record_counter = (uint64_t)i + 1;
		if (i % 7 == 0)
			r.present = 0; /* small records: 1-byte row lengths */
		size_t jn = json_record(json, sizeof(json), &r);
		if (batch_add(&b, &r) < 0) {
			oversize++;
			continue;
		}
		st_buf_add(&jl, json, jn);
	}
	batch_flush(&b);
	batch_release(&b);
	batch_release(NULL);
	st_set_load(&ref, NULL, jl.p, jl.len);
	CHECK(max_bytes_seen <= max_bytes);
	CHECK(max_rows_seen <= max_rows);
	CHECK_EQ(rows_seen + (uint32_t)oversize, (uint32_t)nrec);
	/* each payload decodes alone: a record is never split */
	size_t off = 0;
	long total = 0;
	for (size_t i = 0; i < got.ncut; i++) {
		long k = st_check(fmt, got.p + off, got.cut[i], &ref, &bad);
		CHECK(k > 0);
		total += k;
		off += got.cut[i];
	}
	CHECK_EQ(total, rows_seen);
	CHECK_EQ(bad, 0);
	if (fmt == SINK_FMT_PROTOBUF_LIST) /* one varint + one Envelope */
		for (size_t i = 0, o = 0; i < got.ncut; o += got.cut[i++]) {
			const uint8_t *p = got.p + o;
			uint64_t len;
			CHECK(st_varint(&p, got.p + o + got.cut[i], &len) ==
				      0 &&
			      p + len == got.p + o + got.cut[i]);
		}
	free(got.p);
	free(got.cut);
	free(jl.p);
	free(ref.text);
	free(ref.line);
	free(ref.counter);
	free(ref.seen);
}

static void test_batch(void)
{
	enum sink_format fmts[] = { SINK_FMT_PROTOBUF_LIST, SINK_FMT_PROTOBUF,
				    SINK_FMT_JSON };
	for (int i = 0; i < 3; i++) {
		run_batch(fmts[i], 65507, 1000, 1 << 20, 64, 3000);
		CHECK(payloads > 1);
		run_batch(fmts[i], 4000, 3, 1 << 16, 8, 500); /* row limit */
		CHECK(max_rows_seen == 3);
		run_batch(fmts[i], 3000, 1000, 0, 4, 500); /* tiny arena */
		run_batch(fmts[i], 1 << 20, 100000, 0, 2, 2000); /* one frame */
	}
	/* every record alone too large: all dropped, nothing emitted */
	run_batch(SINK_FMT_PROTOBUF_LIST, 100, 1000, 0, 4, 50);
	CHECK(payloads == 0 || rows_seen < 50);
}

int main(void)
{
	test_records();
	test_batch();
	return check_exit();
}
