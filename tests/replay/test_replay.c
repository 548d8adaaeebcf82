/*
 * test_replay.c - replay_buffer() / replay_file() semantics on captures
 * built in memory.
 *
 * Contract: a request opens a dump whose replies must carry its sequence;
 * records get the capture time of their datagram and the dump's ordinal;
 * strays, other protocols and other requests are skipped; bad datagrams,
 * failed dumps and dumps cut short are counted and replay goes on; only a
 * non-pcap / non-netlink input or a failing callback ends it with -errno.
 * Needs no fixtures.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "pcap/replay.h"

#define NL_ROUTE 0

/* ---- capture builder (host byte order pcap, microsecond stamps) ------- */

struct cap {
	unsigned char b[16384];
	size_t n;
};

static void put(struct cap *c, const void *p, size_t n)
{
	if (c->n + n > sizeof(c->b))
		abort();
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

static void cap_begin(struct cap *c, uint32_t linktype)
{
	uint32_t h[6] = { 0xa1b2c3d4, 2 | 4u << 16, 0, 0, 262144, linktype };
	c->n = 0;
	put(c, h, sizeof(h));
}

/* One packet: cooked header for `proto`, then `len` netlink bytes. */
static void cap_pkt(struct cap *c, uint32_t ms, uint16_t proto, const void *nl,
		    size_t len)
{
	uint32_t rh[4] = { 1000 + ms / 1000, (ms % 1000) * 1000,
			   (uint32_t)(16 + len), (uint32_t)(16 + len) };
	unsigned char cooked[16] = { 0, 4, 0x03, 0x38 };
	cooked[14] = (unsigned char)(proto >> 8);
	cooked[15] = (unsigned char)proto;
	put(c, rh, sizeof(rh));
	put(c, cooked, sizeof(cooked));
	put(c, nl, len);
}

/* ---- netlink datagram builder ------------------------------------------ */

struct dg {
	unsigned char b[4096];
	size_t n;
};

static void nl_msg(struct dg *d, uint16_t type, uint16_t flags, uint32_t seq,
		   const void *payload, size_t plen)
{
	struct nlmsghdr h = { .nlmsg_len = (uint32_t)(sizeof(h) + plen),
			      .nlmsg_type = type,
			      .nlmsg_flags = flags,
			      .nlmsg_seq = seq,
			      .nlmsg_pid = 4242 };
	memcpy(d->b + d->n, &h, sizeof(h));
	memcpy(d->b + d->n + sizeof(h), payload, plen);
	d->n += NLMSG_ALIGN(h.nlmsg_len);
}

static void request(struct cap *c, uint32_t ms, uint32_t seq, uint8_t family)
{
	struct inet_diag_req_v2 r = { .sdiag_family = family,
				      .sdiag_protocol = IPPROTO_TCP,
				      .idiag_states = ~0u };
	struct dg d = { .n = 0 };
	nl_msg(&d, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, &r,
	       sizeof(r));
	memset(d.b + 12, 0, 4); /* nlmon records requests with pid 0 */
	cap_pkt(c, ms, NETLINK_SOCK_DIAG, d.b, d.n);
}

/* A socket message; `unknown` adds an attribute type no kernel sends. */
static void sock_msg(struct dg *d, uint32_t seq, uint32_t inode, int unknown,
		     uint16_t extra_flags)
{
	unsigned char p[sizeof(struct inet_diag_msg) + 16] = { 0 };
	struct inet_diag_msg m = { .idiag_family = AF_INET,
				   .idiag_state = 1,
				   .idiag_inode = inode };
	struct rtattr a = { .rta_len = 8, .rta_type = 0x7f };
	size_t n = sizeof(m);

	m.id.idiag_sport = htons(4000);
	memcpy(p, &m, sizeof(m));
	if (unknown) {
		memcpy(p + n, &a, sizeof(a));
		n += 8;
	}
	nl_msg(d, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI | extra_flags, seq, p, n);
}

static void done_msg(struct dg *d, uint32_t seq)
{
	int zero = 0;
	nl_msg(d, NLMSG_DONE, NLM_F_MULTI, seq, &zero, sizeof(zero));
}

static void error_msg(struct dg *d, uint32_t seq, int err)
{
	struct nlmsgerr e = { .error = err };
	nl_msg(d, NLMSG_ERROR, 0, seq, &e, sizeof(e));
}

static void reply(struct cap *c, uint32_t ms, const struct dg *d)
{
	cap_pkt(c, ms, NETLINK_SOCK_DIAG, d->b, d->n);
}

/* ---- collecting records --------------------------------------------- */

struct got {
	unsigned n;
	uint32_t inode[64];
	uint64_t seq[64], ts[64];
	int fail_at; /* return -EPIPE on this record (1-based), 0: never */
};

static int on_rec(struct ts_record *rec, void *arg)
{
	struct got *g = arg;

	if (g->fail_at && g->n + 1 == (unsigned)g->fail_at)
		return -EPIPE;
	if (g->n < 64) {
		g->inode[g->n] = rec->inode;
		g->seq[g->n] = rec->poll_seq;
		g->ts[g->n] = rec->timestamp_ns;
	}
	g->n++;
	return 0;
}

#define TS(ms)                                                                 \
	((1000ull + (ms) / 1000) * 1000000000ull + ((ms) % 1000) * 1000000ull)

/* request, two replies (2 sockets, then 1 socket + DONE) */
static void build_basic(struct cap *c)
{
	struct dg d = { .n = 0 };

	cap_begin(c, 253);
	request(c, 1, 7, AF_INET);
	sock_msg(&d, 7, 101, 0, 0);
	sock_msg(&d, 7, 102, 1, 0);
	reply(c, 500, &d);
	d.n = 0;
	sock_msg(&d, 7, 103, 0, 0);
	done_msg(&d, 7);
	reply(c, 2000, &d);
}

static void test_basic(void)
{
	static struct cap c;
	struct replay_stats st;
	struct got g = { 0 };

	build_basic(&c);
	CHECK_EQ(replay_buffer(c.b, c.n, on_rec, &g, &st), 0);
	CHECK_EQ(st.packets, 3);
	CHECK_EQ(st.requests, 1);
	CHECK_EQ(st.datagrams, 2);
	CHECK_EQ(st.dumps_done, 1);
	CHECK_EQ(st.records, 3);
	CHECK_EQ(st.unknown_attrs, 1);
	CHECK_EQ(st.errors, 0);
	CHECK_EQ(st.dump_intr, 0);
	CHECK_EQ(st.skipped, 0);
	CHECK_EQ(g.n, 3);
	CHECK_EQ(g.inode[0], 101);
	CHECK_EQ(g.inode[2], 103);
	CHECK_EQ(g.seq[0], 1);
	CHECK_EQ(g.seq[2], 1);
	CHECK_EQ(g.ts[0], TS(500));
	CHECK_EQ(g.ts[1], TS(500));
	CHECK_EQ(g.ts[2], TS(2000));

	/* no callback at all: still counted */
	CHECK_EQ(replay_buffer(c.b, c.n, NULL, NULL, &st), 0);
	CHECK_EQ(st.records, 3);
	/* a NULL stats pointer is tolerated */
	CHECK_EQ(replay_buffer(c.b, c.n, NULL, NULL, NULL), 0);

	/* a truncated last record: counted, records before it delivered */
	g.n = 0;
	CHECK_EQ(replay_buffer(c.b, c.n - 3, on_rec, &g, &st), 0);
	CHECK_EQ(g.n, 2);
	CHECK_EQ(st.dumps_done, 0);
	CHECK_EQ(st.errors, 2); /* the bad record + the unfinished dump */
}

static void test_skipped(void)
{
	static struct cap c;
	struct replay_stats st;
	struct got g = { 0 };
	struct dg d = { .n = 0 };
	unsigned char tiny[8] = { 0 };

	cap_begin(&c, 253);
	sock_msg(&d, 8, 1, 0, 0);
	reply(&c, 1, &d);		    /* before any request */
	cap_pkt(&c, 2, NL_ROUTE, d.b, d.n); /* another netlink protocol */
	d.n = 0;
	nl_msg(&d, 18 /* TCPDIAG_GETSOCK */, NLM_F_REQUEST | NLM_F_DUMP, 8,
	       tiny, sizeof(tiny));
	reply(&c, 3, &d); /* a request, but not SOCK_DIAG_BY_FAMILY */
	request(&c, 4, 8, AF_INET6);
	d.n = 0;
	sock_msg(&d, 8, 2, 0, 0);
	done_msg(&d, 8);
	reply(&c, 5, &d);
	reply(&c, 6, &d); /* after DONE */
	CHECK_EQ(replay_buffer(c.b, c.n, on_rec, &g, &st), 0);
	CHECK_EQ(st.packets, 6);
	CHECK_EQ(st.skipped, 4);
	CHECK_EQ(st.requests, 1);
	CHECK_EQ(st.dumps_done, 1);
	CHECK_EQ(st.datagrams, 1);
	CHECK_EQ(st.errors, 0);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(g.inode[0], 2);
}

static void test_failures(void)
{
	static struct cap c;
	struct replay_stats st;
	struct got g = { 0 };
	struct dg d = { .n = 0 };

	cap_begin(&c, 253);
	request(&c, 1, 9, AF_INET); /* dump 1: wrong sequence */
	sock_msg(&d, 10, 1, 0, 0);
	reply(&c, 2, &d);
	d.n = 0;
	sock_msg(&d, 9, 2, 0, 0);
	reply(&c, 3, &d);	     /* the dump was abandoned: skipped */
	request(&c, 4, 11, AF_INET); /* dump 2: kernel error */
	d.n = 0;
	error_msg(&d, 11, -EPERM);
	reply(&c, 5, &d);
	request(&c, 6, 12, AF_INET); /* dump 3: cut by the next request */
	d.n = 0;
	sock_msg(&d, 12, 3, 0, 0);
	reply(&c, 7, &d);
	request(&c, 8, 13, AF_INET); /* dump 4: malformed, then fine */
	cap_pkt(&c, 9, NETLINK_SOCK_DIAG, d.b, 10);
	request(&c, 10, 14, AF_INET); /* dump 5: complete, marked DUMP_INTR */
	d.n = 0;
	sock_msg(&d, 14, 4, 0, NLM_F_DUMP_INTR);
	done_msg(&d, 14);
	reply(&c, 11, &d);
	request(&c, 12, 15, AF_INET); /* dump 6: capture ends inside it */
	d.n = 0;
	sock_msg(&d, 15, 5, 0, 0);
	reply(&c, 13, &d);
	uint32_t short_rec[4] = { 1000, 14000, 8, 8 }; /* no cooked header */
	put(&c, short_rec, sizeof(short_rec));
	put(&c, d.b, 8);

	CHECK_EQ(replay_buffer(c.b, c.n, on_rec, &g, &st), 0);
	CHECK_EQ(st.requests, 6);
	CHECK_EQ(st.dumps_done, 1);
	CHECK_EQ(st.dump_intr, 1);
	/* wrong seq, NLMSG_ERROR, cut short, malformed, short packet, EOF */
	CHECK_EQ(st.errors, 6);
	CHECK_EQ(st.skipped, 1);
	CHECK_EQ(st.records, 3);
	CHECK_EQ(g.n, 3);
	CHECK_EQ(g.inode[0], 3);
	CHECK_EQ(g.seq[0], 3); /* ordinals count failed dumps too */
	CHECK_EQ(g.inode[1], 4);
	CHECK_EQ(g.seq[1], 5);
	CHECK_EQ(g.inode[2], 5);
	CHECK_EQ(g.seq[2], 6);
	CHECK_EQ(g.ts[2], TS(13));
}

static void test_callback_error(void)
{
	static struct cap c;
	struct replay_stats st;
	struct got g = { .fail_at = 2 };

	build_basic(&c);
	CHECK_EQ(replay_buffer(c.b, c.n, on_rec, &g, &st), -EPIPE);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(st.records, 1);
}

static void test_not_netlink(void)
{
	static struct cap c;
	struct replay_stats st;

	build_basic(&c);
	memset(&st, 0xff, sizeof(st));
	CHECK_EQ(replay_buffer(c.b, 10, NULL, NULL, &st), -EBADMSG);
	CHECK_EQ(st.packets, 0); /* zeroed first */
	CHECK_EQ(replay_buffer("garbage, not a capture..", 24, NULL, NULL, &st),
		 -EBADMSG);
	CHECK_EQ(replay_buffer(NULL, 0, NULL, NULL, &st), -EBADMSG);
	cap_begin(&c, 1); /* Ethernet */
	CHECK_EQ(replay_buffer(c.b, c.n, NULL, NULL, &st), -EPROTONOSUPPORT);
}

static void write_file(const char *path, const void *b, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f && fwrite(b, 1, n, f) == n);
	if (f)
		fclose(f);
}

