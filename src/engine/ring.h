/*
 * ring.h - one io_uring per poll thread: setup and probe, the user_data
 * codec, the bounded in-flight table, completion dispatch, the provided
 * buffer ring for netlink receives, and ordered socket sends.
 *
 * Contract:
 *  - ring_init() creates the ring on the calling thread with
 *    SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN (no SQPOLL); from then on
 *    only that thread may use it. ring_probe() checks, on any thread, that
 *    io_uring works here and names what is missing.
 *  - user_data: bits 63..56 the operation (enum ring_op), 55..32 reserved
 *    and always zero, 31..0 the index of the request in the in-flight
 *    table. A completion whose user_data breaks this is a bug: counted in
 *    bad_cqes and asserted.
 *  - In-flight table: a request holds its buffers, msghdr and iovec until
 *    its last completion (a multishot request lives until a completion
 *    without IORING_CQE_F_MORE). The table has 2 x SQ entries; when it is
 *    full, ring_req_get() returns NULL and the caller reports -EBUSY:
 *    backpressure, never growth.
 *  - Dispatch: ring_reap() submits what is queued, waits for at least one
 *    completion (or the timeout) and calls each request's callback. A
 *    synchronous wait (ring_send_batch) takes only its own completions and
 *    keeps the others, in order, for the next ring_reap(), so a callback is
 *    never re-entered from a sink sending in the middle of one. What it
 *    waits for is cancelled after 5 s, or at once when a stop is requested
 *    (util/stop.h; seen within 50 ms, without relying on EINTR).
 *  - io-wq: the kernel's worker threads for requests that must block
 *    (iou-wrk-<tid>, threads of tcpscope) are bounded per poll thread to
 *    RING_IOWQ_BOUNDED for file work (statx: namespace discovery) and
 *    RING_IOWQ_UNBOUNDED for socket work (IORING_REGISTER_IOWQ_MAX_WORKERS,
 *    Linux 5.15+; earlier kernels keep their own bounds).
 *  - ring_release() cancels every request in flight and drains their
 *    completions before any buffer is freed. NULL is fine.
 * Thread-safety: one thread (the ring's creator) per ring.
 */
#ifndef TS_RING_H
#define TS_RING_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <liburing.h>

/* operations, bits 63..56 of user_data */
enum ring_op {
	RING_OP_NL_SEND = 1, /* a sock_diag dump request */
	RING_OP_NL_RECV = 2, /* netlink receive (multishot or single) */
	RING_OP_SEND = 3,    /* a destination's send */
	RING_OP_CANCEL = 4,  /* async cancel of another request */
	RING_OP_STATX = 5,   /* namespace discovery's stats */
	RING_OP_MAX = 5,
};

#define RING_UD_OP_SHIFT 56
#define RING_UD_RESERVED 0x00ffffff00000000ull

static inline uint64_t ring_ud_encode(enum ring_op op, uint32_t id)
{
	return (uint64_t)op << RING_UD_OP_SHIFT | id;
}

/* 0 and *op / *id, or -EINVAL (reserved bits set or unknown op). */
static inline int ring_ud_decode(uint64_t ud, enum ring_op *op, uint32_t *id)
{
	unsigned o = (unsigned)(ud >> RING_UD_OP_SHIFT);

	if ((ud & RING_UD_RESERVED) || o == 0 || o > RING_OP_MAX)
		return -EINVAL;
	*op = (enum ring_op)o;
	*id = (uint32_t)ud;
	return 0;
}

/* recv_batch / cqe_batch defaults and bounds (--uring-*) */
#define RING_RECV_BATCH 64
#define RING_CQE_BATCH	128
#define RING_BATCH_MAX	4096
#define RING_SQ_ENTRIES 256
/* requests a synchronous batch (ring_send_batch) takes at most at once */
#define RING_SYNC_CHUNK 64
/* a provided buffer holds one whole netlink datagram after the
 * io_uring_recvmsg_out header and the sender's address */
#define RING_RECV_BUF_SIZE (32768 + 64)

enum {
	RING_F_MULTISHOT = 1, /* multishot recvmsg + provided buffer ring */
};

struct ring_cfg {
	unsigned sq_entries; /* 0: RING_SQ_ENTRIES */
	unsigned recv_batch; /* provided buffers, or single recvs in flight */
	unsigned cqe_batch;  /* completions reaped per batch */
	unsigned features;   /* RING_F_* wanted; ring_init() keeps those the
				kernel has (see ring->features) */
};

struct ring;
struct ring_req;

/* Called for each completion of a request (res, cqe flags). */
typedef void (*ring_cqe_fn)(struct ring *r, struct ring_req *q, int res,
			    unsigned flags);

struct ring_req {
	uint32_t id;
	uint8_t op;
	uint8_t busy;	   /* submitted, last completion not seen yet */
	uint8_t done;	   /* synchronous: completed, res valid */
	uint8_t cancelled; /* a cancel was sent (teardown) */
	int32_t res;
	ring_cqe_fn fn; /* NULL: a synchronous request */
	void *ctx;
	struct msghdr msg;
	struct iovec iov;
	uint32_t next_free;
};

struct ring_cqe_copy {
	uint64_t ud;
	int32_t res;
	uint32_t flags;
};

