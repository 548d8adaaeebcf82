/* ring.c - the per-thread io_uring: table, dispatch, buffers (see ring.h). */
#include "ring.h"

#include "../util/stop.h"
#include "../util/timeutil.h"

#include <assert.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* a synchronous send that has not completed by then is cancelled */
#define SYNC_TIMEOUT_MS 5000
#define SYNC_SLICE_MS	50 /* how soon a stop request is seen */
#define SEND_CHUNK	RING_SYNC_CHUNK

struct ring_req *ring_req_get(struct ring *r, enum ring_op op, ring_cqe_fn fn,
			      void *ctx)
{
	struct ring_req *q;

	if (r->free_head == UINT32_MAX) {
		r->st.busy++;
		return NULL;
	}
	q = &r->reqs[r->free_head];
	r->free_head = q->next_free;
	r->nbusy++;
	q->op = (uint8_t)op;
	q->busy = 0;
	q->done = 0;
	q->cancelled = 0;
	q->res = 0;
	q->fn = fn;
	q->ctx = ctx;
	return q;
}

void ring_req_put(struct ring *r, struct ring_req *q)
{
	if (!q || q->busy)
		return;
	q->op = 0;
	q->fn = NULL;
	q->ctx = NULL;
	q->next_free = r->free_head;
	r->free_head = q->id;
	r->nbusy--;
}

