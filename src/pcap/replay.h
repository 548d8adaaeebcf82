/*
 * replay.h - decode the SOCK_DIAG dumps recorded in a netlink pcap.
 *
 * Contract: a capture (link type 253: a 16-byte cooked header, then the
 * netlink datagram; as recorded on an nlmon interface) holds requests
 * (outgoing, packet type 4) and reply datagrams. Each SOCK_DIAG_BY_FAMILY
 * request starts a dump; the replies that follow are parsed with
 * nl_parse.h, their sequence numbers checked against that request, and one
 * callback per socket is made with timestamp_ns set to the capture time and
 * poll_seq to the dump's ordinal (1-based). A malformed datagram or failed
 * dump is counted and replay goes on with the next dump; an unreadable
 * file or non-netlink capture fails the whole replay, and so does a
 * callback that returns < 0 (replay stops and returns that value: a broken
 * output must not keep the decoder running).
 * Thread-safety: reentrant (no globals).
 */
#ifndef TS_REPLAY_H
#define TS_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "../netlink/nl_parse.h"
#include "pcap.h"

struct replay_stats {
	uint64_t packets;	/* pcap records read */
	uint64_t requests;	/* SOCK_DIAG_BY_FAMILY requests (dumps begun) */
	uint64_t datagrams;	/* reply datagrams fed to the parser */
	uint64_t dumps_done;	/* dumps that reached NLMSG_DONE */
	uint64_t records;	/* sockets delivered */
	uint64_t unknown_attrs; /* attributes skipped as unknown */
	uint64_t errors;	/* malformed datagrams / failed dumps */
	uint64_t dump_intr;	/* dumps marked NLM_F_DUMP_INTR */
	uint64_t skipped; /* packets of other protocols or stray replies */
};

/* What replay_file() reads at a time: room for the largest record. */
#define REPLAY_CHUNK (4u * (PCAP_REC_HDR + PCAP_MAX_CAPLEN))

/* 0 (even if some dumps failed: see st->errors), or -errno when the input
 * is not a netlink pcap (-EBADMSG: not a pcap; -EPROTONOSUPPORT: another
 * link type). `st` is zeroed first. */
int replay_buffer(const void *buf, size_t len, nl_record_fn fn, void *arg,
		  struct replay_stats *st);

/* replay_buffer() over a file, or standard input for "-", read with
 * read(2) REPLAY_CHUNK bytes at a time (one buffer, allocated once): a
 * pipe works, and a file that shrinks meanwhile ends the capture there (a
 * cut record is counted in st->errors), never with a signal. -errno when
 * it cannot be opened or read or is not a netlink pcap; `err` then gets
 * the reason ("not a pcap file", "link type 1, expected 253 (netlink)",
 * strerror). `st` (may be NULL) is zeroed once the file is open. */
int replay_file(const char *path, nl_record_fn fn, void *arg,
		struct replay_stats *st, char *err, size_t errlen);

#endif
