/*
 * kafka_test.h - helpers of the 'kafka' suite (on top of sink_test.h): the
 * mock broker (mock_broker.c, librdkafka's mock cluster in a process of
 * its own), a real consumer (Debian's kcat) that reads every message of
 * the topic, the checks of each message (exactly one frame, decoded with
 * protobuf-c against tcpscope's JSON of the same run, and with
 * `protoc --decode`), and the Kafka destination's summary counters.
 * Header-only (static functions): each test is one executable.
 */
#ifndef TS_KAFKA_TEST_H
#define TS_KAFKA_TEST_H

#include "record/proto.h"
#include "sink_test.h"

/* --- the broker ------------------------------------------------------ */

struct kt_broker {
	pid_t pid;
	FILE *in, *out; /* its stdin (commands) and stdout (answers) */
	char boot[128]; /* bootstrap HOST:PORT */
};

/* Starts mock_broker TOPIC PARTITIONS; skips (77) when it or kcat is not
 * there. It quits at EOF of its stdin, so it dies with the test. */
static inline void kt_broker_start(struct kt_broker *b, const char *topic,
				   int partitions)
{
	const char *bin = getenv("TCPSCOPE_MOCK_BROKER");
	const char *kcat = getenv("TCPSCOPE_KCAT");
	char parts[16], line[256];
	int in[2], out[2];

	if (!bin || access(bin, X_OK) != 0)
		TEST_SKIP("mock_broker not built (librdkafka-dev missing?)");
	if (!kcat || access(kcat, X_OK) != 0)
		TEST_SKIP("kcat not installed (Debian package kcat)");
	CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	snprintf(parts, sizeof(parts), "%d", partitions);
	b->pid = fork();
	if (b->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(bin, bin, topic, parts, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	b->in = fdopen(in[1], "w");
	b->out = fdopen(out[0], "r");
	if (!fgets(line, sizeof(line), b->out) ||
	    sscanf(line, "bootstrap %127s", b->boot) != 1) {
		fprintf(stderr, "mock_broker did not start\n");
		exit(1);
	}
}

/* "down", "up", "error CODE N": waits for its "ok". */
static inline void kt_broker_cmd(struct kt_broker *b, const char *cmd)
{
	char line[64];

	fprintf(b->in, "%s\n", cmd);
	fflush(b->in);
	CHECK(fgets(line, sizeof(line), b->out) != NULL &&
	      strncmp(line, "ok", 2) == 0);
}

static inline void kt_broker_stop(struct kt_broker *b)
{
	fclose(b->in); /* EOF: it quits */
	fclose(b->out);
	CHECK_EQ(st_wait(b->pid, 10000), 0);
}

/* --- the consumer ---------------------------------------------------- */

struct kt_msgs {
	uint8_t *p; /* kcat's output: per message a 4-byte length + value */
	size_t len;
	size_t n;
	const uint8_t **msg; /* into p */
	size_t *mlen;
	const char **meta; /* with kt_consume_keyed: "PARTITION KEY" */
};

/* kcat -C ... -f FMT -o beginning -e: every message of the topic, to
 * `path`. 0 when kcat succeeded. */
static inline int kt_kcat(const struct kt_broker *b, const char *topic,
			  const char *fmt, const char *path)
{
	char *argv[] = { (char *)getenv("TCPSCOPE_KCAT"),
			 "-C",
			 "-b",
			 (char *)b->boot,
			 "-t",
			 (char *)topic,
			 "-o",
			 "beginning",
			 "-e",
			 "-q",
			 "-f",
			 (char *)fmt,
			 NULL };
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return st_wait(pid, 60000);
}

/* Every message of the topic, each as kcat's 4-byte length + value;
 * keyed: followed by "PARTITION KEY\n" (m->meta, NUL-terminated). */
static inline void kt_consume_fmt(const struct kt_broker *b, const char *topic,
				  const char *dir, struct kt_msgs *m, int keyed)
{
	char path[256];
	struct st_buf buf = { 0 };
	uint8_t tmp[65536];
	size_t n, off = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/consumed", dir);
	CHECK_EQ(kt_kcat(b, topic, keyed ? "%R%s%p %k\n" : "%R%s", path), 0);
	f = fopen(path, "r");
	while (f && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		st_buf_add(&buf, tmp, n);
	if (f)
		fclose(f);
	m->p = buf.p;
	m->len = buf.len;
	while (off + 4 <= m->len) {
		size_t l = (size_t)m->p[off] << 24 |
			   (size_t)m->p[off + 1] << 16 |
			   (size_t)m->p[off + 2] << 8 | m->p[off + 3];
		uint8_t *nl = NULL;
		if (off + 4 + l > m->len)
			break;
		if (keyed && !(nl = memchr(m->p + off + 4 + l, '\n',
					   m->len - off - 4 - l)))
			break;
		m->msg = realloc(m->msg, (m->n + 1) * sizeof(*m->msg));
		m->mlen = realloc(m->mlen, (m->n + 1) * sizeof(*m->mlen));
		m->meta = realloc(m->meta, (m->n + 1) * sizeof(*m->meta));
		m->msg[m->n] = m->p + off + 4;
		m->mlen[m->n] = l;
		m->meta[m->n++] = nl ? (const char *)m->p + off + 4 + l : "";
		off += 4 + l;
		if (nl) {
			*nl = '\0';
			off = (size_t)(nl + 1 - m->p);
		}
	}
	CHECK_EQ(off, m->len); /* kcat's framing, whole */
}

static inline void kt_consume(const struct kt_broker *b, const char *topic,
			      const char *dir, struct kt_msgs *m)
{
	kt_consume_fmt(b, topic, dir, m, 0);
}

static inline void kt_msgs_free(struct kt_msgs *m)
{
	free(m->p);
	free(m->msg);
	free(m->mlen);
	free(m->meta);
}

/* --- the messages ---------------------------------------------------- */

/* Checks that message i is exactly one frame of fmt, with no header of
 * anyone's: protobuf-list one varint(len) + Envelope, protobuf one
 * varint(len) + record, json one object without a newline. Decodes it with
 * protobuf-c (marking its records seen in ref, comparing each field with
 * the JSON). Returns its records, or -1. */
static inline long kt_check_msg(enum sink_format fmt, const uint8_t *p,
				size_t n, struct st_set *ref, int *bad)
{
	const uint8_t *q = p;
	uint64_t len;

	if (fmt == SINK_FMT_JSON) {
		char *line = malloc(n + 1);
		long got;
		if (!n || p[0] != '{' || p[n - 1] != '}' ||
		    memchr(p, '\n', n)) {
			free(line);
			return -1;
		}
		memcpy(line, p, n);
		line[n] = '\n';
		got = st_check_json((uint8_t *)line, n + 1, ref, bad);
		free(line);
		return got == 1 ? 1 : -1;
	}
	if (st_varint(&q, p + n, &len) < 0 || len != (uint64_t)(p + n - q))
		return -1; /* not exactly one frame */
	long got = st_check_proto(fmt, p, n, ref, bad);
	return fmt == SINK_FMT_PROTOBUF && got != 1 ? -1 : got;
}

/* Every message through kt_check_msg(): the records of all, or -1 when
 * one is not a frame (counted in *bad). maxrows, maxlen: the largest. */
static inline long kt_check_all(enum sink_format fmt, const struct kt_msgs *m,
				struct st_set *ref, int *bad, long *maxrows,
				size_t *maxlen)
{
	long rows = 0;

	*maxrows = 0;
	*maxlen = 0;
	for (size_t i = 0; i < m->n; i++) {
		long r = kt_check_msg(fmt, m->msg[i], m->mlen[i], ref, bad);
		if (r < 0) {
			if ((*bad)++ < 3)
				fprintf(stderr,
					"message %zu (%zu bytes) is "
					"not one frame\n",
					i, m->mlen[i]);
			continue;
		}
		rows += r;
		if (r > *maxrows)
			*maxrows = r;
		if (m->mlen[i] > *maxlen)
			*maxlen = m->mlen[i];
	}
	return rows;
}

static inline int kt_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* protobuf-list messages decoded with protobuf-c, without a reference:
 * the rows, and in *dups the record_counters seen more than once; -1
 * when a message does not decode. */
static inline long kt_count_rows(const struct kt_msgs *m, long *dups)
{
	uint64_t *ctr = NULL;
	size_t n = 0;

	*dups = 0;
	for (size_t i = 0; i < m->n; i++) {
		const uint8_t *q = m->msg[i];
		uint64_t len;
		XtcpFlatRecord__V1__Envelope *env;
		if (st_varint(&q, m->msg[i] + m->mlen[i], &len) < 0 ||
		    !(env = xtcp_flat_record__v1__envelope__unpack(
			      NULL, (size_t)len, q))) {
			free(ctr);
			return -1;
		}
		ctr = realloc(ctr, (n + env->n_row) * sizeof(*ctr));
		for (size_t r = 0; r < env->n_row; r++)
			ctr[n++] = env->row[r]->record_counter;
		xtcp_flat_record__v1__envelope__free_unpacked(env, NULL);
	}
	if (n)
		qsort(ctr, n, sizeof(*ctr), kt_cmp_u64);
	for (size_t i = 1; i < n; i++)
		*dups += ctr[i] == ctr[i - 1];
	free(ctr);
	return (long)n;
}

/* VmRSS of pid in KiB (0 when gone). */
static inline unsigned long kt_rss_kib(pid_t pid)
{
	char path[64], line[256];
	unsigned long kib = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lu", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* `protoc --decode` of every protobuf message, as the schema's reference
 * decoder: one Envelope made of them (Envelopes concatenated are one
 * Envelope with all their rows; records become its rows, field 10, byte
 * for byte). The rows protoc printed, or -1 when it refused. */
static inline long kt_protoc(enum sink_format fmt, const struct kt_msgs *m,
			     const char *dir)
{
	const char *protoc = getenv("PROTOC"),
		   *proto = getenv("TCPSCOPE_PROTO");
	char in[256], out[256], cmd[2048], line[512], incl[512];
	FILE *f;
	long rows = 0;

	if (!protoc || !proto)
		TEST_SKIP(
			"protoc not found (Debian package protobuf-compiler)");
	snprintf(in, sizeof(in), "%s/protoc.in", dir);
	snprintf(out, sizeof(out), "%s/protoc.out", dir);
	f = fopen(in, "w");
	for (size_t i = 0; f && i < m->n; i++) {
		const uint8_t *q = m->msg[i];
		uint8_t head[16];
		uint64_t len;
		if (st_varint(&q, m->msg[i] + m->mlen[i], &len) < 0)
			continue;
		if (fmt == SINK_FMT_PROTOBUF) {
			size_t h = 1;
			head[0] = 0x52; /* field 10, length-delimited */
			h += proto_varint_put(head + 1, len);
			fwrite(head, 1, h, f);
		}
		fwrite(q, 1, (size_t)len, f);
	}
	if (f)
		fclose(f);
	snprintf(incl, sizeof(incl), "%s", proto);
	*strrchr(incl, '/') = '\0';
	snprintf(cmd, sizeof(cmd),
		 "%s --proto_path=%s --decode=xtcp_flat_record.v1.Envelope "
		 "%s < %s > %s",
		 protoc, incl, proto, in, out);
	if (system(cmd) != 0)
		return -1;
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f))
		rows += strncmp(line, "row {", 5) == 0;
	if (f)
		fclose(f);
	return rows;
}

/* Bytes through this network namespace's loopback (each byte on the
 * wire once: what lo received), from /proc/self/net/dev. */
static inline uint64_t kt_lo_bytes(void)
{
	FILE *f = fopen("/proc/self/net/dev", "r");
	char line[512];
	unsigned long long rx = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " lo: %llu", &rx) == 1)
			break;
	if (f)
		fclose(f);
	return rx;
}

