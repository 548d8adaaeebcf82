/* nl_parse.c - pure SOCK_DIAG reply parser (see nl_parse.h). */
#include "nl_parse.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#define ATTR_HDR  ((size_t)sizeof(struct rtattr))
#define ALIGN4(x) (((x) + 3u) & ~(size_t)3u)

/* Copies min(len, cap) bytes and zeroes the rest: attributes grow with the
 * kernel, and shorter ones come from older kernels. */
static void copy_fit(void *dst, size_t cap, const void *src, size_t len)
{
	size_t n = len < cap ? len : cap;
	memcpy(dst, src, n);
	if (n < cap)
		memset((char *)dst + n, 0, cap - n);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static void decode_u32s(uint32_t *out, size_t n, const unsigned char *p,
			size_t len)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (i + 1) * 4 <= len ? get_u32(p + i * 4) : 0;
}

static void decode_cong(struct ts_record *rec, const unsigned char *p,
			size_t len)
{
	size_t n = strnlen((const char *)p, len);
	if (n >= sizeof(rec->cong))
		n = sizeof(rec->cong) - 1;
	memcpy(rec->cong, p, n);
	rec->cong[n] = '\0';
	rec->cong_enum = ts_cong_from_name(rec->cong);
}

static void decode_cc_info(struct ts_record *rec, unsigned type,
			   const unsigned char *p, size_t len)
{
	uint32_t v[5];
	uint16_t h[2] = { 0, 0 };

	decode_u32s(v, 5, p, len);
	switch (type) {
	case INET_DIAG_VEGASINFO:
		rec->vegas_enabled = v[0];
		rec->vegas_rttcnt = v[1];
		rec->vegas_rtt = v[2];
		rec->vegas_minrtt = v[3];
		break;
	case INET_DIAG_DCTCPINFO:
		/* two u16 (enabled, ce_state) then three u32 */
		if (len >= 4)
			memcpy(h, p, sizeof(h));
		rec->dctcp_enabled = h[0];
		rec->dctcp_ce_state = h[1];
		rec->dctcp_alpha = v[1];
		rec->dctcp_ab_ecn = v[2];
		rec->dctcp_ab_tot = v[3];
		break;
	case INET_DIAG_BBRINFO:
		rec->bbr_bw_lo = v[0];
		rec->bbr_bw_hi = v[1];
		rec->bbr_bw = ((uint64_t)v[1] << 32) | v[0];
		rec->bbr_min_rtt = v[2];
		rec->bbr_pacing_gain = v[3];
		rec->bbr_cwnd_gain = v[4];
		break;
	}
}

/* Returns 1 when the type is known (decoded or deliberately ignored). */
static int decode_attr(struct ts_record *rec, unsigned type,
		       const unsigned char *p, size_t len)
{
	uint16_t u16 = 0;
	uint64_t u64 = 0;

	switch (type) {
	case INET_DIAG_MEMINFO: {
		uint32_t m[4];
		decode_u32s(m, 4, p, len);
		rec->mem_rmem = m[0];
		rec->mem_wmem = m[1];
		rec->mem_fmem = m[2];
		rec->mem_tmem = m[3];
		break;
	}
	case INET_DIAG_INFO:
		rec->tcp_info_size =
			len > UINT16_MAX ? UINT16_MAX : (uint16_t)len;
		copy_fit(&rec->info, sizeof(rec->info), p, len);
		break;
	case INET_DIAG_CONG:
		decode_cong(rec, p, len);
		break;
	case INET_DIAG_TOS:
		rec->tos = len >= 1 ? p[0] : 0;
		break;
	case INET_DIAG_TCLASS:
		rec->tclass = len >= 1 ? p[0] : 0;
		break;
	case INET_DIAG_SHUTDOWN:
		rec->shutdown = len >= 1 ? p[0] : 0;
		break;
	case INET_DIAG_SKV6ONLY:
		rec->v6only = len >= 1 ? p[0] : 0;
		break;
	case INET_DIAG_SKMEMINFO:
		decode_u32s(rec->skmem, TS_SKMEM_VARS, p, len);
		break;
	case INET_DIAG_VEGASINFO:
	case INET_DIAG_DCTCPINFO:
	case INET_DIAG_BBRINFO:
		decode_cc_info(rec, type, p, len);
		break;
	case INET_DIAG_CLASS_ID:
		decode_u32s(&rec->class_id, 1, p, len);
		break;
	case INET_DIAG_MARK:
		decode_u32s(&rec->mark, 1, p, len);
		break;
	case INET_DIAG_CGROUP_ID:
		copy_fit(&u64, sizeof(u64), p, len);
		rec->cgroup_id = u64;
		break;
	case INET_DIAG_SOCKOPT:
		copy_fit(&u16, sizeof(u16), p, len);
		rec->sockopt = u16;
		break;
	case INET_DIAG_PROTOCOL: /* always IPPROTO_TCP here */
	case INET_DIAG_PAD:
	case INET_DIAG_MD5SIG:
	case INET_DIAG_ULP_INFO:
	case INET_DIAG_SK_BPF_STORAGES:
		return 1;
	default:
		return 0;
	}
	if (type < 32)
		rec->present |= 1u << type;
	return 1;
}

