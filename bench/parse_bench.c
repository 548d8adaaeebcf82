/*
 * parse_bench.c - user-space cost per socket: parse, and parse + a format.
 *
 * Usage: parse_bench [-r REPS] [-m MODES] [DIR]
 *
 * Loads every file of DIR (default: $TCPSCOPE_FIXTURES or the project's
 * fixtures folder, then netlink_packets_capture/20k/) into memory once; each
 * file is one datagram of a real SOCK_DIAG dump. Then, REPS times, feeds the
 * datagrams in name order to nl_parser_feed() (re-initialised per
 * repetition), first with a callback that only touches the record, then with
 * ones that also render it into a reused buffer, as a sink would before
 * write(): json_record(), proto_record(), and batch_add() in protobuf-list
 * framing with the file destination's batch sizes (the payloads emitted to
 * nowhere). -m picks the modes, comma-separated (default
 * parse,json,proto,pbl). No syscalls in the timed loops, so this is the
 * part of tcpscope's per-socket cost that the kernel does not pay. The timed
 * passes run inside timed_passes(), so `valgrind --tool=callgrind
 * --toggle-collect=timed_passes` counts instructions of those alone.
 * Exits 0 with a "skipped" line when the captures are absent.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "netlink/nl_parse.h"
#include "record/json.h"
#include "record/proto.h"
#include "sink/batch.h"

#ifndef TS_FIXTURES_DEFAULT
#define TS_FIXTURES_DEFAULT "../shared/fixtures/sockdiag"
#endif
#define CAPTURE_SUBDIR "/netlink_packets_capture/20k"
#define MAX_FILES      4096
#define JSON_BUF       (64 * 1024) /* a sink-sized buffer, flushed when full */

struct datagram {
	unsigned char *data;
	size_t len;
};

struct corpus {
	struct datagram d[MAX_FILES];
	size_t n;
	size_t bytes;
};

struct bsink {
	char buf[JSON_BUF];
	size_t used;
	uint64_t json_bytes; /* of whichever format the mode renders */
	struct batch batch;  /* pbl mode */
	uint64_t touched; /* keeps the parse-only callback from being empty */
};

struct cost {
	double wall_ns;
	double cpu_ns;
	uint64_t records;
};

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_file(const char *dir, const char *name, struct datagram *d)
{
	char path[4096];
	int pn = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (pn < 0 || (size_t)pn >= sizeof(path))
		return -1;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) < 0) {
		fclose(f);
		return -1;
	}
	long sz = ftell(f);
	rewind(f);
	d->data = sz > 0 ? malloc((size_t)sz) : NULL;
	d->len = d->data && fread(d->data, 1, (size_t)sz, f) == (size_t)sz
			 ? (size_t)sz
			 : 0;
	fclose(f);
	return 0;
}

/* Reads every regular file of `dir`, in name order (= capture order). */
static int load_corpus(const char *dir, struct corpus *c)
{
	DIR *dp = opendir(dir);
	char *names[MAX_FILES];
	size_t nn = 0;
	struct dirent *e;

	if (!dp)
		return -1;
	while ((e = readdir(dp)) && nn < MAX_FILES)
		if (e->d_name[0] != '.')
			names[nn++] = strdup(e->d_name);
	closedir(dp);
	qsort(names, nn, sizeof(names[0]), cmp_names);
	c->n = 0;
	c->bytes = 0;
	for (size_t i = 0; i < nn; i++) {
		if (load_file(dir, names[i], &c->d[c->n]) == 0 &&
		    c->d[c->n].len > 0) {
			c->bytes += c->d[c->n].len;
			c->n++;
		}
		free(names[i]);
	}
	return c->n ? 0 : -1;
}

/* The poller stamps these in place before a sink sees the record. */
static void stamp(struct ts_record *rec)
{
	rec->hostname = "bench-host";
	rec->netns = "";
	rec->timestamp_ns = 1725474762143766565ull;
	rec->poll_seq = 1;
}

static int on_parse_only(struct ts_record *rec, void *arg)
{
	struct bsink *s = arg;
	stamp(rec);
	s->touched += rec->info.bytes_acked + rec->sport;
	return 0;
}

static int on_json(struct ts_record *rec, void *arg)
{
	struct bsink *s = arg;
	stamp(rec);
	if (JSON_BUF - s->used < JSON_RECORD_MAX)
		s->used = 0; /* "flushed" */
	size_t n = json_record(s->buf + s->used, JSON_BUF - s->used, rec);
	if (n == 0)
		return -1;
	s->used += n;
	s->json_bytes += n;
	return 0;
}

static int on_proto(struct ts_record *rec, void *arg)
{
	struct bsink *s = arg;
	size_t n;

	stamp(rec);
	if (JSON_BUF - s->used < PROTO_RECORD_MAX)
		s->used = 0;
	if (proto_record((uint8_t *)s->buf + s->used, JSON_BUF - s->used, rec,
			 &n) < 0)
		return -1;
	s->used += n;
	s->json_bytes += n;
	return 0;
}

static int on_pbl(struct ts_record *rec, void *arg)
{
	struct bsink *s = arg;

	stamp(rec);
	return batch_add(&s->batch, rec) < 0 ? -1 : 0;
}

static void drop_payloads(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct bsink *s = ctx;

	for (unsigned i = 0; i < n; i++)
		s->json_bytes += p[i].len;
}

static double now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
		(double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)) *
	       1e3;
}

/* One pass over the corpus. A datagram after NLMSG_DONE starts a new dump
 * (the capture may hold several), hence the re-init. */
