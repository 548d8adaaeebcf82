/*
 * poller.h - one poll over many sock_diag sockets (one per namespace),
 * behind one ops table with two engines:
 *   syscall (default): non-blocking sockets, one epoll set per poll thread
 *     and one receive buffer of NL_RECV_BUF bytes shared by all targets
 *     (each datagram is parsed to the end before the next receive);
 *   uring: one io_uring per poll thread (ring.h), created on that thread
 *     by poll_loop_prepare(); requests are sent and datagrams received
 *     through it (multishot recvmsg into provided buffers where the kernel
 *     has it), so a poll costs a handful of io_uring_enter calls.
 *
 * Contract:
 *  - A poll_loop belongs to one poll thread. A poll allocates nothing.
 *    Between polls no request is in flight on any target's socket, so
 *    targets may be attached and detached from another thread (the
 *    reconcile) while the poll thread is idle.
 *  - A poll_target is one namespace's socket plus its dump state (parser,
 *    sequence number, labels). The caller owns the memory; the loop owns
 *    the fd from poll_target_attach() until poll_target_detach().
 *  - poll_loop_run() dumps every family of every target, keeping up to
 *    max_inflight dumps in flight at once (uring: fewer when its table
 *    could not hold every request of that many targets; a target starts
 *    when an earlier one lets go of its requests, so no target ever finds
 *    the table full), and calls `fn` per socket with
 *    the record stamped with the datagram's receive time, the poll number
 *    and the namespace labels. A dump that fails keeps the records already
 *    delivered, is counted for its target (which is marked `broken`: its
 *    socket must be reopened before the next poll), and the poll goes on.
 * Thread-safety: a loop and its targets are used by one thread at a time.
 */
#ifndef TS_POLLER_H
#define TS_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "../netlink/nl_parse.h"
#include "../netlink/nl_sock.h"

#include "../netlink/nl_request.h"
#include "ring.h"

enum { POLL_FAM_INET = 1, POLL_FAM_INET6 = 2 };

enum poll_engine {
	POLL_ENGINE_SYSCALL,
	POLL_ENGINE_URING,
};

struct poll_config {
	enum poll_engine engine;
	struct ring_cfg ring;  /* uring engine */
	unsigned families;     /* POLL_FAM_* */
	uint32_t states;       /* idiag_states bitmask */
	uint8_t ext;	       /* idiag_ext bits */
	const uint8_t *filter; /* --filter bytecode (nl_filter.h), or NULL */
	int one_walk; /* both families in one legacy dump (nl_request.h) */
	size_t filter_len;
	int timeout_ms; /* a dump silent this long fails (default 10 s) */
	unsigned max_inflight; /* dumps in flight at once (default 64) */
};

/* Why a dump failed: every failed dump has exactly one. */
enum poll_fail {
	POLL_FAIL_TIMEOUT,   /* the kernel went silent (timeout_ms) */
	POLL_FAIL_OVERRUN,   /* ENOBUFS: the socket's receive queue overran */
	POLL_FAIL_MALFORMED, /* the reply did not parse (EBADMSG, EPROTO,
				EMSGSIZE) */
	POLL_FAIL_KERNEL,    /* the kernel answered the dump with an error */
	POLL_FAIL_IO,	     /* sending or receiving failed otherwise */
	POLL_FAIL_COUNT
};

struct poll_stats {
	uint64_t records;
	uint64_t datagrams;
	uint64_t bytes;
	uint64_t unknown_attrs;
	uint32_t targets;
	uint32_t dumps;
	uint32_t dumps_failed;
	uint32_t dump_intr; /* dumps marked inconsistent (NLM_F_DUMP_INTR) */
	uint32_t dump_fail[POLL_FAIL_COUNT]; /* dumps_failed, by reason */
	int error;	  /* -errno of the last failed dump, or 0 */
	char errmsg[448]; /* room for a 255-byte namespace name */
	uint64_t duration_ns;
};

struct poll_loop;

struct poll_target {
	int fd;
	uint32_t portid;
	uint32_t seq;
	unsigned fam_left; /* families still to dump in this poll */
	int busy;	   /* a dump is in flight */
	int broken;	   /* a dump failed: reopen the socket */
	int two_walks;	   /* its one-walk dump failed: two from now on */
	int one_walk;	   /* the dump in flight is a one-walk one */
	/* labels stamped on every record */
	const char *netns;
	uint64_t netns_inode;
	uint32_t nsid;
	int has_nsid;
	const char *container_id;
	const char *container_runtime;
	/* over the target's life */
	uint64_t dumps_failed;
	int last_error;
	struct poll_loop *loop;
	struct nl_parser parser;
	/* uring engine: the request lives until its send completes */
	struct nl_diag_request req;
	struct ring_req *recv;	 /* the armed receive, or NULL */
	int sending;		 /* its request's send has not completed */
	unsigned cancels;	 /* cancels of its receive not completed */
	int held;		 /* counted in loop->held */
	int rearm;		 /* its receive ended early: arm again */
	int bid;		 /* single-shot: the buffer posted, or -1 */
	struct sockaddr_nl from; /* single-shot: the sender */
};