static inline size_t kt_payload_bytes(const struct kt_msgs *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n; i++)
		n += m->mlen[i];
	return n;
}

/* --- tcpscope's counters --------------------------------------------- */

struct kt_counts {
	unsigned long long sent, dropped, oversize, errors, queued;
	unsigned long long drop[SINK_DROP_COUNT];
};

/* The counters in `line` for destination `url`; 0, or -1 when absent
 * (*out untouched). */
static inline int kt_parse(const char *line, const char *url,
			   struct kt_counts *out)
{
	struct kt_counts cc, *c = &cc;
	char pat[1024];
	const char *p;
	int n = 0;

	snprintf(pat, sizeof(pat), "%s: ", url);
	p = strstr(line, pat);
	if (!p ||
	    sscanf(p + strlen(pat),
		   "%llu sent, %llu dropped (%llu oversize), %llu "
		   "errors, %llu queued (dropped:%n",
		   &c->sent, &c->dropped, &c->oversize, &c->errors, &c->queued,
		   &n) != 5 ||
	    !n)
		return -1;
	p += strlen(pat) + (size_t)n;
	for (int r = 0; r < SINK_DROP_COUNT; r++) {
		char *end;
		c->drop[r] = strtoull(p, &end, 10);
		if (end == p)
			return -1;
		p = strchr(end, r + 1 < SINK_DROP_COUNT ? ',' : ')');
		if (!p)
			return -1;
		p++;
	}
	*out = cc;
	return 0;
}