int nl_decode_attrs(const void *attrs, size_t len, struct ts_record *rec,
		    uint64_t *unknown)
{
	const unsigned char *p = attrs;

	while (len >= ATTR_HDR) {
		struct rtattr rta;
		memcpy(&rta, p, sizeof(rta));
		if (rta.rta_len < ATTR_HDR || rta.rta_len > len)
			return -EBADMSG;
		/* NLA_F_NESTED / NLA_F_NET_BYTEORDER are not type bits */
		unsigned type = rta.rta_type & 0x3fff;
		if (!decode_attr(rec, type, p + ATTR_HDR,
				 rta.rta_len - ATTR_HDR))
			(*unknown)++;
		size_t step = ALIGN4(rta.rta_len);
		if (step >= len)
			return 0;
		p += step;
		len -= step;
	}
	/* 1-3 trailing bytes cannot hold an attribute: malformed */
	return len == 0 ? 0 : -EBADMSG;
}

int nl_decode_msg(const void *payload, size_t len, struct ts_record *rec,
		  uint64_t *unknown)
{
	struct inet_diag_msg m;
	const size_t hdr = ALIGN4(sizeof(m));

	if (len < sizeof(m))
		return -EBADMSG;
	memcpy(&m, payload, sizeof(m));
	memset(rec, 0, sizeof(*rec));
	rec->family = m.idiag_family;
	rec->state = m.idiag_state;
	rec->timer = m.idiag_timer;
	rec->retrans = m.idiag_retrans;
	rec->sport = ntohs(m.id.idiag_sport);
	rec->dport = ntohs(m.id.idiag_dport);
	memcpy(rec->src, m.id.idiag_src, sizeof(rec->src));
	memcpy(rec->dst, m.id.idiag_dst, sizeof(rec->dst));
	rec->ifindex = m.id.idiag_if;
	rec->cookie =
		((uint64_t)m.id.idiag_cookie[1] << 32) | m.id.idiag_cookie[0];
	rec->expires = m.idiag_expires;
	rec->rqueue = m.idiag_rqueue;
	rec->wqueue = m.idiag_wqueue;
	rec->uid = m.idiag_uid;
	rec->inode = m.idiag_inode;
	if (len <= hdr)
		return 0;
	return nl_decode_attrs((const unsigned char *)payload + hdr, len - hdr,
			       rec, unknown);
}

void nl_parser_init(struct nl_parser *p, uint32_t seq, uint32_t portid,
		    unsigned flags, nl_record_fn fn, void *arg)
{
	memset(p, 0, offsetof(struct nl_parser, rec));
	p->seq = seq;
	p->portid = portid;
	p->flags = flags;
	p->fn = fn;
	p->arg = arg;
}

