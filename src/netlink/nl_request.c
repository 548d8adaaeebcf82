/* nl_request.c - SOCK_DIAG_BY_FAMILY request builder (see nl_request.h). */
#include "nl_request.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>

#include "../util/list.h"

void nl_request_build(struct nl_diag_request *r, uint8_t family,
		      uint32_t states, uint8_t ext, uint32_t seq,
		      const uint8_t *bc, size_t bclen)
{
	/* only the header parts: the bytecode buffer is written below */
	memset(r, 0, offsetof(struct nl_diag_request, bc));
	r->nlh.nlmsg_len = offsetof(struct nl_diag_request, bc_attr);
	if (bc && bclen && bclen <= sizeof(r->bc)) {
		r->bc_attr.nla_type = INET_DIAG_REQ_BYTECODE;
		r->bc_attr.nla_len = (uint16_t)(NLA_HDRLEN + bclen);
		memcpy(r->bc, bc, bclen);
		r->nlh.nlmsg_len += NLA_HDRLEN + NLA_ALIGN(bclen);
	}
	r->nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r->nlh.nlmsg_seq = seq;
	r->req.sdiag_family = family;
	r->req.sdiag_protocol = IPPROTO_TCP;
	r->req.idiag_ext = ext;
	r->req.idiag_states = states;
	/* no cookie filter: dump everything */
	r->req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	r->req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
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
