/*
 * test_parse_errors.c - every failure path of the SOCK_DIAG reply parser,
 * on datagrams built in memory. Each datagram is fed from a heap block of
 * its exact size so that ASan reports any read past the end.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "netlink/nl_parse.h"
#include "unit_util.h"


#define SEQ 4242
#define PID 777

struct sink {
	int calls;
	int stop_at; /* return -ECANCELED on this call (1-based); 0: never */
	uint16_t sports[64];
	struct ts_record last;
};

static int on_rec(struct ts_record *r, void *arg)
{
	struct sink *s = arg;
	if (s->calls < 64)
		s->sports[s->calls] = r->sport;
	s->last = *r;
	s->calls++;
	return s->stop_at && s->calls == s->stop_at ? -ECANCELED : 0;
}

static int feed(struct nl_parser *p, const void *buf, size_t len)
{
	unsigned char *d = ut_dup(buf, len);
	int rc = nl_parser_feed(p, d, len);
	free(d);
	return rc;
}

static void init(struct nl_parser *p, struct sink *s, unsigned flags)
{
	memset(s, 0, sizeof(*s));
	nl_parser_init(p, SEQ, PID, flags, on_rec, s);
}

/* Feeds `nb` to a fresh parser and expects `want` back, stored as error. */
static void expect_fail(struct nlbuf *nb, size_t len, int want, int line)
{
	struct nl_parser p;
	struct sink s;
	init(&p, &s, 0);
	int rc = feed(&p, nb->b, len);
	if (rc != want || p.error != want) {
		fprintf(stderr, "line %d: rc %d error %d, want %d\n", line, rc,
			p.error, want);
		check_failures++;
	}
	if (want < 0 && !p.errmsg[0] && want == -EBADMSG) {
		fprintf(stderr, "line %d: no errmsg for a malformed datagram\n",
			line);
		check_failures++;
	}
}

static void test_header_bounds(void)
{
	struct nlbuf nb = { .len = 0 };
	unsigned char none[1] = { 0 };
	struct nl_parser p;
	struct sink s;

	/* zero-length datagram */
	init(&p, &s, 0);
	CHECK_EQ(nl_parser_feed(&p, none, 0), -EBADMSG);
	CHECK_EQ(p.error, -EBADMSG);

	/* fewer bytes than a nlmsghdr */
	nb_record(&nb, SEQ, PID, 1);
	for (size_t n = 1; n < sizeof(struct nlmsghdr); n++)
		expect_fail(&nb, n, -EBADMSG, __LINE__);

	/* nlmsg_len smaller than the header (0 would loop forever) */
	for (uint32_t l = 0; l < sizeof(struct nlmsghdr); l++) {
		nb_set_len(&nb, l);
		expect_fail(&nb, nb.len, -EBADMSG, __LINE__);
	}

	/* nlmsg_len past the end of the datagram */
	nb_set_len(&nb, (uint32_t)nb.len + 1);
	expect_fail(&nb, nb.len, -EBADMSG, __LINE__);
	nb_set_len(&nb, UINT32_MAX);
	expect_fail(&nb, nb.len, -EBADMSG, __LINE__);

	/* a good message followed by a torn header: records before the
	 * failure were delivered */
	nb.len = 0;
	nb_record(&nb, SEQ, PID, 1);
	nb_record(&nb, SEQ, PID, 2);
	size_t good = nb.len;
	nb_record(&nb, SEQ, PID, 3);
	for (size_t cut = good + 1; cut < good + sizeof(struct nlmsghdr);
	     cut++) {
		init(&p, &s, 0);
		CHECK_EQ(feed(&p, nb.b, cut), -EBADMSG);
		CHECK_EQ(s.calls, 2);
		CHECK_EQ(p.records, 2);
		CHECK_EQ(s.sports[0], 1);
		CHECK_EQ(s.sports[1], 2);
	}
	/* the third message cut inside its body: nlmsg_len past the end */
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len - 4), -EBADMSG);
	CHECK_EQ(s.calls, 2);
}

