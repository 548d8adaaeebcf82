/* ring_setup.c - probe, setup, receive buffers and teardown of the
 * per-thread io_uring (see ring.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../util/timeutil.h"
#include "ring.h"

#define SETUP_FLAGS                                                            \
	(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |             \
	 IORING_SETUP_COOP_TASKRUN)
/* teardown waits this long for cancelled requests to complete */
#define DRAIN_MS 2000

static const struct {
	unsigned op;
	const char *name;
} op_names[] = {
	{ IORING_OP_RECVMSG, "IORING_OP_RECVMSG" },
	{ IORING_OP_SEND, "IORING_OP_SEND" },
	{ IORING_OP_SENDMSG, "IORING_OP_SENDMSG" },
	{ IORING_OP_WRITEV, "IORING_OP_WRITEV" },
	{ IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL" },
	{ IORING_OP_STATX, "IORING_OP_STATX" },
};

const char *ring_op_name(unsigned opcode)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (op_names[i].op == opcode)
			return op_names[i].name;
	return "IORING_OP_?";
}

/* What a refused io_uring_setup most likely means. */
static const char *setup_hint(int err)
{
	switch (err) {
	case EPERM:
		return "io_uring is disabled for this process "
		       "(sysctl kernel.io_uring_disabled, or a seccomp or "
		       "LSM policy)";
	case ENOSYS:
		return "the kernel has no io_uring, or a container's seccomp "
		       "profile blocks io_uring_setup (Docker's default does)";
	case ENOMEM:
		return "not enough locked memory (RLIMIT_MEMLOCK on kernels "
		       "before 5.12)";
	case EINVAL:
		return "the kernel is too old for the setup flags";
	default:
		return "io_uring cannot be set up";
	}
}

/* The one message for a refused io_uring_setup; returns rc. */
static int setup_error(int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "io_uring_setup failed: %s: %s", strerror(-rc),
		 setup_hint(-rc));
	return rc;
}

static int setup(struct io_uring *u, unsigned entries)
{
	static const unsigned tries[] = { SETUP_FLAGS,
					  IORING_SETUP_COOP_TASKRUN, 0 };
	int rc = -EINVAL;

	/* kernels before 6.1 lack DEFER_TASKRUN (EINVAL): fewer flags */
	for (size_t i = 0; i < 3 && rc == -EINVAL; i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i];
		rc = io_uring_queue_init_params(entries, u, &p);
	}
	return rc;
}