struct io_uring_sqe *ring_sqe(struct ring *r, struct ring_req *q)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);

	if (!sqe) {
		int rc = io_uring_submit(&r->uring);
		r->st.enters++;
		if (rc > 0)
			r->st.sqes += (unsigned)rc;
		sqe = io_uring_get_sqe(&r->uring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data64(sqe, ring_ud_encode(q->op, q->id));
	q->busy = 1;
	q->done = 0;
	return sqe;
}

static void cancel_done(struct ring *r, struct ring_req *q, int res,
			unsigned flags)
{
	(void)r;
	(void)q;
	(void)res;
	(void)flags;
}

int ring_cancel(struct ring *r, struct ring_req *q)
{
	return ring_cancel_cb(r, q, cancel_done, NULL);
}

int ring_cancel_cb(struct ring *r, struct ring_req *q, ring_cqe_fn fn,
		   void *ctx)
{
	struct ring_req *c = ring_req_get(r, RING_OP_CANCEL, fn, ctx);
	struct io_uring_sqe *sqe;

	if (!c)
		return -EBUSY;
	sqe = ring_sqe(r, c);
	if (!sqe) {
		ring_req_put(r, c);
		return -EAGAIN;
	}
	io_uring_prep_cancel64(sqe, ring_ud_encode(q->op, q->id), 0);
	return 0;
}

/* One completion: to its request's callback, to a synchronous waiter, or
 * kept for later while a synchronous wait is running. */
static void dispatch(struct ring *r, const struct ring_cqe_copy *c)
{
	enum ring_op op;
	uint32_t id;
	struct ring_req *q;

	if (ring_ud_decode(c->ud, &op, &id) < 0 || id >= r->nreqs ||
	    !r->reqs[id].busy || r->reqs[id].op != op) {
		r->st.bad_cqes++;
		assert(!"completion with a user_data we never submitted");
		return;
	}
	q = &r->reqs[id];
	if (r->draining) {
		if (!(c->flags & IORING_CQE_F_MORE)) {
			q->busy = 0;
			ring_req_put(r, q);
		}
		return;
	}
	if (q->fn && r->sync_depth && op != RING_OP_CANCEL) {
		/* stash_cap covers every completion that can be pending */
		uint32_t at = (r->stash_first + r->stash_n) % r->stash_cap;
		assert(r->stash_n < r->stash_cap);
		r->stash[at] = *c;
		r->stash_n++;
		return;
	}
	if (!(c->flags & IORING_CQE_F_MORE))
		q->busy = 0;
	if (!q->fn) {
		q->res = c->res;
		q->done = 1;
		return;
	}
	q->fn(r, q, c->res, c->flags);
	if (!q->busy) /* not armed again by its callback */
		ring_req_put(r, q);
}

/* Copies up to cap completions off the CQ into out (so that callbacks may
 * reap again) and dispatches them. A synchronous wait, which may run
 * inside a callback of the outer batch, passes its own array. */
static unsigned reap_ready(struct ring *r, struct ring_cqe_copy *out,
			   unsigned cap)
{
	struct io_uring_cqe *cqes[RING_BATCH_MAX];
	unsigned n = io_uring_peek_batch_cqe(&r->uring, cqes, cap);

	for (unsigned i = 0; i < n; i++)
		out[i] = (struct ring_cqe_copy){ cqes[i]->user_data,
						 cqes[i]->res, cqes[i]->flags };
	io_uring_cq_advance(&r->uring, n);
	r->st.cqes += n;
	for (unsigned i = 0; i < n; i++)
		dispatch(r, &out[i]);
	return n;
}

/* Submits and waits for one completion; 1 when one is ready, 0 on
 * timeout, -EINTR when a signal came first, other -errno. */
static int enter(struct ring *r, int timeout_ms)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {
		.tv_sec = timeout_ms / 1000,
		.tv_nsec = (long long)(timeout_ms % 1000) * 1000000,
	};
	unsigned queued = io_uring_sq_ready(&r->uring);
	int rc;

	r->st.enters++;
	rc = io_uring_submit_and_wait_timeout(
		&r->uring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
	if (rc >= 0 || rc == -ETIME)
		r->st.sqes += queued - io_uring_sq_ready(&r->uring);
	if (rc == -ETIME)
		return 0;
	return rc < 0 ? rc : 1;
}

int ring_reap(struct ring *r, int timeout_ms)
{
	uint64_t deadline =
		ts_now_ns(CLOCK_MONOTONIC) +
		(uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000ull;
	unsigned n = 0;

	if (r->stash_n) { /* kept during a synchronous wait: oldest first */
		while (r->stash_n && n < r->cfg.cqe_batch) {
			struct ring_cqe_copy c = r->stash[r->stash_first];
			r->stash_first = (r->stash_first + 1) % r->stash_cap;
			r->stash_n--;
			dispatch(r, &c);
			n++;
		}
		return (int)n;
	}
	/* A signal (-EINTR, or liburing's count of submitted SQEs when the
	 * same call submitted) ends a wait early without a completion: only
	 * the deadline makes a timeout. */
	for (;;) {
		uint64_t now = ts_now_ns(CLOCK_MONOTONIC);
		int left = timeout_ms < 0 ? -1
			   : now >= deadline
				   ? 0
				   : (int)((deadline - now + 999999) / 1000000);
		int rc = enter(r, left);
		if (rc < 0 && rc != -EINTR)
			return rc;
		n = reap_ready(r, r->batch, r->cfg.cqe_batch);
		if (n)
			return (int)n;
		if (timeout_ms >= 0 && ts_now_ns(CLOCK_MONOTONIC) >= deadline)
			return 0;
	}
}

/* Waits until qs[0..k) completed, keeping other completions for later.
 * Sends (MSG_DONTWAIT) complete inline; whatever does not is cancelled
 * after SYNC_TIMEOUT_MS, or at once on a stop request: the wait goes in
 * slices so that one is seen without EINTR (the ring is not used in the
 * exit phase, so any stop request cuts). */
static int wait_sync(struct ring *r, struct ring_req **qs, unsigned k)
{
	struct ring_cqe_copy own[SEND_CHUNK];
	uint64_t deadline = ts_now_ns(CLOCK_MONOTONIC) +
			    (uint64_t)SYNC_TIMEOUT_MS * 1000000ull;
	int cancelled = 0, rc = 0;

	r->sync_depth++;
	for (;;) {
		unsigned left = 0;
		for (unsigned i = 0; i < k; i++)
			left += !qs[i]->done;
		if (!left)
			break;
		rc = enter(r, SYNC_SLICE_MS);
		if (rc < 0 && rc != -EINTR)
			break;
		rc = 0;
		reap_ready(r, own, SEND_CHUNK);
		/* after the reap: only what is still in flight is cancelled */
		if (!cancelled && (ts_stop_requested() ||
				   ts_now_ns(CLOCK_MONOTONIC) >= deadline)) {
			for (unsigned i = 0; i < k; i++)
				if (!qs[i]->done)
					(void)ring_cancel(r, qs[i]);
			cancelled = 1;
		}
	}
	r->sync_depth--;
	return rc < 0 ? rc : 0;
}

/* Prepares the SQE of item i of a synchronous batch. */
typedef void (*prep_fn)(struct io_uring_sqe *sqe, struct ring_req *q,
			unsigned i, void *ctx);

/* n synchronous requests, SEND_CHUNK at a time, each with its own result:
 * one io_uring_enter per chunk when they complete inline. */
static int sync_batch(struct ring *r, enum ring_op op, unsigned n, prep_fn prep,
		      void *ctx, int *res)
{
	struct ring_req *qs[SEND_CHUNK];
	unsigned i = 0;

	while (i < n) {
		unsigned k = 0, chunk = n - i < SEND_CHUNK ? n - i : SEND_CHUNK;
		int rc;
		for (; k < chunk; k++) {
			struct ring_req *q = ring_req_get(r, op, NULL, NULL);
			struct io_uring_sqe *sqe = q ? ring_sqe(r, q) : NULL;
			if (!sqe) {
				ring_req_put(r, q);
				break;
			}
			prep(sqe, q, i + k, ctx);
			qs[k] = q;
		}
		if (k == 0)
			return -EBUSY;
		rc = wait_sync(r, qs, k);
		/* one still in flight (the ring failed) stays in the table,
		 * where a late completion finds it and teardown drains it */
		for (unsigned j = 0; j < k; j++) {
			res[i + j] = qs[j]->done ? qs[j]->res : -ECANCELED;
			ring_req_put(r, qs[j]);
		}
		if (rc < 0)
			return rc;
		i += k;
	}
	return 0;
}

struct send_ctx {
	int fd;
	unsigned flags;
	const struct iovec *iov;
};

static void prep_send(struct io_uring_sqe *sqe, struct ring_req *q, unsigned i,
		      void *ctx)
{
	const struct send_ctx *c = ctx;

	q->iov = c->iov[i];
	memset(&q->msg, 0, sizeof(q->msg));
	q->msg.msg_iov = &q->iov;
	q->msg.msg_iovlen = 1;
	io_uring_prep_sendmsg(sqe, c->fd, &q->msg, c->flags);
}

int ring_send_batch(struct ring *r, int fd, const struct iovec *iov, unsigned n,
		    int msg_flags, int *res)
{
	struct send_ctx c = {
		fd, (unsigned)(msg_flags | MSG_DONTWAIT | MSG_NOSIGNAL), iov
	};

	return sync_batch(r, RING_OP_SEND, n, prep_send, &c, res);
}

struct statx_ctx {
	const char *const *paths;
	struct statx *out;
};

static void prep_statx(struct io_uring_sqe *sqe, struct ring_req *q, unsigned i,
		       void *ctx)
{
	const struct statx_ctx *c = ctx;

	(void)q;
	io_uring_prep_statx(sqe, AT_FDCWD, c->paths[i], 0, STATX_INO,
			    &c->out[i]);
}

int ring_stat_batch(struct ring *r, const char *const *paths, unsigned n,
		    uint64_t *dev, uint64_t *ino, int *res)
{
	struct statx sx[SEND_CHUNK];

	for (unsigned i = 0; i < n; i += SEND_CHUNK) {
		unsigned k = n - i < SEND_CHUNK ? n - i : SEND_CHUNK;
		struct statx_ctx c = { paths + i, sx };
		int rc = sync_batch(r, RING_OP_STATX, k, prep_statx, &c,
				    res + i);
		if (rc < 0)
			return rc;
		for (unsigned j = 0; j < k; j++) {
			dev[i + j] = makedev(sx[j].stx_dev_major,
					     sx[j].stx_dev_minor);
			ino[i + j] = sx[j].stx_ino;
		}
	}
	return 0;
}

uint8_t *ring_buf(struct ring *r, unsigned bid)
{
	return r->bufs + (size_t)bid * RING_RECV_BUF_SIZE;
}

void ring_buf_put(struct ring *r, unsigned bid)
{
	if (r->br) {
		io_uring_buf_ring_add(r->br, ring_buf(r, bid),
				      RING_RECV_BUF_SIZE, (unsigned short)bid,
				      io_uring_buf_ring_mask(r->br_entries), 0);
		io_uring_buf_ring_advance(r->br, 1);
	} else {
		r->pool_free[r->pool_n++] = bid;
	}
}

int ring_buf_get(struct ring *r)
{
	if (r->br || r->pool_n == 0)
		return -ENOBUFS;
	return (int)r->pool_free[--r->pool_n];
}