static void test_diag_msg_bounds(void)
{
	struct nlbuf nb = { .len = 0 };
	struct nl_parser p;
	struct sink s;

	/* inet_diag_msg cut short, at every length below its size */
	for (size_t n = 0; n < sizeof(struct inet_diag_msg); n++) {
		nb.len = 0;
		nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PID);
		nb_diag(&nb, AF_INET, 1, 9, 80, 9);
		nb.len = nb.msg + sizeof(struct nlmsghdr) + n;
		nb_set_len(&nb, (uint32_t)(nb.len - nb.msg));
		init(&p, &s, 0);
		CHECK_EQ(feed(&p, nb.b, nb.len), -EBADMSG);
		CHECK_EQ(s.calls, 0);
		CHECK_EQ(p.records, 0);
	}
	/* exactly an inet_diag_msg, no attributes: a valid record */
	nb.len = 0;
	nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PID);
	nb_diag(&nb, AF_INET6, 10, 22, 0, 1234);
	nb_end(&nb);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(s.calls, 1);
	CHECK_EQ(s.last.family, AF_INET6);
	CHECK_EQ(s.last.state, 10);
	CHECK_EQ(s.last.sport, 22);
	CHECK_EQ(s.last.inode, 1234);
	CHECK_EQ(s.last.cookie, ((uint64_t)(0x80000000u | 1234) << 32) | 1234);
	CHECK_EQ(s.last.present, 0);
}

/* nl_decode_attrs on a heap copy of exactly `len` bytes. */
static int decode(const void *attrs, size_t len, struct ts_record *r,
		  uint64_t *unknown)
{
	unsigned char *d = ut_dup(attrs, len);
	int rc = nl_decode_attrs(d, len, r, unknown);
	free(d);
	return rc;
}

static void test_attr_bounds(void)
{
	struct nlbuf nb = { .len = 0 };
	struct ts_record r;
	uint64_t unk = 0;

	nb_attr(&nb, INET_DIAG_TOS, "\x10", 1);
	nb_pad(&nb);
	size_t one = nb.len; /* 8 */

	/* 1-3 bytes cannot hold an rtattr header: alone or trailing */
	for (size_t n = 1; n < 4; n++) {
		memset(&r, 0, sizeof(r));
		CHECK_EQ(decode(nb.b, n, &r, &unk), -EBADMSG);
		memset(nb.b + one, 0, 3);
		CHECK_EQ(decode(nb.b, one + n, &r, &unk), -EBADMSG);
	}
	/* rta_len below the header size */
	for (unsigned short l = 0; l < 4; l++) {
		struct rtattr a = { l, INET_DIAG_TOS };
		memcpy(nb.b, &a, sizeof(a));
		CHECK_EQ(decode(nb.b, one, &r, &unk), -EBADMSG);
	}
	/* rta_len past the end */
	struct rtattr a = { (unsigned short)(one + 1), INET_DIAG_TOS };
	memcpy(nb.b, &a, sizeof(a));
	CHECK_EQ(decode(nb.b, one, &r, &unk), -EBADMSG);
	/* an unaligned last attribute without its padding is fine */
	a.rta_len = 5;
	memcpy(nb.b, &a, sizeof(a));
	memset(&r, 0, sizeof(r));
	CHECK_EQ(decode(nb.b, 5, &r, &unk), 0);
	CHECK_EQ(r.tos, 0x10);
	CHECK(r.present & (1u << INET_DIAG_TOS));
	CHECK_EQ(unk, 0);
	/* empty run: nothing to do */
	CHECK_EQ(decode(nb.b, 0, &r, &unk), 0);
}

