/*
 * close_set.h - close events: the last inet_diag message of every TCP
 * socket the kernel frees, received from one listening sock_diag socket
 * per namespace (--close-events).
 *
 * Kernel side (net/core/sock_diag.c): while a socket of a namespace is
 * joined to SKNLGRP_INET_TCP_DESTROY or SKNLGRP_INET6_TCP_DESTROY, the
 * kernel builds, for every user TCP socket it frees there, one
 * SOCK_DIAG_BY_FAMILY message (inet_diag_handler_get_info(): the socket's
 * header, INET_DIAG_PROTOCOL and INET_DIAG_INFO, nothing else: no
 * congestion name, no skmeminfo, uid and inode 0) and multicasts it, one
 * message per datagram, seq and port 0. The groups are open to any user
 * (NL_CFG_F_NONROOT_RECV). A multicast cannot carry a filter: --filter is
 * run here, on each message, by nl_filter_run().
 *
 * Contract: a close_set is one epoll set of such sockets (close_src, one
 * per namespace, attached and detached by the namespace table on the
 * thread that drains the set); close_set_fd() is what the event loop
 * watches. close_set_drain() reads at most `budget` datagrams, parses
 * them, stamps each record with its namespace's labels (the namespace's
 * poll_target), the receive time and the last poll's number, drops those
 * the filter refuses (counted) and hands the rest to `fn` in batches of
 * at most CLOSE_BATCH. Nothing is allocated after close_set_init().
 * Each socket's receive buffer is the bound: when it overflows the kernel
 * drops messages and reports ENOBUFS once; the drops are then read from
 * the socket's own count (SO_MEMINFO) and added to `lost`, exactly, so a
 * loss is never silent (where SO_MEMINFO is missing, one per ENOBUFS).
 * Thread-safety: one thread (the daemon's main thread).
 */
#ifndef TS_CLOSE_SET_H
#define TS_CLOSE_SET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../netlink/nl_parse.h"
#include "../record/record.h"

#define CLOSE_BATCH	     64 /* datagrams per recvmmsg, records per batch */
#define CLOSE_DGRAM	     2048 /* one destroy message: 380 bytes on 6.18 */
#define CLOSE_BUDGET	     1024 /* datagrams per drain between loop events */
#define CLOSE_RCVBUF_DEFAULT 4194304 /* 4 MiB; a literal: --help prints it */
#define CLOSE_RCVBUF_MIN     (64u << 10)
#define CLOSE_RCVBUF_MAX     (1u << 30)
/* what one queued close costs a receive buffer (skb truesize, 6.18) */
#define CLOSE_TRUESIZE 1280

struct poll_target;
struct close_set;

struct close_stats {
	uint64_t datagrams; /* datagrams read */
	uint64_t received;  /* close messages parsed */
	uint64_t filtered;  /* of those, refused by --filter */
	uint64_t lost;	    /* dropped by the kernel: buffer full */
	uint64_t overruns;  /* ENOBUFS reports */
	uint64_t errors;    /* datagrams that could not be read or parsed */
};

/* One namespace's listening socket (embedded in its table entry). */
struct close_src {
	int fd; /* -1: none */
	const struct poll_target *labels;
	struct close_set *set;
	uint64_t drops; /* the kernel's drop count when last read */
	int overrun;	/* ENOBUFS seen: read the drops once drained */
};

typedef void (*close_batch_fn)(struct ts_record *recs, size_t n, void *arg);

struct close_cfg {
	uint32_t groups;       /* SKNLGRP_* bits (bit g-1 for group g) */
	unsigned rcvbuf;       /* receive buffer of each socket, bytes */
	const uint8_t *filter; /* --filter bytecode, or NULL */
	size_t filter_len;
	close_batch_fn fn; /* takes each batch of records (see below) */
	void *arg;
};

struct close_set {
	struct close_cfg cfg;
	int epfd;
	unsigned granted; /* the smallest buffer the kernel gave, or 0 */
	struct close_stats st;
	uint64_t poll_seq; /* the last drain's */
	/* during a drain */
	const struct close_src *cur;
	uint64_t rx_ns;
	size_t n;
	struct ts_record *batch;	    /* CLOSE_BATCH */
	unsigned char (*bufs)[CLOSE_DGRAM]; /* CLOSE_BATCH */
	struct nl_parser parser;
};

/* The groups of the families polled (POLL_FAM_* bits of poller.h). */
uint32_t close_groups(unsigned families);

/* How long closes may pile up before the next read, in ns: max_ns, or
 * less when, at the rate of the last read (`read` datagrams in dt_ns), a
 * buffer of `granted` bytes would be more than a quarter full by then (a
 * pause must never be what overflows it); 0 (read again as soon as
 * something comes) below 1 ms. Pure. */
uint64_t close_pause_ns(unsigned granted, uint64_t read, uint64_t dt_ns,
			uint64_t max_ns);

/* 0 or -errno. */
int close_set_init(struct close_set *s, const struct close_cfg *cfg);
/* Closes the epoll set (sources must be detached first). NULL-safe. */
void close_set_release(struct close_set *s);
int close_set_fd(const struct close_set *s);

/* c takes fd (from nl_sock_open_mcast() or ns_opener_mcast()), whose
 * records carry the labels of `labels` (which must outlive it). 0 or
 * -errno (then fd is still the caller's and c is unchanged). */
int close_src_attach(struct close_set *s, struct close_src *c, int fd,
		     const struct poll_target *labels);
/* Reads what c still holds (up to CLOSE_BUDGET datagrams, handed to
 * cfg.fn: a namespace's last closes are not thrown away with it), then
 * leaves the set and closes the fd; NULL and a detached source are
 * fine. */
void close_src_detach(struct close_src *c);

/* Reads up to `budget` datagrams from the sources that are ready and
 * hands their records to cfg.fn, stamped with poll_seq. 1 when some
 * source may hold more, 0 when every one was read to the end. */
int close_set_drain(struct close_set *s, unsigned budget, uint64_t poll_seq);

#endif
