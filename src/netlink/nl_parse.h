/*
 * nl_parse.h - pure parser of SOCK_DIAG_BY_FAMILY dump replies.
 *
 * Contract: bytes in, records out. No I/O, no allocation, no logging; every
 * length is checked before it is read, so malformed input yields -EBADMSG
 * (or the errno the kernel reported), never a read outside the buffer.
 *  - nl_parser_feed() takes one received datagram (any number of netlink
 *    messages) and calls `fn` once per inet_diag_msg with a record owned by
 *    the parser: valid only during the callback (which may stamp the
 *    daemon-side fields in place), copy what you keep.
 *  - The parser's state says whether the dump is done (NLMSG_DONE), was
 *    marked inconsistent (NLM_F_DUMP_INTR), or failed (NLMSG_ERROR, bad
 *    seq/port, malformed bytes). Records received before a failure have
 *    already been delivered.
 *  - nl_decode_msg() and nl_decode_attrs() are the building blocks, exposed
 *    for tests, fuzzing and replay of single attributes.
 * Thread-safety: a parser is used by one thread at a time.
 */
#ifndef TS_NL_PARSE_H
#define TS_NL_PARSE_H

#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

#include "../record/record.h"

/* uapi names older headers lack (extended acks, capped errors) */
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif

/* Return < 0 from the callback to stop parsing; that value is returned by
 * nl_parser_feed() and recorded as the parser's error. */
typedef int (*nl_record_fn)(struct ts_record *rec, void *arg);

enum nl_parse_flags {
	NL_PARSE_CHECK_SEQ = 1 << 0,  /* nlmsg_seq must equal `seq` */
	NL_PARSE_CHECK_PORT = 1 << 1, /* nlmsg_pid must equal `portid` */
};

struct nl_parser {
	/* configuration, set by nl_parser_init() */
	uint32_t seq;
	uint32_t portid;
	unsigned flags;
	nl_record_fn fn;
	void *arg;
	/* results */
	uint64_t records;	/* inet_diag_msg delivered */
	uint64_t unknown_attrs; /* attributes skipped as unknown */
	uint64_t messages;	/* netlink messages seen */
	int done;		/* NLMSG_DONE seen */
	int dump_intr;		/* NLM_F_DUMP_INTR seen on any message */
	int error;		/* 0, or -errno of the first failure */
	char errmsg[128];	/* extended ack text or what was malformed */
	/* scratch */
	struct ts_record rec;
};

void nl_parser_init(struct nl_parser *p, uint32_t seq, uint32_t portid,
		    unsigned flags, nl_record_fn fn, void *arg);

/*
 * Parse one datagram. Returns 1 when the dump is complete (NLMSG_DONE),
 * 0 when more datagrams are expected, -errno on failure (also stored in
 * p->error; later calls return it again without parsing).
 */
int nl_parser_feed(struct nl_parser *p, const void *buf, size_t len);

/* Decode one inet_diag_msg payload (header + attributes) into *rec, which is
 * zeroed first. *unknown is incremented per unknown attribute. Returns 0 or
 * -EBADMSG. */
int nl_decode_msg(const void *payload, size_t len, struct ts_record *rec,
		  uint64_t *unknown);

/* Decode a run of rtattrs into *rec (not zeroed). Returns 0 or -EBADMSG. */
int nl_decode_attrs(const void *attrs, size_t len, struct ts_record *rec,
		    uint64_t *unknown);

#endif
