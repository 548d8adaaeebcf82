/* nl_request.c - SOCK_DIAG_BY_FAMILY request builder (see nl_request.h). */
#include "nl_request.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>

#include "../util/list.h"

/* The header, the request body (hdrlen bytes, already in r->body) and the
 * bytecode after it, at the attribute offset the kernel expects. */
static void finish(struct nl_diag_request *r, uint16_t type, size_t hdrlen,
		   uint32_t seq, const uint8_t *bc, size_t bclen)
{
	size_t len = NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen);

	if (bc && bclen && bclen <= NL_FILTER_MAX) {
		struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + bclen),
				    .nla_type = INET_DIAG_REQ_BYTECODE };
		uint8_t *p = (uint8_t *)r + len;
		memcpy(p, &a, sizeof(a));
		memcpy(p + NLA_HDRLEN, bc, bclen);
		len += NLA_HDRLEN + NLA_ALIGN(bclen);
	}
	r->nlh.nlmsg_len = (uint32_t)len;
	r->nlh.nlmsg_type = type;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r->nlh.nlmsg_seq = seq;
	r->nlh.nlmsg_pid = 0;
}

void nl_request_build(struct nl_diag_request *r, uint8_t family,
		      uint32_t states, uint8_t ext, uint32_t seq,
		      const uint8_t *bc, size_t bclen)
{
	struct inet_diag_req_v2 q;

	memset(&q, 0, sizeof(q));
	q.sdiag_family = family;
	q.sdiag_protocol = IPPROTO_TCP;
	q.idiag_ext = ext;
	q.idiag_states = states;
	/* no cookie filter: dump everything */
	q.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	q.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	memcpy(r->body, &q, sizeof(q));
	finish(r, SOCK_DIAG_BY_FAMILY, sizeof(q), seq, bc, bclen);
}

void nl_request_build_one_walk(struct nl_diag_request *r, uint32_t states,
			       uint8_t ext, uint32_t seq, const uint8_t *bc,
			       size_t bclen)
{
	struct inet_diag_req q;

	memset(&q, 0, sizeof(q));
	q.idiag_family = AF_UNSPEC;
	q.idiag_ext = ext;
	q.idiag_states = states;
	q.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	q.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	memcpy(r->body, &q, sizeof(q));
	finish(r, TCPDIAG_GETSOCK, sizeof(q), seq, bc, bclen);
}

static const struct {
	const char *name;
	uint8_t bits;
} ext_names[] = {
	{ "meminfo", NL_EXT(INET_DIAG_MEMINFO) },
	{ "info", NL_EXT(INET_DIAG_INFO) },
	{ "vegasinfo", NL_EXT(INET_DIAG_VEGASINFO) },
	{ "ccinfo", NL_EXT(INET_DIAG_VEGASINFO) },
	{ "cong", NL_EXT(INET_DIAG_CONG) },
	{ "tos", NL_EXT(INET_DIAG_TOS) },
	{ "tclass", NL_EXT(INET_DIAG_TCLASS) },
	{ "skmeminfo", NL_EXT(INET_DIAG_SKMEMINFO) },
	{ "default", NL_EXT_DEFAULT },
	{ "all", NL_EXT_DEFAULT | NL_EXT(INET_DIAG_MEMINFO) },
};

struct ext_ctx {
	uint8_t ext;
};

static int add_ext(const char *item, size_t n, void *arg)
{
	struct ext_ctx *c = arg;

	for (size_t i = 0; i < sizeof(ext_names) / sizeof(ext_names[0]); i++) {
		if (strlen(ext_names[i].name) == n &&
		    strncmp(item, ext_names[i].name, n) == 0) {
			c->ext |= ext_names[i].bits;
			return 0;
		}
	}
	return -EINVAL;
}

int nl_ext_parse(const char *list, uint8_t *ext_out, const char **bad,
		 size_t *badlen)
{
	struct ext_ctx c = { 0 };
	const char *at;

	if (ts_list_each(list, add_ext, &c, &at) < 0) {
		if (bad)
			*bad = at;
		if (badlen)
			*badlen = strcspn(at, ",");
		return -EINVAL;
	}
	*ext_out = c.ext;
	return 0;
}
