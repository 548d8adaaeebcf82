/*
 * test_replies.c - whole reply datagrams captured from real kernels, fed to
 * the parser as a receiver would: single replies, a sequence of dumps, and
 * a large dump split into 40 datagrams. Every record is also marshalled to
 * JSON and validated, which exercises json.c on real data.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "check.h"
#include "json_check.h"
#include "netlink/nl_parse.h"
#include "record/json.h"
#include "unit_util.h"

/* Attributes `ss -tia` asks for, as every non-time-wait reply carries. */
#define SS_ATTRS                                                               \
	((1u << INET_DIAG_MEMINFO) | (1u << INET_DIAG_INFO) |                  \
	 (1u << INET_DIAG_CONG) | (1u << INET_DIAG_TOS) |                      \
	 (1u << INET_DIAG_SKMEMINFO) | (1u << INET_DIAG_SHUTDOWN) |            \
	 (1u << INET_DIAG_CLASS_ID) | (1u << INET_DIAG_CGROUP_ID) |            \
	 (1u << INET_DIAG_SOCKOPT))

#define MAX_COOKIES 4096

struct tally {
	uint64_t records;
	uint64_t bad;	    /* records failing the sanity checks */
	unsigned info_size; /* expected tcp_info size, 0: any */
	size_t ncookies;
	uint64_t cookies[MAX_COOKIES];
	struct ts_record last;
};

static struct jc_obj jobj; /* large: keep it off the stack */

static int sane(const struct ts_record *r, unsigned info_size)
{
	char buf[JSON_RECORD_MAX];
	size_t n = json_record(buf, sizeof(buf), r);

	if (!n || jc_line(buf, n, &jobj)) {
		fprintf(stderr, "invalid JSON (%s at %zu): %.*s\n",
			jobj.err ? jobj.err : "no output", jobj.errpos, (int)n,
			buf);
		return 0;
	}
	if (r->family != AF_INET && r->family != AF_INET6)
		return 0;
	if (r->state == 6) /* time-wait: the kernel sends no attributes */
		return r->present == 0;
	if (r->present != SS_ATTRS)
		return 0;
	if (info_size && r->tcp_info_size != info_size)
		return 0;
	return strcmp(r->cong, "cubic") == 0 && r->cong_enum == TS_CONG_CUBIC &&
	       r->info.state == r->state;
}

static int on_rec(struct ts_record *r, void *arg)
{
	struct tally *t = arg;

	t->records++;
	if (!sane(r, t->info_size)) {
		fprintf(stderr,
			"bad record %" PRIu64 ": state %u family %u "
			"present %#x info %u\n",
			t->records, r->state, r->family, r->present,
			r->tcp_info_size);
		t->bad++;
	}
	if (t->ncookies < MAX_COOKIES)
		t->cookies[t->ncookies++] = r->cookie;
	t->last = *r;
	return 0;
}

static uint32_t u32_at(const unsigned char *b, size_t off)
{
	uint32_t v;
	memcpy(&v, b + off, sizeof(v));
	return v;
}

/* netlink_sock_diag_response_portN: one record, of a socket on port N. */
static void test_single_reply(const char *dir, const char *name)
{
	char path[PATH_MAX];
	size_t len = 0;
	struct nl_parser p;
	struct tally t = { .info_size = 240 };
	unsigned long port = strtoul(strstr(name, "_port") + 5, NULL, 10);

	unsigned char *b =
		ut_read_file(ut_path(path, sizeof(path), dir, name), &len);
	if (!b || len < 16) {
		fprintf(stderr, "%s: unreadable\n", path);
		check_failures++;
		free(b);
		return;
	}
	nl_parser_init(&p, 0, 0, 0, on_rec, &t);
	CHECK_EQ(nl_parser_feed(&p, b, len), 0);
	CHECK_EQ(p.error, 0);
	CHECK_EQ(t.records, 1);
	CHECK_EQ(t.bad, 0);
	CHECK_EQ(p.unknown_attrs, 0);
	CHECK(t.last.sport == port || t.last.dport == port);
	CHECK_EQ(t.last.state, 1);
	CHECK_EQ(t.last.family, AF_INET);
	CHECK(memcmp(t.last.src, "\x7f\0\0\x01", 4) == 0);

	/* the reply's own seq and port pass the checks; others do not */
	uint32_t seq = u32_at(b, 8), pid = u32_at(b, 12);
	const unsigned both = NL_PARSE_CHECK_SEQ | NL_PARSE_CHECK_PORT;
	nl_parser_init(&p, seq, pid, both, NULL, NULL);
	CHECK_EQ(nl_parser_feed(&p, b, len), 0);
	nl_parser_init(&p, seq + 1, pid, both, NULL, NULL);
	CHECK_EQ(nl_parser_feed(&p, b, len), -EPROTO);
	nl_parser_init(&p, seq, pid + 1, both, NULL, NULL);
	CHECK_EQ(nl_parser_feed(&p, b, len), -EPROTO);
	free(b);
}