static int one_pass(const struct corpus *c, nl_record_fn fn, struct bsink *s,
		    uint64_t *records)
{
	struct nl_parser p;

	nl_parser_init(&p, 0, 0, 0, fn, s);
	for (size_t i = 0; i < c->n; i++) {
		if (p.done) {
			*records += p.records;
			nl_parser_init(&p, 0, 0, 0, fn, s);
		}
		int rc = nl_parser_feed(&p, c->d[i].data, c->d[i].len);
		if (rc < 0) {
			fprintf(stderr, "parse_bench: datagram %zu: %s (%d)\n",
				i, p.errmsg, rc);
			return -1;
		}
	}
	*records += p.records;
	return 0;
}

/* Not inlined: callgrind's --toggle-collect names it. */
__attribute__((noinline)) static int timed_passes(const struct corpus *c,
						  long reps, nl_record_fn fn,
						  struct bsink *s,
						  uint64_t *records)
{
	for (long r = 0; r < reps; r++)
		if (one_pass(c, fn, s, records) < 0)
			return -1;
	if (s->batch.buf)
		batch_flush(&s->batch);
	return 0;
}

static int measure(const struct corpus *c, long reps, nl_record_fn fn,
		   struct bsink *s, struct cost *out)
{
	uint64_t warm = 0;

	if (one_pass(c, fn, s, &warm) < 0) /* page in, warm caches */
		return -1;
	if (s->batch.buf)
		batch_flush(&s->batch);
	out->records = 0;
	s->json_bytes = 0;
	double w0 = now_ns(CLOCK_MONOTONIC), c0 = cpu_ns();
	if (timed_passes(c, reps, fn, s, &out->records) < 0)
		return -1;
	out->wall_ns = now_ns(CLOCK_MONOTONIC) - w0;
	out->cpu_ns = cpu_ns() - c0;
	return 0;
}

static void report(const char *what, const struct cost *k)
{
	double n = (double)(k->records ? k->records : 1);
	printf("%-12s records=%llu ns_per_record_wall=%.1f "
	       "ns_per_record_cpu=%.1f records_per_s=%.0f\n",
	       what, (unsigned long long)k->records, k->wall_ns / n,
	       k->cpu_ns / n, k->wall_ns > 0 ? n * 1e9 / k->wall_ns : 0.0);
}

static const char *default_dir(char *buf, size_t cap)
{
	const char *root = getenv("TCPSCOPE_FIXTURES");
	if (!root || !*root)
		root = TS_FIXTURES_DEFAULT;
	int n = snprintf(buf, cap, "%s%s", root, CAPTURE_SUBDIR);
	return n < 0 || (size_t)n >= cap ? root : buf;
}

static const struct mode {
	const char *name, *label;
	nl_record_fn fn;
} modes[] = {
	{ "parse", "parse", on_parse_only },
	{ "json", "parse+json", on_json },
	{ "proto", "parse+proto", on_proto },
	{ "pbl", "parse+pbl", on_pbl },
};
#define NMODES (sizeof(modes) / sizeof(modes[0]))

/* The difference line of a format mode: its bytes and ns beyond parse. */
static void report_format(const char *name, const struct cost *k,
			  uint64_t bytes, const struct cost *parse)
{
	double n = (double)(k->records ? k->records : 1);

	printf("%-12s bytes_per_record=%.1f", name, (double)bytes / n);
	if (parse)
		printf(" ns_per_record_cpu=%.1f (difference)",
		       (k->cpu_ns - parse->cpu_ns) / n);
	printf("\n");
}

static int run_modes(const struct corpus *c, long reps, const char *list)
{
	static struct bsink s;
	struct cost parse, k;
	int have_parse = 0;

	for (size_t m = 0; m < NMODES; m++) {
		const char *hit = strstr(list, modes[m].name);
		size_t len = strlen(modes[m].name);
		if (!hit || (hit != list && hit[-1] != ',') ||
		    (hit[len] && hit[len] != ','))
			continue;
		memset(&s.batch, 0, sizeof(s.batch));
		if (modes[m].fn == on_pbl &&
		    batch_init(&s.batch, SINK_FMT_PROTOBUF_LIST, 256 * 1024,
			       1000, 256 * 1024, 256, drop_payloads, &s) < 0)
			return -1;
		s.used = 0;
		int rc = measure(c, reps, modes[m].fn, &s, &k);
		uint64_t bytes = s.json_bytes;
		batch_release(&s.batch);
		if (rc < 0)
			return -1;
		report(modes[m].label, &k);
		if (modes[m].fn == on_parse_only) {
			parse = k;
			have_parse = 1;
		} else {
			report_format(modes[m].name, &k, bytes,
				      have_parse ? &parse : NULL);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct corpus c;
	char dbuf[4096];
	long reps = 200;
	const char *dir = NULL, *list = "parse,json,proto,pbl";

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-m") && i + 1 < argc)
			list = argv[++i];
		else
			dir = argv[i];
	}
	if (reps < 1)
		reps = 1;
	if (!dir)
		dir = default_dir(dbuf, sizeof(dbuf));
	if (load_corpus(dir, &c) < 0) {
		printf("parse_bench: skipped: no captures in %s (set "
		       "TCPSCOPE_FIXTURES)\n",
		       dir);
		return 0;
	}
	printf("parse_bench: %zu datagrams, %zu bytes, %ld repetitions\n", c.n,
	       c.bytes, reps);
	return run_modes(&c, reps, list) < 0 ? 1 : 0;
}