/* The same faults inside a message: the record is not delivered. */
static void test_attr_faults_in_message(void)
{
	static const size_t tails[] = { 1, 2, 3 };
	struct nlbuf nb;
	struct nl_parser p;
	struct sink s;

	for (size_t i = 0; i < 3; i++) {
		nb.len = 0;
		nb_record(&nb, SEQ, PID, 1);
		nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PID);
		nb_diag(&nb, AF_INET, 1, 2, 80, 2);
		nb_attr(&nb, INET_DIAG_TOS, "\x01", 1);
		nb_pad(&nb);
		nb_put(&nb, "\x05\x00\x05", tails[i]);
		nb_set_len(&nb, (uint32_t)(nb.len - nb.msg));
		init(&p, &s, 0);
		CHECK_EQ(feed(&p, nb.b, nb.len), -EBADMSG);
		CHECK_EQ(s.calls, 1);
		CHECK_EQ(p.records, 1);
		CHECK(p.errmsg[0] != '\0');
	}
	/* rta_len past the message (but not the datagram) */
	nb.len = 0;
	nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PID);
	nb_diag(&nb, AF_INET, 1, 2, 80, 2);
	nb_attr(&nb, INET_DIAG_CONG, "cubic", 6);
	nb_end(&nb);
	size_t end = nb.len;
	struct rtattr a = { 200, INET_DIAG_CONG };
	memcpy(nb.b + end - 12, &a, sizeof(a));
	nb_done(&nb, SEQ, PID);
	nb_done(&nb, SEQ, PID); /* 200 bytes would reach into these */
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), -EBADMSG);
	CHECK_EQ(s.calls, 0);
	CHECK_EQ(p.done, 0);
}

static void test_unknown_attrs(void)
{
	struct nlbuf nb = { .len = 0 };
	struct nl_parser p;
	struct sink s;
	uint32_t mark = 0xdeadbeef;

	nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PID);
	nb_diag(&nb, AF_INET, 1, 5, 80, 5);
	nb_attr(&nb, 0, "zz", 2);	/* INET_DIAG_NONE */
	nb_attr(&nb, 31, "abcdefg", 7); /* not (yet) defined */
	nb_attr(&nb, INET_DIAG_CONG | NLA_F_NESTED, "bbr", 4);
	nb_attr(&nb, 0x3fff, NULL, 0);
	nb_attr(&nb, INET_DIAG_MARK | NLA_F_NET_BYTEORDER, &mark, 4);
	nb_attr(&nb, 200, "x", 1);
	nb_end(&nb);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(p.error, 0);
	CHECK_EQ(s.calls, 1);
	CHECK_EQ(p.unknown_attrs, 4);
	CHECK(strcmp(s.last.cong, "bbr") == 0);
	CHECK_EQ(s.last.cong_enum, TS_CONG_BBR1);
	CHECK_EQ(s.last.mark, 0xdeadbeef);
	CHECK_EQ(s.last.present,
		 (1u << INET_DIAG_CONG) | (1u << INET_DIAG_MARK));

	/* counting goes on across records of the dump */
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(p.unknown_attrs, 8);
	CHECK_EQ(p.records, 2);
}

/* NLMSG_ERROR carrying `err`, optionally with extended-ack text. */
static void nb_error(struct nlbuf *nb, int32_t err, uint16_t flags,
		     const char *text, int capped)
{
	struct nlmsghdr req = { 72, SOCK_DIAG_BY_FAMILY,
				NLM_F_REQUEST | NLM_F_DUMP, SEQ, PID };
	unsigned char body[72 - 16];

	nb_msg(nb, NLMSG_ERROR, flags | (capped ? NLM_F_CAPPED : 0), SEQ, PID);
	nb_put(nb, &err, sizeof(err));
	nb_put(nb, &req, sizeof(req));
	if (!capped) {
		memset(body, 0xa5, sizeof(body));
		nb_put(nb, body, sizeof(body));
	}
	if (text) {
		uint32_t off = 20;
		nb_attr(nb, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
		/* a later attribute must not overwrite the text */
		nb_attr(nb, 2 /* NLMSGERR_ATTR_OFFS */, &off, sizeof(off));
	}
	nb_end(nb);
}

static void test_nlmsg_error(void)
{
	static const int errs[] = { -EPERM, -ENOENT, -EINVAL, -ENOBUFS };
	struct nlbuf nb;
	struct nl_parser p;
	struct sink s;

	for (size_t i = 0; i < 4; i++) {
		nb.len = 0;
		nb_record(&nb, SEQ, PID, 7);
		nb_error(&nb, errs[i], 0, NULL, 0);
		nb_record(&nb, SEQ, PID, 8);
		init(&p, &s, 0);
		CHECK_EQ(feed(&p, nb.b, nb.len), errs[i]);
		CHECK_EQ(p.error, errs[i]);
		CHECK_EQ(s.calls, 1);
		CHECK_EQ(p.errmsg[0], 0);
	}
	/* extended ack, full request echoed and capped */
	for (int capped = 0; capped < 2; capped++) {
		nb.len = 0;
		nb_error(&nb, -EOPNOTSUPP, NLM_F_ACK_TLVS, "no such family",
			 capped);
		init(&p, &s, 0);
		CHECK_EQ(feed(&p, nb.b, nb.len), -EOPNOTSUPP);
		CHECK(strcmp(p.errmsg, "no such family") == 0);
	}
	/* text longer than errmsg: truncated, still terminated */
	char big[300];
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	nb.len = 0;
	nb_error(&nb, -EINVAL, NLM_F_ACK_TLVS, big, 1);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), -EINVAL);
	CHECK_EQ(strlen(p.errmsg), sizeof(p.errmsg) - 1);
	/* a positive errno is normalised to -errno */
	nb.len = 0;
	nb_error(&nb, EACCES, 0, NULL, 1);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), -EACCES);
	/* NLMSG_ERROR too short for struct nlmsgerr */
	nb.len = 0;
	nb_msg(&nb, NLMSG_ERROR, 0, SEQ, PID);
	nb_put(&nb, "\xff\xff\xff\xff", 4);
	nb_end(&nb);
	expect_fail(&nb, nb.len, -EBADMSG, __LINE__);
}