static void test_single_replies(const char *fx)
{
	static const char *const dirs[] = { "4_19_319", "5_4_281", "6_1_103",
					    "6_6_44", "6_8_12" };
	const char *prefix = "netlink_sock_diag_response_port";
	char dir[PATH_MAX];
	int seen = 0;

	for (size_t d = 0; d < 5; d++) {
		char **names;
		size_t n = ut_list_dir(ut_path(dir, sizeof(dir), fx, dirs[d]),
				       &names);
		for (size_t i = 0; i < n; i++) {
			if (strncmp(names[i], prefix, strlen(prefix)) ||
			    strchr(names[i], '.'))
				continue;
			test_single_reply(dir, names[i]);
			seen++;
		}
		ut_free_names(names, n);
	}
	CHECK_EQ(seen, 3);
}

/* A DONE whose capture lost the 4-byte status: the header claims 20 bytes
 * but 16 arrived, so it must be rejected as malformed, not read past. */
static void test_torn_done(const char *fx)
{
	char path[PATH_MAX];
	size_t len = 0;
	struct nl_parser p;

	unsigned char *b =
		ut_read_file(ut_path(path, sizeof(path), fx,
				     "6_6_44/netlink_end_of_dump_bytes"),
			     &len);
	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_EQ(len, 16);
	CHECK_EQ(u32_at(b, 0), 20);
	nl_parser_init(&p, 0, 0, 0, NULL, NULL);
	CHECK_EQ(nl_parser_feed(&p, b, len), -EBADMSG);
	CHECK_EQ(p.done, 0);
	free(b);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static size_t unique_cookies(struct tally *t)
{
	size_t u = t->ncookies ? 1 : 0;
	qsort(t->cookies, t->ncookies, sizeof(t->cookies[0]), cmp_u64);
	for (size_t i = 1; i < t->ncookies; i++)
		u += t->cookies[i] != t->cookies[i - 1];
	return u;
}

/*
 * Feeds every datagram file of `dir` in name (= arrival) order. A new
 * parser starts whenever the datagram's sequence number changes or the
 * previous dump is done, with strict seq/port checks, as the poller runs.
 */
static void feed_dir(const char *dir, struct tally *t, uint64_t *dumps,
		     uint64_t *dones, uint64_t *files)
{
	static struct nl_parser p;
	char path[PATH_MAX], **names;
	size_t n = ut_list_dir(dir, &names);
	int have = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		unsigned char *b = ut_read_file(
			ut_path(path, sizeof(path), dir, names[i]), &len);
		if (!b) /* the 20k/ subfolder */
			continue;
		(*files)++;
		uint32_t seq = len >= 16 ? u32_at(b, 8) : 0;
		if (!have || p.done || seq != p.seq) {
			nl_parser_init(&p, seq, len >= 16 ? u32_at(b, 12) : 0,
				       NL_PARSE_CHECK_SEQ | NL_PARSE_CHECK_PORT,
				       on_rec, t);
			have = 1;
			(*dumps)++;
		}
		int rc = nl_parser_feed(&p, b, len);
		if (rc != (len == 20 ? 1 : 0) || p.error || p.dump_intr) {
			fprintf(stderr, "%s: rc %d (%s)\n", path, rc, p.errmsg);
			check_failures++;
		}
		*dones += rc == 1;
		free(b);
	}
	ut_free_names(names, n);
}

static void test_capture_sequence(const char *fx)
{
	static struct tally t = { .info_size = 248 };
	char dir[PATH_MAX];
	uint64_t dumps = 0, dones = 0, files = 0;

	feed_dir(ut_path(dir, sizeof(dir), fx, "netlink_packets_capture"), &t,
		 &dumps, &dones, &files);
	printf("netlink_packets_capture: %" PRIu64 " datagrams, %" PRIu64
	       " dumps, %" PRIu64 " done, %" PRIu64 " records\n",
	       files, dumps, dones, t.records);
	CHECK_EQ(files, 40);
	CHECK_EQ(dones, 14);
	/* seqs 666..748 step 2; some datagrams were not kept, and seq 666
	 * has datagrams after its DONE: 29 runs of the parser */
	CHECK_EQ(dumps, 29);
	CHECK_EQ(t.records, 740);
	CHECK_EQ(t.bad, 0);
}

/*
 * The "20k" folder: 40 consecutive datagrams of one dump (seq 666). They
 * hold 2777 sockets, not 20,000, and no NLMSG_DONE: the rest of the dump
 * was not kept. Every socket must come out once.
 */
static void test_20k(const char *fx)
{
	static struct tally t = { .info_size = 248 };
	char dir[PATH_MAX];
	uint64_t dumps = 0, dones = 0, files = 0;

	feed_dir(ut_path(dir, sizeof(dir), fx, "netlink_packets_capture/20k"),
		 &t, &dumps, &dones, &files);
	printf("20k: %" PRIu64 " datagrams, %" PRIu64 " records\n", files,
	       t.records);
	CHECK_EQ(files, 40);
	CHECK_EQ(dumps, 1);
	CHECK_EQ(dones, 0);
	CHECK_EQ(t.records, 2777);
	CHECK_EQ(t.bad, 0);
	CHECK_EQ(unique_cookies(&t), 2777);
}

int main(void)
{
	const char *fx = check_fixtures();

	test_single_replies(fx);
	test_torn_done(fx);
	test_capture_sequence(fx);
	test_20k(fx);
	return check_exit();
}
