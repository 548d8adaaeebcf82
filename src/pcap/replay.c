/*
 * replay.c - decode the SOCK_DIAG dumps recorded in a netlink pcap
 * (see replay.h).
 *
 * Contract: every packet of a link-type-253 capture is classified by its
 * cooked header and its first netlink header: a NETLINK_SOCK_DIAG
 * SOCK_DIAG_BY_FAMILY request starts a dump (its sequence number is what
 * the replies must carry); the datagrams that follow are fed to one
 * nl_parser until NLMSG_DONE or a failure. Records reach the caller with
 * timestamp_ns = capture time of their datagram and poll_seq = the dump's
 * 1-based ordinal. Packets of other netlink protocols, other requests and
 * replies outside a dump are counted as skipped. Bad datagrams, failed
 * dumps and dumps cut short (a new request or the end of the capture before
 * NLMSG_DONE) are counted in `errors` and replay goes on. Only a non-pcap
 * or non-netlink input, or a callback returning < 0, ends it early with
 * -errno. No allocation: the parser lives on the stack.
 */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcap.h"

/* LINKTYPE_NETLINK "cooked" header: pkttype, ARPHRD, address length,
 * 8 address bytes, then the netlink protocol, all big-endian. */
#define COOKED_HDR_LEN	 16u
#define COOKED_PROTO_OFF 14u

struct replay_ctx {
	nl_record_fn fn;
	void *arg;
	struct replay_stats *st;
	uint64_t ts_ns;	   /* capture time of the datagram being parsed */
	uint64_t dump_seq; /* ordinal of the current dump (1-based) */
	int active;	   /* a dump is open: replies are expected */
	int cb_err;	   /* the caller's callback failed: stop */
	struct nl_parser p;
};

/* Stamps the replay-side fields, then hands the record to the caller. */
static int on_record(struct ts_record *rec, void *arg)
{
	struct replay_ctx *c = arg;
	int rc;

	rec->timestamp_ns = c->ts_ns;
	rec->poll_seq = c->dump_seq;
	rc = c->fn ? c->fn(rec, c->arg) : 0;
	if (rc < 0) {
		c->cb_err = rc;
		return rc;
	}
	c->st->records++;
	return 0;
}

static void close_dump(struct replay_ctx *c)
{
	c->st->unknown_attrs += c->p.unknown_attrs;
	c->active = 0;
}

static void begin_dump(struct replay_ctx *c, uint32_t seq)
{
	if (c->active) {
		/* The previous dump never reached NLMSG_DONE. */
		c->st->errors++;
		close_dump(c);
	}
	c->st->requests++;
	c->dump_seq++;
	/* The request was captured with nlmsg_pid 0 (the kernel fills in the
	 * sender's port on receipt), so only the sequence can be checked. */
	nl_parser_init(&c->p, seq, 0, NL_PARSE_CHECK_SEQ, on_record, c);
	c->active = 1;
}

static void feed_reply(struct replay_ctx *c, const unsigned char *nl,
		       size_t len, uint64_t ts_ns)
{
	int rc;

	if (!c->active) {
		c->st->skipped++;
		return;
	}
	c->st->datagrams++;
	c->ts_ns = ts_ns;
	rc = nl_parser_feed(&c->p, nl, len);
	if (c->cb_err)
		return;
	if (rc == 1) {
		c->st->dumps_done++;
		if (c->p.dump_intr)
			c->st->dump_intr++;
		close_dump(c);
	} else if (rc < 0) {
		c->st->errors++;
		close_dump(c);
	}
}

/* One pcap record. Returns 0, or the callback's error to stop. */
static int replay_packet(struct replay_ctx *c, const struct pcap_pkt *pkt)
{
	const unsigned char *nl;
	struct nlmsghdr h;
	size_t len;
	uint16_t proto;

	if (pkt->caplen < COOKED_HDR_LEN) {
		c->st->errors++;
		return 0;
	}
	proto = (uint16_t)(pkt->data[COOKED_PROTO_OFF] << 8 |
			   pkt->data[COOKED_PROTO_OFF + 1]);
	if (proto != NETLINK_SOCK_DIAG) {
		c->st->skipped++;
		return 0;
	}
	nl = pkt->data + COOKED_HDR_LEN;
	len = pkt->caplen - COOKED_HDR_LEN;
	/*
	 * Direction comes from the netlink flags, not the cooked pkttype:
	 * nlmon hands every message to the tap as transmitted, so requests
	 * and replies alike arrive as PACKET_OUTGOING (4). Only a request
	 * carries NLM_F_REQUEST.
	 */
	if (len >= sizeof(h)) {
		memcpy(&h, nl, sizeof(h));
		if (h.nlmsg_flags & NLM_F_REQUEST) {
			if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY)
				begin_dump(c, h.nlmsg_seq);
			else
				c->st->skipped++;
			return 0;
		}
	}
	feed_reply(c, nl, len, pkt->ts_ns);
	return c->cb_err;
}

int replay_buffer(const void *buf, size_t len, nl_record_fn fn, void *arg,
		  struct replay_stats *st)
{
	struct replay_stats local;
	struct pcap_reader r;
	struct pcap_pkt pkt;
	struct replay_ctx c;
	int rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	rc = pcap_reader_init(&r, buf, len);
	if (rc < 0)
		return rc;
	if (r.linktype != PCAP_LINKTYPE_NETLINK)
		return -EPROTONOSUPPORT;

	memset(&c, 0, offsetof(struct replay_ctx, p));
	c.fn = fn;
	c.arg = arg;
	c.st = st;
	while ((rc = pcap_next(&r, &pkt)) == 1) {
		st->packets++;
		rc = replay_packet(&c, &pkt);
		if (rc < 0)
			return rc;
	}
	if (rc < 0) /* truncated record: nothing after it can be framed */
		st->errors++;
	if (c.active) { /* the capture ended inside a dump */
		st->errors++;
		close_dump(&c);
	}
	return 0;
}

int replay_file(const char *path, nl_record_fn fn, void *arg,
		struct replay_stats *st)
{
	struct stat sb;
	void *map;
	size_t len;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) { /* pipes and devices cannot be mapped */
		close(fd);
		return -EINVAL;
	}
	if ((uintmax_t)sb.st_size > SIZE_MAX) {
		close(fd);
		return -EFBIG;
	}
	len = (size_t)sb.st_size;
	if (len == 0) { /* mmap() rejects length 0; the reader says why */
		close(fd);
		return replay_buffer(NULL, 0, fn, arg, st);
	}
	map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	rc = map == MAP_FAILED ? -errno : 0;
	close(fd); /* the mapping keeps the file's pages */
	if (rc < 0)
		return rc;
	rc = replay_buffer(map, len, fn, arg, st);
	munmap(map, len);
	return rc;
}