static void test_ack_and_done(void)
{
	struct nlbuf nb = { .len = 0 };
	struct nl_parser p;
	struct sink s;

	/* error 0 is an ACK: parsing goes on */
	nb_record(&nb, SEQ, PID, 1);
	nb_error(&nb, 0, 0, NULL, 1);
	nb_msg(&nb, NLMSG_NOOP, 0, SEQ, PID);
	nb_end(&nb);
	nb_record(&nb, SEQ, PID, 2);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(p.error, 0);
	CHECK_EQ(s.calls, 2);
	CHECK_EQ(p.messages, 4);

	/* many records and the DONE in one datagram */
	nb.len = 0;
	for (uint16_t i = 1; i <= 40; i++)
		nb_record(&nb, SEQ, PID, i);
	nb_done(&nb, SEQ, PID);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 1);
	CHECK_EQ(p.done, 1);
	CHECK_EQ(p.records, 40);
	CHECK_EQ(p.messages, 41);
	for (int i = 0; i < 40; i++)
		CHECK_EQ(s.sports[i], i + 1);
	/* after DONE nothing more is parsed */
	CHECK_EQ(feed(&p, nb.b, nb.len), 1);
	CHECK_EQ(p.records, 40);

	/* DONE alone, with the kernel's 4-byte status */
	nb.len = 0;
	nb_done(&nb, SEQ, PID);
	CHECK_EQ(nb.len, 20);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 1);

	/* a message type that has no business in a dump reply */
	nb.len = 0;
	nb_msg(&nb, RTM_NEWLINK, 0, SEQ, PID);
	nb_end(&nb);
	expect_fail(&nb, nb.len, -EBADMSG, __LINE__);
}

static void test_dump_intr(void)
{
	struct nlbuf nb = { .len = 0 };
	struct nl_parser p;
	struct sink s;

	nb_record(&nb, SEQ, PID, 1);
	nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI | NLM_F_DUMP_INTR, SEQ,
	       PID);
	nb_diag(&nb, AF_INET, 1, 2, 80, 2);
	nb_end(&nb);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(p.dump_intr, 1);
	CHECK_EQ(s.calls, 2);
	CHECK_EQ(p.error, 0);

	/* on the DONE message alone */
	nb.len = 0;
	nb_msg(&nb, NLMSG_DONE, NLM_F_MULTI | NLM_F_DUMP_INTR, SEQ, PID);
	nb_put(&nb, "\0\0\0\0", 4);
	nb_end(&nb);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 1);
	CHECK_EQ(p.dump_intr, 1);

	nb.len = 0;
	nb_record(&nb, SEQ, PID, 1);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(p.dump_intr, 0);
}