int ring_probe_check(const struct io_uring_probe *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (!io_uring_opcode_supported(p, (int)op_names[i].op)) {
			snprintf(err, errlen, "the kernel's io_uring lacks %s",
				 op_names[i].name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int check_opcodes(struct ring *r, char *err, size_t errlen)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(&r->uring);
	int rc;

	if (!p) {
		snprintf(err, errlen,
			 "io_uring opcode probe failed (kernel before 5.6)");
		return -EOPNOTSUPP;
	}
	rc = ring_probe_check(p, err, errlen);
	io_uring_free_probe(p);
	return rc;
}

int ring_probe(char *err, size_t errlen)
{
	/* a ring of the real size: a limit on ring memory shows here too */
	struct ring_cfg cfg = { .recv_batch = 1 };
	struct ring r;
	int rc = ring_init(&r, &cfg, err, errlen);

	ring_release(&r);
	return rc;
}

static unsigned pow2_at_least(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* A provided buffer ring with recv_batch buffers; 0 or -errno (then the
 * single-shot pool is used). */
static int setup_buf_ring(struct ring *r)
{
	struct io_uring_buf_reg reg;
	unsigned n = r->cfg.recv_batch;
	int rc;

	r->br_entries = pow2_at_least(n);
	r->br_size = r->br_entries * sizeof(struct io_uring_buf);
	r->br = mmap(NULL, r->br_size, PROT_READ | PROT_WRITE,
		     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (r->br == MAP_FAILED) {
		r->br = NULL;
		return -ENOMEM;
	}
	io_uring_buf_ring_init(r->br);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)r->br;
	reg.ring_entries = r->br_entries;
	reg.bgid = RING_BGID;
	rc = io_uring_register_buf_ring(&r->uring, &reg, 0);
	if (rc < 0) {
		munmap(r->br, r->br_size);
		r->br = NULL;
		return rc;
	}
	for (unsigned i = 0; i < n; i++)
		ring_buf_put(r, i);
	return 0;
}

static void drop_buf_ring(struct ring *r)
{
	(void)io_uring_unregister_buf_ring(&r->uring, RING_BGID);
	munmap(r->br, r->br_size);
	r->br = NULL;
}

struct ms_probe {
	int res;
	unsigned flags;
	int seen;
};

static void ms_probe_cqe(struct ring *r, struct ring_req *q, int res,
			 unsigned flags)
{
	struct ms_probe *p = q->ctx;

	if (flags & IORING_CQE_F_BUFFER)
		ring_buf_put(r, flags >> IORING_CQE_BUFFER_SHIFT);
	if (!p->seen) {
		p->res = res;
		p->flags = flags;
	}
	p->seen++;
}

/* Multishot recvmsg (6.0) is not in the opcode probe: try it for real on
 * a socketpair. 0 when it works. */
static int probe_multishot(struct ring *r)
{
	struct ms_probe p = { 0 };
	struct ring_req *q = ring_req_get(r, RING_OP_NL_RECV, ms_probe_cqe, &p);
	struct io_uring_sqe *sqe;
	int sv[2], rc = -EOPNOTSUPP;

	if (!q)
		return -EBUSY;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ring_req_put(r, q);
		return -errno;
	}
	memset(&q->msg, 0, sizeof(q->msg));
	sqe = ring_sqe(r, q);
	io_uring_prep_recvmsg_multishot(sqe, sv[0], &q->msg, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_BGID;
	if (send(sv[1], "x", 1, 0) == 1) {
		for (int i = 0; i < 20 && !p.seen; i++)
			(void)ring_reap(r, 100);
		if (p.seen && p.res > 0 && (p.flags & IORING_CQE_F_MORE))
			rc = 0;
	}
	if (q->busy && q->op == RING_OP_NL_RECV) {
		(void)ring_cancel(r, q);
		for (int i = 0; i < 20 && r->nbusy; i++)
			(void)ring_reap(r, 100);
	}
	close(sv[0]);
	close(sv[1]);
	return r->nbusy ? -EIO : rc;
}

static int alloc_tables(struct ring *r)
{
	r->nreqs = 2 * r->cfg.sq_entries;
	r->reqs = calloc(r->nreqs, sizeof(*r->reqs));
	r->stash_cap = r->nreqs + r->cfg.recv_batch;
	r->stash = calloc(r->stash_cap, sizeof(*r->stash));
	r->batch = calloc(r->cfg.cqe_batch, sizeof(*r->batch));
	r->bufs = mmap(NULL, (size_t)r->cfg.recv_batch * RING_RECV_BUF_SIZE,
		       PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1,
		       0);
	if (r->bufs == MAP_FAILED)
		r->bufs = NULL;
	if (!r->reqs || !r->stash || !r->batch || !r->bufs)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->nreqs; i++) {
		r->reqs[i].id = i;
		r->reqs[i].next_free = i + 1 < r->nreqs ? i + 1 : UINT32_MAX;
	}
	r->free_head = 0;
	return 0;
}

/* Buffers for receives: the provided ring when multishot works, else a
 * pool for single-shot receives. */
static int setup_receive(struct ring *r)
{
	if ((r->cfg.features & RING_F_MULTISHOT) && setup_buf_ring(r) == 0) {
		if (probe_multishot(r) == 0) {
			r->features |= RING_F_MULTISHOT;
			return 0;
		}
		drop_buf_ring(r);
	}
	r->pool_free = calloc(r->cfg.recv_batch, sizeof(*r->pool_free));
	if (!r->pool_free)
		return -ENOMEM;
	for (unsigned i = 0; i < r->cfg.recv_batch; i++)
		ring_buf_put(r, i);
	return 0;
}

int ring_init(struct ring *r, const struct ring_cfg *cfg, char *err,
	      size_t errlen)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	if (!r->cfg.sq_entries)
		r->cfg.sq_entries = RING_SQ_ENTRIES;
	if (!r->cfg.recv_batch)
		r->cfg.recv_batch = RING_RECV_BATCH;
	if (!r->cfg.cqe_batch)
		r->cfg.cqe_batch = RING_CQE_BATCH;
	if (r->cfg.recv_batch > RING_BATCH_MAX ||
	    r->cfg.cqe_batch > RING_BATCH_MAX) {
		snprintf(err, errlen, "io_uring batch sizes are at most %d",
			 RING_BATCH_MAX);
		return -EINVAL;
	}
	rc = setup(&r->uring, r->cfg.sq_entries);
	if (rc < 0)
		return setup_error(rc, err, errlen);
	r->ready = 1;
	/* EINVAL before 5.15: the kernel's own bounds stay */
	unsigned iowq[2] = { RING_IOWQ_BOUNDED, RING_IOWQ_UNBOUNDED };
	(void)io_uring_register_iowq_max_workers(&r->uring, iowq);
	rc = check_opcodes(r, err, errlen);
	if (rc < 0) {
		ring_release(r);
		return rc;
	}
	rc = alloc_tables(r);
	if (rc == 0)
		rc = setup_receive(r);
	if (rc < 0) {
		snprintf(err, errlen, "io_uring buffers: %s", strerror(-rc));
		ring_release(r);
	}
	return rc;
}

int ring_drain(struct ring *r)
{
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);

	r->draining = 1;
	while (r->nbusy) {
		for (uint32_t i = 0; i < r->nreqs; i++) {
			struct ring_req *q = &r->reqs[i];
			if (q->busy && !q->cancelled &&
			    q->op != RING_OP_CANCEL && ring_cancel(r, q) == 0)
				q->cancelled = 1;
		}
		(void)ring_reap(r, 100);
		if (ts_now_ns(CLOCK_MONOTONIC) - t0 > DRAIN_MS * 1000000ull)
			return -ETIMEDOUT;
	}
	return 0;
}

void ring_release(struct ring *r)
{
	int drained;

	if (!r || !r->ready)
		return;
	drained = r->reqs ? ring_drain(r) == 0 : 1;
	if (r->br)
		drop_buf_ring(r);
	io_uring_queue_exit(&r->uring);
	/* a request that never completed may still own its buffer: keep the
	 * memory rather than let the kernel write into freed pages */
	if (drained && r->bufs)
		munmap(r->bufs, (size_t)r->cfg.recv_batch * RING_RECV_BUF_SIZE);
	free(r->reqs);
	free(r->stash);
	free(r->batch);
	free(r->pool_free);
	memset(r, 0, sizeof(*r));
}
