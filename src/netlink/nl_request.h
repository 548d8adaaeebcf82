/*
 * nl_request.h - build SOCK_DIAG_BY_FAMILY dump requests (pure).
 *
 * Contract: nl_request_build() fills a caller-owned struct with one
 * inet_diag_req_v2 dump request for IPPROTO_TCP, with the --filter
 * bytecode as its INET_DIAG_REQ_BYTECODE attribute when there is one
 * (bclen <= NL_FILTER_MAX). The attribute-name helpers
 * map `--attrs` names to idiag_ext bits. No I/O, no allocation.
 * Thread-safety: reentrant.
 */
#ifndef TS_NL_REQUEST_H
#define TS_NL_REQUEST_H

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

/* idiag_ext bit asking for attribute `type` (INET_DIAG_MEMINFO..SKMEMINFO) */
#define NL_EXT(type) (1u << ((type)-1))

/* INFO, CONG, TOS, TCLASS, SKMEMINFO and VEGASINFO (the bit through which
 * the kernel also sends DCTCPINFO and BBRINFO). MEMINFO only when asked. */
#define NL_EXT_DEFAULT                                                         \
	(NL_EXT(INET_DIAG_INFO) | NL_EXT(INET_DIAG_CONG) |                     \
	 NL_EXT(INET_DIAG_TOS) | NL_EXT(INET_DIAG_TCLASS) |                    \
	 NL_EXT(INET_DIAG_SKMEMINFO) | NL_EXT(INET_DIAG_VEGASINFO))

#include "nl_filter.h"

/* nlh.nlmsg_len bytes are sent: the request (inet_diag_req_v2, or the
 * legacy inet_diag_req of a one-walk dump), then the bytecode attribute
 * when there is a filter. */
struct nl_diag_request {
	struct nlmsghdr nlh;
	uint8_t body[sizeof(struct inet_diag_req) + NLA_HDRLEN + NL_FILTER_MAX];
};

/* One walk of the hash for both families: the legacy TCPDIAG_GETSOCK
 * request with family AF_UNSPEC, which the kernel still serves through
 * its compat path (inet_diag_rcv_msg_compat: states, ext, bytecode and
 * the socket id are carried over; nothing the v2 request of tcpscope
 * uses is lost). Same arguments as nl_request_build(). */
void nl_request_build_one_walk(struct nl_diag_request *r, uint32_t states,
			       uint8_t ext, uint32_t seq, const uint8_t *bc,
			       size_t bclen);

/* bc/bclen: compiled --filter bytecode (nl_filter.h), or NULL/0. */
void nl_request_build(struct nl_diag_request *r, uint8_t family,
		      uint32_t states, uint8_t ext, uint32_t seq,
		      const uint8_t *bc, size_t bclen);

/* Parses a comma-separated list of attribute names (info, cong, tos,
 * tclass, skmeminfo, meminfo, vegasinfo; "all" = every one, "default" =
 * NL_EXT_DEFAULT) into idiag_ext bits. -EINVAL names the bad item in
 * `bad` (may be NULL). */
int nl_ext_parse(const char *list, uint8_t *ext_out, const char **bad,
		 size_t *badlen);

#endif