static void test_seq_port(void)
{
	struct nlbuf nb = { .len = 0 };
	struct nl_parser p;
	struct sink s;
	const unsigned both = NL_PARSE_CHECK_SEQ | NL_PARSE_CHECK_PORT;

	nb_record(&nb, SEQ, PID, 1);
	nb_record(&nb, SEQ + 1, PID, 2);
	init(&p, &s, NL_PARSE_CHECK_SEQ);
	CHECK_EQ(feed(&p, nb.b, nb.len), -EPROTO);
	CHECK_EQ(s.calls, 1);
	CHECK(p.errmsg[0] != '\0');
	init(&p, &s, NL_PARSE_CHECK_PORT);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(s.calls, 2);

	nb.len = 0;
	nb_record(&nb, SEQ, PID, 1);
	nb_record(&nb, SEQ, PID + 1, 2);
	init(&p, &s, NL_PARSE_CHECK_PORT);
	CHECK_EQ(feed(&p, nb.b, nb.len), -EPROTO);
	CHECK_EQ(s.calls, 1);
	init(&p, &s, NL_PARSE_CHECK_SEQ);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);

	/* the check applies to DONE and ERROR too */
	nb.len = 0;
	nb_done(&nb, SEQ - 1, PID);
	init(&p, &s, both);
	CHECK_EQ(feed(&p, nb.b, nb.len), -EPROTO);
	CHECK_EQ(p.done, 0);
	nb.len = 0;
	nb_record(&nb, SEQ, PID, 1);
	nb_done(&nb, SEQ, PID);
	init(&p, &s, both);
	CHECK_EQ(feed(&p, nb.b, nb.len), 1);
}

static void test_sticky_error_and_stop(void)
{
	struct nlbuf good = { .len = 0 }, bad = { .len = 0 };
	struct nl_parser p;
	struct sink s;

	nb_record(&good, SEQ, PID, 1);
	nb_record(&good, SEQ, PID, 2);
	nb_record(&good, SEQ, PID, 3);
	nb_error(&bad, -EPERM, 0, NULL, 1);

	init(&p, &s, 0);
	CHECK_EQ(feed(&p, good.b, good.len), 0);
	CHECK_EQ(feed(&p, bad.b, bad.len), -EPERM);
	CHECK_EQ(feed(&p, good.b, good.len), -EPERM);
	CHECK_EQ(s.calls, 3);
	CHECK_EQ(p.records, 3);

	/* a failing callback stops the datagram where it is */
	init(&p, &s, 0);
	s.stop_at = 2;
	CHECK_EQ(feed(&p, good.b, good.len), -ECANCELED);
	CHECK_EQ(s.calls, 2);
	CHECK_EQ(p.error, -ECANCELED);
	CHECK_EQ(feed(&p, good.b, good.len), -ECANCELED);
	CHECK_EQ(s.calls, 2);

	/* no callback at all: records are still counted */
	nl_parser_init(&p, SEQ, PID, 0, NULL, NULL);
	CHECK_EQ(feed(&p, good.b, good.len), 0);
	CHECK_EQ(p.records, 3);
}

/* tcp_info of `n` bytes of a counting pattern. */
static void check_info_size(size_t n)
{
	static unsigned char info[512];
	struct nlbuf nb = { .len = 0 };
	struct nl_parser p;
	struct sink s;
	size_t fit =
		n < sizeof(struct ts_tcp_info) ? n : sizeof(struct ts_tcp_info);

	for (size_t i = 0; i < sizeof(info); i++)
		info[i] = (unsigned char)(i * 7 + 1);
	nb_msg(&nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, SEQ, PID);
	nb_diag(&nb, AF_INET, 1, 1, 80, 1);
	nb_attr(&nb, INET_DIAG_INFO, info, n);
	nb_attr(&nb, INET_DIAG_TOS, "\x2a", 1); /* after it: still decoded */
	nb_end(&nb);
	init(&p, &s, 0);
	CHECK_EQ(feed(&p, nb.b, nb.len), 0);
	CHECK_EQ(s.calls, 1);
	CHECK_EQ(s.last.tcp_info_size, n);
	CHECK(s.last.present & (1u << INET_DIAG_INFO));
	CHECK_EQ(s.last.tos, 0x2a);
	const unsigned char *got = (const unsigned char *)&s.last.info;
	CHECK(memcmp(got, info, fit) == 0);
	for (size_t i = fit; i < sizeof(struct ts_tcp_info); i++)
		if (got[i]) {
			fprintf(stderr, "info size %zu: byte %zu not zeroed\n",
				n, i);
			check_failures++;
			break;
		}
}

