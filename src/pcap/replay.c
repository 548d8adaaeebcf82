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
 * -errno. The parser lives on the stack; replay_file() allocates its one
 * read buffer (REPLAY_CHUNK) and reads with read(2), not mmap: a file that
 * shrinks under a mapping kills the reader with SIGBUS.
 */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void ctx_init(struct replay_ctx *c, nl_record_fn fn, void *arg,
		     struct replay_stats *st)
{
	memset(c, 0, offsetof(struct replay_ctx, p));
	c->fn = fn;
	c->arg = arg;
	c->st = st;
}

/* The global header of a capture whose first len bytes are buf: 0, or
 * -EBADMSG / -EPROTONOSUPPORT with the reason in err (when not NULL). */
static int start(struct pcap_reader *r, const unsigned char *buf, size_t len,
		 char *err, size_t errlen)
{
	static const unsigned char pcapng[4] = { 0x0a, 0x0d, 0x0d, 0x0a };
	int rc = pcap_reader_init(r, buf, len);

	if (rc < 0) {
		if (!err)
			return rc;
		if (len == 0)
			snprintf(err, errlen, "empty, not a pcap file");
		else if (len >= 4 && memcmp(buf, pcapng, 4) == 0)
			snprintf(err, errlen,
				 "not a pcap file but pcapng (convert it: "
				 "editcap -F pcap IN OUT)");
		else if (len < PCAP_GLOBAL_HDR)
			snprintf(err, errlen,
				 "not a pcap file (%zu bytes, shorter than "
				 "the %u-byte header)",
				 len, PCAP_GLOBAL_HDR);
		else
			snprintf(err, errlen, "not a pcap file");
		return rc;
	}
	if (r->linktype != PCAP_LINKTYPE_NETLINK) {
		if (err)
			snprintf(err, errlen,
				 "link type %u, expected %u (netlink)",
				 r->linktype, PCAP_LINKTYPE_NETLINK);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

/* The records in the reader's buffer: 0 at its clean end, -EBADMSG at a
 * record it cannot frame there, or the callback's error (c->cb_err). */
static int replay_records(struct replay_ctx *c, struct pcap_reader *r)
{
	struct pcap_pkt pkt;
	int rc;

	while ((rc = pcap_next(r, &pkt)) == 1) {
		c->st->packets++;
		rc = replay_packet(c, &pkt);
		if (rc < 0)
			return rc;
	}
	return rc;
}

/* The end of the capture; framing < 0: a record could not be framed, and
 * nothing after it can be. */
static void finish(struct replay_ctx *c, int framing)
{
	if (framing < 0)
		c->st->errors++;
	if (c->active) { /* the capture ended inside a dump */
		c->st->errors++;
		close_dump(c);
	}
}

int replay_buffer(const void *buf, size_t len, nl_record_fn fn, void *arg,
		  struct replay_stats *st)
{
	struct replay_stats local;
	struct pcap_reader r;
	struct replay_ctx c;
	int rc;

	if (!st)
		st = &local;
	memset(st, 0, sizeof(*st));
	rc = start(&r, buf, len, NULL, 0);
	if (rc < 0)
		return rc;
	ctx_init(&c, fn, arg, st);
	rc = replay_records(&c, &r);
	if (c.cb_err)
		return c.cb_err;
	finish(&c, rc);
	return 0;
}

/* Reads into buf[*n..cap) until it holds at least `want` bytes or the
 * input ends (*eof): a file fills the buffer in one read, a pipe gives
 * what it has, and what it has is decoded without waiting for more.
 * 0 or -errno. */
static int fill(int fd, unsigned char *buf, size_t cap, size_t want, size_t *n,
		int *eof)
{
	while (*n < want && !*eof) {
		ssize_t got = read(fd, buf + *n, cap - *n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			*eof = 1;
		*n += (size_t)got;
	}
	return 0;
}

/* The capture on fd, at most REPLAY_CHUNK bytes at a time: a record cut
 * by the end of what was read moves to the buffer's front and the rest is
 * read after it; as the buffer holds the largest record, one that cannot
 * be framed with that much room is corrupt, or cut by the end of the
 * input. */
static int replay_fd(int fd, unsigned char *buf, struct replay_ctx *c,
		     char *err, size_t errlen)
{
	struct pcap_reader r;
	size_t n = 0;
	int eof = 0, rc;

	rc = fill(fd, buf, REPLAY_CHUNK, PCAP_GLOBAL_HDR, &n, &eof);
	if (rc < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	rc = start(&r, buf, n, err, errlen);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = replay_records(c, &r);
		if (c->cb_err)
			return c->cb_err;
		if (eof || n - r.off >= PCAP_REC_HDR + PCAP_MAX_CAPLEN)
			break;
		n -= r.off;
		memmove(buf, buf + r.off, n);
		rc = fill(fd, buf, REPLAY_CHUNK, n + 1, &n, &eof);
		if (rc < 0) {
			snprintf(err, errlen, "%s", strerror(-rc));
			return rc;
		}
		pcap_reader_rebase(&r, buf, n);
	}
	finish(c, rc);
	return 0;
}

int replay_file(const char *path, nl_record_fn fn, void *arg,
		struct replay_stats *st, char *err, size_t errlen)
{
	int stdin_ = strcmp(path, "-") == 0;
	int fd = stdin_ ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	struct replay_stats local;
	struct replay_ctx c;
	unsigned char *buf;
	int rc;

	if (!st)
		st = &local;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s", strerror(-rc));
		return rc;
	}
	buf = malloc(REPLAY_CHUNK);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	} else {
		memset(st, 0, sizeof(*st));
		ctx_init(&c, fn, arg, st);
		rc = replay_fd(fd, buf, &c, err, errlen);
	}
	free(buf);
	if (!stdin_)
		close(fd);
	return rc;
}