static void test_file(void)
{
	static struct cap c;
	struct replay_stats st, before;
	struct got g = { 0 };
	char dir[] = "/tmp/tcpscope-replay-XXXXXX", path[64], err[160];

	memset(&st, 0x33, sizeof(st));
	before = st;
	CHECK_EQ(replay_file("/nonexistent/x.pcap", NULL, NULL, &st, err,
			     sizeof(err)),
		 -ENOENT);
	CHECK(memcmp(&st, &before, sizeof(st)) == 0);
	CHECK(strcmp(err, strerror(ENOENT)) == 0);
	CHECK(mkdtemp(dir) != NULL);
	CHECK_EQ(replay_file(dir, NULL, NULL, &st, err, sizeof(err)), -EISDIR);
	snprintf(path, sizeof(path), "%s/t.pcap", dir);

	write_file(path, "", 0);
	CHECK_EQ(replay_file(path, NULL, NULL, &st, err, sizeof(err)),
		 -EBADMSG);
	CHECK(strstr(err, "not a pcap file") != NULL);
	write_file(path, "garbage, not a capture..\n", 26);
	CHECK_EQ(replay_file(path, NULL, NULL, &st, err, sizeof(err)),
		 -EBADMSG);
	CHECK(strcmp(err, "not a pcap file") == 0);
	cap_begin(&c, 1); /* Ethernet */
	write_file(path, c.b, c.n);
	CHECK_EQ(replay_file(path, NULL, NULL, &st, err, sizeof(err)),
		 -EPROTONOSUPPORT);
	CHECK(strcmp(err, "link type 1, expected 253 (netlink)") == 0);

	build_basic(&c);
	write_file(path, c.b, c.n);
	CHECK_EQ(replay_file(path, on_rec, &g, &st, err, sizeof(err)), 0);
	CHECK_EQ(st.records, 3);
	CHECK_EQ(st.dumps_done, 1);
	CHECK_EQ(g.ts[2], TS(2000));
	unlink(path);
	rmdir(dir);
}