static int fail(struct nl_parser *p, int err, const char *what)
{
	p->error = err;
	if (what && !p->errmsg[0])
		snprintf(p->errmsg, sizeof(p->errmsg), "%s", what);
	return err;
}

/* NLMSG_ERROR: errno in nlmsgerr, optional extended-ack text after it. */
static int on_error_msg(struct nl_parser *p, const struct nlmsghdr *h,
			const unsigned char *payload, size_t plen)
{
	struct nlmsgerr e;

	if (plen < sizeof(e))
		return fail(p, -EBADMSG, "truncated NLMSG_ERROR");
	memcpy(&e, payload, sizeof(e));
	if (e.error == 0) /* an ACK, not an error */
		return 0;
	if (h->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* capped: only the request header was echoed back */
		size_t off = sizeof(e);
		if (!(h->nlmsg_flags & NLM_F_CAPPED))
			off += ALIGN4(e.msg.nlmsg_len) - sizeof(e.msg);
		while (off + ATTR_HDR <= plen) {
			struct rtattr a;
			memcpy(&a, payload + off, sizeof(a));
			if (a.rta_len < ATTR_HDR || a.rta_len > plen - off)
				break;
			if ((a.rta_type & 0x3fff) == NLMSGERR_ATTR_MSG) {
				size_t n = a.rta_len - ATTR_HDR;
				if (n >= sizeof(p->errmsg))
					n = sizeof(p->errmsg) - 1;
				memcpy(p->errmsg, payload + off + ATTR_HDR, n);
				p->errmsg[n] = '\0';
				break;
			}
			off += ALIGN4(a.rta_len);
		}
	}
	return fail(p, e.error < 0 ? e.error : -e.error, NULL);
}

static int on_message(struct nl_parser *p, const struct nlmsghdr *h,
		      const unsigned char *payload, size_t plen)
{
	if ((p->flags & NL_PARSE_CHECK_SEQ) && h->nlmsg_seq != p->seq)
		return fail(p, -EPROTO,
			    "reply with an unexpected sequence number");
	if ((p->flags & NL_PARSE_CHECK_PORT) && h->nlmsg_pid != p->portid)
		return fail(p, -EPROTO, "reply for another netlink port");
	if (h->nlmsg_flags & NLM_F_DUMP_INTR)
		p->dump_intr = 1;

	switch (h->nlmsg_type) {
	case NLMSG_DONE:
		p->done = 1;
		return 1;
	case NLMSG_ERROR:
		return on_error_msg(p, h, payload, plen);
	case NLMSG_NOOP:
		return 0;
	case SOCK_DIAG_BY_FAMILY:
	case TCPDIAG_GETSOCK: /* a one-walk dump's replies (same payload) */
		break;
	default:
		return fail(p, -EBADMSG, "unexpected netlink message type");
	}
	if (nl_decode_msg(payload, plen, &p->rec, &p->unknown_attrs) < 0)
		return fail(p, -EBADMSG, "malformed inet_diag message");
	p->records++;
	int rc = p->fn ? p->fn(&p->rec, p->arg) : 0;
	return rc < 0 ? fail(p, rc, "record callback failed") : 0;
}

int nl_parser_feed(struct nl_parser *p, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (p->error)
		return p->error;
	if (p->done)
		return 1;
	if (len == 0)
		return fail(p, -EBADMSG, "empty datagram");
	while (len > 0) {
		struct nlmsghdr h;
		if (len < sizeof(h))
			return fail(p, -EBADMSG, "truncated netlink header");
		memcpy(&h, b, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len)
			return fail(p, -EBADMSG,
				    "netlink message length out of bounds");
		p->messages++;
		int rc = on_message(p, &h, b + sizeof(h),
				    h.nlmsg_len - sizeof(h));
		if (rc != 0)
			return rc;
		size_t step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len)
			break;
		b += step;
		len -= step;
	}
	return 0;
}