struct poll_loop;

struct poll_engine_ops {
	const char *name;
	int (*init)(struct poll_loop *l);
	void (*release)(struct poll_loop *l);
	/* on the poll thread, before its first poll; may be NULL */
	int (*prepare)(struct poll_loop *l, char *err, size_t errlen);
	/* a socket joins / leaves the loop; may be NULL */
	int (*attach)(struct poll_loop *l, struct poll_target *t);
	void (*detach)(struct poll_target *t);
	/* sends t's next dump request (poll_dump_next()); 1 if one was
	 * sent, 0 if t has no family left, -errno */
	int (*start)(struct poll_loop *l, struct poll_target *t);
	/* whether another target may start now; NULL: always */
	int (*room)(const struct poll_loop *l);
	void (*run)(struct poll_loop *l, struct poll_target *const *targets,
		    size_t n);
};

extern const struct poll_engine_ops poll_syscall_ops;
extern const struct poll_engine_ops poll_uring_ops;

struct poll_loop {
	const struct poll_engine_ops *ops;
	int epfd;
	struct ring *ring;	    /* uring engine, after prepare */
	struct poll_target **rearm; /* uring: max_inflight entries */
	unsigned nrearm;
	unsigned inflight; /* targets with a dump running */
	/* uring: targets holding requests of the ring (a dump running, or a
	 * send, receive or cancel not completed), and their bound */
	unsigned held, max_held;
	struct poll_config cfg;
	uint64_t poll_seq;
	uint64_t rx_ns;
	nl_record_fn fn;
	void *arg;
	struct poll_stats *st;
	void (*hook)(void *arg); /* poll_loop_set_hook(), or NULL */
	void *hook_arg;
	unsigned hook_every, hook_n;
	_Alignas(8) unsigned char buf[NL_RECV_BUF];
};

/* 0 or -errno. Engine resources that must live on the poll thread are
 * made by poll_loop_prepare() (or by the first poll). */
int poll_loop_init(struct poll_loop *l, const struct poll_config *cfg);
void poll_loop_release(struct poll_loop *l);
/* On the poll thread: 0, or -errno with `err` saying why. */
int poll_loop_prepare(struct poll_loop *l, char *err, size_t errlen);
/* fn(arg) is called on the poll thread every `every` datagrams of a poll
 * (both engines), for what must not wait for the poll's end (close
 * events, which the kernel queues meanwhile: the main thread is worker
 * 0). It must not use the loop. Set after poll_loop_init(). */
void poll_loop_set_hook(struct poll_loop *l, void (*fn)(void *arg), void *arg,
			unsigned every);
/* The loop's ring (uring engine, after prepare), else NULL: destinations
 * written from this thread send through it. */
struct ring *poll_loop_ring(const struct poll_loop *l);

/* Takes ownership of fd (a sock_diag socket from nl_sock_open() or
 * ns_opener_socket()). 0 or -errno (then fd is still the caller's). */
int poll_target_attach(struct poll_loop *l, struct poll_target *t, int fd,
		       uint32_t portid);
/* Removes the target from the loop and closes its fd. NULL-safe. */
void poll_target_detach(struct poll_target *t);
/* Stamps t's namespace labels (netns, inode, nsid, container) on rec:
 * every record of that namespace carries the same, dumped or not. */
void poll_target_label(const struct poll_target *t, struct ts_record *rec);

/* One poll over targets[0..n). Returns 0 when every dump completed, else
 * the -errno of the last failure (details in *st, always filled). */
int poll_loop_run(struct poll_loop *l, struct poll_target *const *targets,
		  size_t n, uint64_t poll_seq, nl_record_fn fn, void *arg,
		  struct poll_stats *st);

/* Shared by the engines (poller.c). */
/* Builds the target's next dump request in t->req and resets its parser;
 * 1 when there is one, 0 when no family is left. */
int poll_dump_next(struct poll_loop *l, struct poll_target *t);
/* The reason of a dump that failed with rc (-errno); parser_error: the
 * parser's own error (nl_parser.error), 0 when it had none. */
enum poll_fail poll_fail_reason(int rc, int parser_error);
/* "timeout", "overrun", "malformed", "kernel", "io". */
const char *poll_fail_name(enum poll_fail why);
/* Accounts a dump that ended (rc 0 done, else -errno). */
void poll_dump_end(struct poll_loop *l, struct poll_target *t, int rc);
/* A datagram of t's dump: stamps the receive time, counts it and parses
 * it. The parser's result: 0 more to come, 1 the dump is done, -errno. */
int poll_feed(struct poll_loop *l, struct poll_target *t, const void *data,
	      size_t len);
/* t's dump ended (rc 0 done, else -errno): accounts it and starts t's next
 * family. 1 when t has nothing left in this poll (no longer in flight). */
int poll_dump_finish(struct poll_loop *l, struct poll_target *t, int rc);
/* Starts dumps until max_inflight run, the engine has no room, or
 * targets[*next..n) is used up. */
void poll_fill(struct poll_loop *l, struct poll_target *const *targets,
	       size_t n, size_t *next);

#endif