/* A packet of another protocol (skipped) of caplen bytes, the largest a
 * capture may hold. */
static void write_big_skipped(FILE *f, uint32_t caplen)
{
	uint32_t rh[4] = { 1000, 0, caplen, caplen };
	static unsigned char body[PCAP_MAX_CAPLEN];

	CHECK(fwrite(rh, sizeof(rh), 1, f) == 1);
	CHECK(fwrite(body, 1, caplen, f) == caplen);
}

/* A capture of several REPLAY_CHUNKs, with records cut by every chunk's
 * end and records of the largest size: replay_file() reads it in pieces
 * and finds what replay_buffer() finds in one. */
static void test_file_chunks(void)
{
	static struct cap c;
	struct replay_stats st;
	struct got g = { 0 };
	char dir[] = "/tmp/tcpscope-replay-XXXXXX", path[64], err[160];
	unsigned dumps = 0;
	size_t size = 0;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/big.pcap", dir);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	build_basic(&c);
	CHECK(fwrite(c.b, 1, c.n, f) == c.n);
	dumps++;
	while (size < 3 * (size_t)REPLAY_CHUNK) {
		if (dumps % 2000 == 0)
			write_big_skipped(f, PCAP_MAX_CAPLEN);
		CHECK(fwrite(c.b + 24, 1, c.n - 24, f) == c.n - 24);
		dumps++;
		size = (size_t)ftell(f);
	}
	write_big_skipped(f, PCAP_MAX_CAPLEN);
	size = (size_t)ftell(f);
	fclose(f);
	CHECK_EQ(replay_file(path, on_rec, &g, &st, err, sizeof(err)), 0);
	CHECK_EQ(st.requests, dumps);
	CHECK_EQ(st.dumps_done, dumps);
	CHECK_EQ(st.records, 3ull * dumps);
	CHECK_EQ(st.errors, 0);
	CHECK(st.skipped >= 3);
	CHECK_EQ(g.n, 3ull * dumps);

	/* cut inside the last record: counted, everything before replayed */
	CHECK_EQ(truncate(path, (off_t)size - 5), 0);
	g.n = 0;
	CHECK_EQ(replay_file(path, on_rec, &g, &st, err, sizeof(err)), 0);
	CHECK_EQ(st.errors, 1);
	CHECK_EQ(st.dumps_done, dumps);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_basic();
	test_skipped();
	test_failures();
	test_callback_error();
	test_not_netlink();
	test_file();
	test_file_chunks();
	return check_exit();
}
