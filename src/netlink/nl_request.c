/* nl_request.c - SOCK_DIAG_BY_FAMILY request builder (see nl_request.h). */
#include "nl_request.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>

void nl_request_build(struct nl_diag_request *r, uint8_t family,
		      uint32_t states, uint8_t ext, uint32_t seq)
{
	memset(r, 0, sizeof(*r));
	r->nlh.nlmsg_len = sizeof(*r);
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

int nl_ext_parse(const char *list, uint8_t *ext_out, const char **bad,
		 size_t *badlen)
{
	uint8_t ext = 0;
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");
		size_t i;
		for (i = 0; i < sizeof(ext_names) / sizeof(ext_names[0]); i++)
			if (strlen(ext_names[i].name) == n &&
			    strncmp(p, ext_names[i].name, n) == 0)
				break;
		if (i == sizeof(ext_names) / sizeof(ext_names[0])) {
			if (bad)
				*bad = p;
			if (badlen)
				*badlen = n;
			return -EINVAL;
		}
		ext |= ext_names[i].bits;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*ext_out = ext;
	return 0;
}