struct ring_stats {
	uint64_t enters;   /* submit/wait calls into the kernel */
	uint64_t sqes;	   /* submitted */
	uint64_t cqes;	   /* reaped */
	uint64_t busy;	   /* ring_req_get() refused: table full */
	uint64_t bad_cqes; /* user_data broke the codec */
};

struct ring {
	struct io_uring uring;
	int ready;
	unsigned features; /* RING_F_* in use */
	struct ring_cfg cfg;
	/* in-flight table */
	struct ring_req *reqs;
	uint32_t nreqs, nbusy, free_head;
	/* completions kept during a synchronous wait */
	struct ring_cqe_copy *stash;
	uint32_t stash_cap, stash_first, stash_n;
	unsigned sync_depth;
	int draining; /* teardown: completions only free their requests */
	struct ring_cqe_copy *batch; /* cqe_batch copies */
	/* receive buffers: a provided buffer ring (multishot) or a pool */
	struct io_uring_buf_ring *br;
	size_t br_size;
	unsigned br_entries;
	uint8_t *bufs;
	uint32_t *pool_free; /* single-shot: free buffer ids */
	unsigned pool_n;
	struct ring_stats st;
};

#define RING_BGID 7
/* io-wq workers per poll thread (0 would mean "leave as is" to the
 * kernel): discovery's stats then run one after the other in one worker
 * rather than in a thread per stat that blocks (64 in flight a batch); a
 * reconcile of 1000 processes took the same time. Sends to sockets wait
 * for readiness by poll, not in a worker. */
#define RING_IOWQ_BOUNDED   1
#define RING_IOWQ_UNBOUNDED 1

/* 0, or -errno with `err` saying what cannot be used and why (an opcode
 * by name, or what a refused io_uring_setup likely means). */
int ring_probe(char *err, size_t errlen);

/* The opcode check of ring_probe(): 0, or -EOPNOTSUPP naming the first
 * opcode `p` lacks. */
int ring_probe_check(const struct io_uring_probe *p, char *err, size_t errlen);

/* 0 or -errno (`err` says why). */
int ring_init(struct ring *r, const struct ring_cfg *cfg, char *err,
	      size_t errlen);
void ring_release(struct ring *r);
/* Cancels every request in flight and waits (at most 2 s) for their last
 * completions, calling no callback. 0, or -ETIMEDOUT. Afterwards the ring
 * only frees requests as they complete: release it. */
int ring_drain(struct ring *r);

/* A free request for `op`, or NULL when the table is full (counted). */
struct ring_req *ring_req_get(struct ring *r, enum ring_op op, ring_cqe_fn fn,
			      void *ctx);
/* Returns a request that was never submitted. */
void ring_req_put(struct ring *r, struct ring_req *q);
/* An SQE for q (user_data set); submits first when the SQ is full. NULL
 * only when the kernel refuses the submit. Marks q busy. */
struct io_uring_sqe *ring_sqe(struct ring *r, struct ring_req *q);

/* Submits, waits up to timeout_ms (< 0: forever) for one completion,
 * dispatches up to cqe_batch of them (kept ones first). Returns the number
 * dispatched, 0 when timeout_ms passed without one (a signal does not end
 * the wait), or -errno. */
int ring_reap(struct ring *r, int timeout_ms);
/* Cancels q (by user_data); its callback sees -ECANCELED or its result. */
int ring_cancel(struct ring *r, struct ring_req *q);
/* The same, and fn(ctx) gets the cancel's own completion (which holds a
 * request of the table until then); fn must not be NULL. It may run
 * during a synchronous wait: it must not start requests. */
int ring_cancel_cb(struct ring *r, struct ring_req *q, ring_cqe_fn fn,
		   void *ctx);

/* Receive buffers: the data of buffer `bid`, and giving it back. */
uint8_t *ring_buf(struct ring *r, unsigned bid);
void ring_buf_put(struct ring *r, unsigned bid);
/* Single-shot receives: a free buffer id, or -ENOBUFS. */
int ring_buf_get(struct ring *r);

/* Sends iov[0..n) on the connected socket fd as n datagrams / writes, in
 * submission order, with msg_flags (MSG_DONTWAIT is always added: the
 * ring never waits, or retries, inside the kernel: see dgram.c). The SQEs
 * are not linked: with DEFER_TASKRUN each link would cost its own
 * io_uring_enter, so a send after a refused one may still go out. Waits
 * for every completion (one io_uring_enter per 64 sends); res[i] gets the
 * bytes sent or -errno. 0, or -errno when the ring failed (then res[] is
 * not valid), -EBUSY when the in-flight table has no room. */
int ring_send_batch(struct ring *r, int fd, const struct iovec *iov, unsigned n,
		    int msg_flags, int *res);

/* Stats paths[0..n) (statx, STATX_INO) synchronously, one io_uring_enter
 * per 64: res[i] gets 0 or -errno, dev[i] / ino[i] the file's device and
 * inode. 0, or -errno when the ring failed. */
int ring_stat_batch(struct ring *r, const char *const *paths, unsigned n,
		    uint64_t *dev, uint64_t *ino, int *res);

/* "IORING_OP_RECVMSG" etc. */
const char *ring_op_name(unsigned opcode);

#endif