/* The counters of the last line of err_path naming url. */
static inline int kt_last(const char *err_path, const char *url,
			  struct kt_counts *c)
{
	FILE *f = fopen(err_path, "r");
	char line[8192];
	int found = -1;

	memset(c, 0, sizeof(*c));
	while (f && fgets(line, sizeof(line), f))
		if (kt_parse(line, url, c) == 0)
			found = 0;
	if (f)
		fclose(f);
	return found;
}

/* Every summary line of err_path: sent + dropped + queued equals the
 * records written so far (the sum of the polls' sockets, or at exit the
 * total). Returns the lines that do not add up; *lagging (may be NULL)
 * gets the poll lines whose sent + dropped is short of what was written
 * up to the poll before (each poll's delivery reports are served by the
 * next one at the latest). The first few are printed. */
static inline int kt_accounted_lag(const char *err_path, const char *url,
				   int *lagging)
{
	FILE *f = fopen(err_path, "r");
	char line[8192];
	unsigned long long written = 0, before = 0, k;
	int bad = 0, lag = 0, poll;
	struct kt_counts c;

	while (f && fgets(line, sizeof(line), f)) {
		poll = sscanf(line, "tcpscope: poll %*u: %llu sockets", &k) ==
		       1;
		if (poll)
			written += k;
		if (kt_parse(line, url, &c) < 0)
			continue;
		if (c.sent + c.dropped + c.queued != written && bad++ < 3)
			fprintf(stderr,
				"not accounted: %llu sent + %llu dropped + "
				"%llu queued != %llu written: %s",
				c.sent, c.dropped, c.queued, written, line);
		if (poll && c.sent + c.dropped < before && lag++ < 3)
			fprintf(stderr,
				"lags: %llu sent + %llu dropped < %llu: %s",
				c.sent, c.dropped, before, line);
		if (poll)
			before = written;
	}
	if (f)
		fclose(f);
	if (lagging)
		*lagging = lag;
	return bad;
}

static inline int kt_accounted(const char *err_path, const char *url)
{
	return kt_accounted_lag(err_path, url, NULL);
}

/* Lines of err_path that name url and are not summary lines: what the
 * destination said. */
static inline int kt_said(const char *err_path, const char *url,
			  const char *word)
{
	FILE *f = fopen(err_path, "r");
	char line[8192], pat[1024];
	int n = 0;

	snprintf(pat, sizeof(pat), "tcpscope: %s: ", url);
	while (f && fgets(line, sizeof(line), f))
		n += strncmp(line, pat, strlen(pat)) == 0 &&
		     (!word || strstr(line, word));
	if (f)
		fclose(f);
	return n;
}

#endif