static void test_tcp_info_sizes(void)
{
	static const size_t sizes[] = { 0,   1,	  104, 192, 224, 232, 240,
					248, 279, 280, 281, 300, 400 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		check_info_size(sizes[i]);
}

/* Attributes shorter than their struct: what is there, zeros after. */
static void test_short_attrs(void)
{
	struct nlbuf nb = { .len = 0 };
	uint32_t m[2] = { 11, 22 };
	uint32_t bbr[5] = { 0x89abcdef, 0x12, 30, 256, 512 };
	struct ts_record r;
	uint64_t unk = 0;

	nb_attr(&nb, INET_DIAG_MEMINFO, m, 8);
	nb_attr(&nb, INET_DIAG_SKMEMINFO, m, 6);
	nb_attr(&nb, INET_DIAG_CGROUP_ID, m, 4);
	nb_attr(&nb, INET_DIAG_BBRINFO, bbr, sizeof(bbr));
	nb_attr(&nb, INET_DIAG_CONG, "0123456789abcdefXYZ", 19); /* no NUL */
	nb_attr(&nb, INET_DIAG_SHUTDOWN, NULL, 0);
	nb_attr(&nb, INET_DIAG_SOCKOPT, "\x01", 1);
	memset(&r, 0xff, sizeof(r));
	r.present = 0;
	CHECK_EQ(decode(nb.b, nb.len, &r, &unk), 0);
	CHECK_EQ(r.mem_rmem, 11);
	CHECK_EQ(r.mem_wmem, 22);
	CHECK_EQ(r.mem_fmem, 0);
	CHECK_EQ(r.mem_tmem, 0);
	CHECK_EQ(r.skmem[0], 11);
	CHECK_EQ(r.skmem[1], 0);
	CHECK_EQ(r.skmem[8], 0);
	CHECK_EQ(r.cgroup_id, 11);
	CHECK_EQ(r.bbr_bw_lo, 0x89abcdef);
	CHECK_EQ(r.bbr_bw_hi, 0x12);
	CHECK_EQ(r.bbr_bw, 0x1289abcdefull);
	CHECK_EQ(r.bbr_min_rtt, 30);
	CHECK_EQ(r.bbr_pacing_gain, 256);
	CHECK_EQ(r.bbr_cwnd_gain, 512);
	CHECK(strcmp(r.cong, "0123456789abcde") == 0);
	CHECK_EQ(r.cong_enum, 0);
	CHECK_EQ(r.shutdown, 0);
	CHECK_EQ(r.sockopt, 1);
	CHECK_EQ(unk, 0);
	/* a short tcp_info zeroes the rest even though *rec is not cleared */
	nb.len = 0;
	nb_attr(&nb, INET_DIAG_INFO, m, 8);
	CHECK_EQ(decode(nb.b, nb.len, &r, &unk), 0);
	CHECK_EQ(r.tcp_info_size, 8);
	CHECK_EQ(r.info.rto, 0);
	CHECK_EQ(r.info.accecn_opt_seen, 0);
	CHECK_EQ(r.info.state, 11);
	CHECK_EQ(r.present & ~(1u << INET_DIAG_INFO),
		 (1u << INET_DIAG_MEMINFO) | (1u << INET_DIAG_SKMEMINFO) |
			 (1u << INET_DIAG_CGROUP_ID) |
			 (1u << INET_DIAG_BBRINFO) | (1u << INET_DIAG_CONG) |
			 (1u << INET_DIAG_SHUTDOWN) |
			 (1u << INET_DIAG_SOCKOPT));
}

int main(void)
{
	test_header_bounds();
	test_diag_msg_bounds();
	test_attr_bounds();
	test_attr_faults_in_message();
	test_unknown_attrs();
	test_nlmsg_error();
	test_ack_and_done();
	test_dump_intr();
	test_seq_port();
	test_sticky_error_and_stop();
	test_tcp_info_sizes();
	test_short_attrs();
	return check_exit();
}
