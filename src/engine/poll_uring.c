/* poll_uring.c - the io_uring engine: dump requests and netlink receives
 * of every namespace of a poll thread go through that thread's ring (see
 * poller.h, ring.h).
 *
 * A target's receive is armed when its first dump starts: one multishot
 * recvmsg into the provided buffers (one CQE per datagram, so one
 * io_uring_enter reaps many datagrams of many dumps), or else one
 * single-shot recvmsg at a time, posted again after each datagram. When
 * the target's last family is done the receive is cancelled, and the poll
 * ends only when every receive has completed: between polls nothing is in
 * flight, so the reconcile may close and open sockets freely.
 *
 * A target holds up to REQS_PER_TARGET requests of the ring's table from
 * its first send until the last of them completes, which for a cancelled
 * receive comes after its dump ended (and after the target stopped
 * counting as in flight). The targets holding requests are bounded so
 * that all they may hold fits in the table: with one walk many short
 * dumps end per batch of completions, and starting new ones as soon as
 * dumps ended filled the table with the cancels and receives of those
 * that had ended (EBUSY at some 500 namespaces). A target now waits until
 * an earlier one has let go.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/timeutil.h"
#include "poller.h"

/* after the dumps, how long cancelled receives may take to complete */
#define QUIESCE_MS 1000
/* a target's send, its receive, and the cancel of that receive */
#define REQS_PER_TARGET 3

static int ur_init(struct poll_loop *l)
{
	l->rearm = calloc(l->cfg.max_inflight, sizeof(*l->rearm));
	return l->rearm ? 0 : -ENOMEM;
}

static void ur_release(struct poll_loop *l)
{
	ring_release(l->ring);
	free(l->ring);
	l->ring = NULL;
	free(l->rearm);
	l->rearm = NULL;
}

/* The targets that may hold requests at once: as many as fit in the
 * table once room is kept for a synchronous batch of the destinations
 * sending from a record callback on this thread, and no more than
 * max_inflight. */
static void set_max_held(struct poll_loop *l)
{
	unsigned n = l->ring->nreqs;
	unsigned keep = n / 4 < RING_SYNC_CHUNK ? n / 4 : RING_SYNC_CHUNK;
	unsigned fit = (n - keep) / REQS_PER_TARGET;

	l->max_held = fit < l->cfg.max_inflight ? fit : l->cfg.max_inflight;
	if (l->max_held == 0)
		l->max_held = 1;
}

static int ur_prepare(struct poll_loop *l, char *err, size_t errlen)
{
	struct ring *r;
	int rc;

	if (l->ring)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = ring_init(r, &l->cfg.ring, err, errlen);
	if (rc < 0) {
		free(r);
		return rc;
	}
	l->ring = r;
	set_max_held(l);
	return 0;
}

static void want_rearm(struct poll_loop *l, struct poll_target *t)
{
	if (!t->rearm && l->nrearm < l->cfg.max_inflight) {
		t->rearm = 1;
		l->rearm[l->nrearm++] = t;
	}
}

static void hold(struct poll_loop *l, struct poll_target *t)
{
	if (!t->held) {
		t->held = 1;
		l->held++;
	}
}

/* t gives its place to the next target once nothing of it is left in the
 * table. */
static void let_go(struct poll_loop *l, struct poll_target *t)
{
	if (t->held && !t->busy && !t->recv && !t->sending && !t->cancels) {
		t->held = 0;
		l->held--;
	}
}

static int ur_room(const struct poll_loop *l)
{
	return l->held < l->max_held;
}

static void on_recv(struct ring *r, struct ring_req *q, int res,
		    unsigned flags);

/* 0, -ENOBUFS (no buffer yet: armed later), or -errno. */
static int arm_recv(struct poll_loop *l, struct poll_target *t)
{
	struct ring *r = l->ring;
	struct ring_req *q = ring_req_get(r, RING_OP_NL_RECV, on_recv, t);
	struct io_uring_sqe *sqe;
	int bid = -1;

	if (!q)
		return -EBUSY;
	memset(&q->msg, 0, sizeof(q->msg));
	if (!(r->features & RING_F_MULTISHOT)) {
		bid = ring_buf_get(r);
		if (bid < 0) {
			ring_req_put(r, q);
			return -ENOBUFS;
		}
		q->iov = (struct iovec){ ring_buf(r, (unsigned)bid),
					 NL_RECV_BUF };
		q->msg.msg_iov = &q->iov;
		q->msg.msg_iovlen = 1;
		memset(&t->from, 0, sizeof(t->from));
		q->msg.msg_name = &t->from;
		q->msg.msg_namelen = sizeof(t->from);
	} else {
		q->msg.msg_namelen = sizeof(struct sockaddr_nl);
	}
	sqe = ring_sqe(r, q);
	if (!sqe) {
		if (bid >= 0)
			ring_buf_put(r, (unsigned)bid);
		ring_req_put(r, q);
		return -EAGAIN;
	}
	if (bid < 0) {
		io_uring_prep_recvmsg_multishot(sqe, t->fd, &q->msg, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = RING_BGID;
	} else {
		/* MSG_TRUNC: the kernel returns the datagram's full length,
		 * so a truncated one shows as res > NL_RECV_BUF */
		io_uring_prep_recvmsg(sqe, t->fd, &q->msg, MSG_TRUNC);
	}
	t->bid = bid;
	t->recv = q;
	return 0;
}

static void on_sent(struct ring *r, struct ring_req *q, int res,
		    unsigned flags);

/* Sends the target's next request; 1 if sent, 0 if none is left. */
static int start_dump(struct poll_loop *l, struct poll_target *t)
{
	struct ring *r = l->ring;
	struct ring_req *q;
	struct io_uring_sqe *sqe;
	int rc = poll_dump_next(l, t);

	if (rc <= 0)
		return rc;
	q = ring_req_get(r, RING_OP_NL_SEND, on_sent, t);
	if (!q)
		return -EBUSY;
	sqe = ring_sqe(r, q);
	if (!sqe) {
		ring_req_put(r, q);
		return -EAGAIN;
	}
	io_uring_prep_send(sqe, t->fd, &t->req, t->req.nlh.nlmsg_len, 0);
	t->sending = 1;
	hold(l, t);
	if (!t->recv) {
		rc = arm_recv(l, t);
		if (rc == -ENOBUFS)
			want_rearm(l, t);
		else if (rc < 0)
			return rc;
	}
	return 1;
}

static int multishot(const struct poll_loop *l)
{
	return l->ring->features & RING_F_MULTISHOT;
}

static void on_cancelled(struct ring *r, struct ring_req *q, int res,
			 unsigned flags)
{
	struct poll_target *t = q->ctx;

	(void)r;
	(void)res;
	(void)flags;
	t->cancels--;
	let_go(t->loop, t);
}

/* Cancels t's receive, once. */
static void stop_recv(struct poll_loop *l, struct poll_target *t)
{
	if (t->recv && !t->recv->cancelled &&
	    ring_cancel_cb(l->ring, t->recv, on_cancelled, t) == 0) {
		t->recv->cancelled = 1;
		t->cancels++;
	}
}

/* A dump ended: the target's next family, or its end, where a multishot
 * receive is stopped (a single-shot one is simply not posted again). */
static void end_dump(struct poll_loop *l, struct poll_target *t, int rc)
{
	if (poll_dump_finish(l, t, rc) && multishot(l))
		stop_recv(l, t);
}

static void on_sent(struct ring *r, struct ring_req *q, int res, unsigned flags)
{
	struct poll_target *t = q->ctx;

	(void)r;
	(void)flags;
	t->sending = 0;
	if (t->busy && res != (int)t->req.nlh.nlmsg_len)
		end_dump(t->loop, t, res < 0 ? res : -EIO);
	let_go(t->loop, t);
}

/* Checks a received datagram and finds its payload; 0 or -errno. */
static int unpack(struct ring_req *q, struct poll_target *t, uint8_t *buf,
		  int res, const uint8_t **data, size_t *len)
{
	struct io_uring_recvmsg_out *o;
	int rc;

	if (!multishot(t->loop)) { /* MSG_TRUNC made res the full size */
		rc = nl_sock_check((size_t)res > NL_RECV_BUF ? MSG_TRUNC : 0,
				   &t->from, sizeof(t->from));
		*data = buf;
		*len = (size_t)res;
		return rc;
	}
	o = io_uring_recvmsg_validate(buf, res, &q->msg);
	if (!o)
		return -EPROTO;
	rc = nl_sock_check((int)o->flags, io_uring_recvmsg_name(o), o->namelen);
	if (rc < 0)
		return rc;
	*data = io_uring_recvmsg_payload(o, &q->msg);
	*len = io_uring_recvmsg_payload_length(o, res, &q->msg);
	return 0;
}

static void on_recv(struct ring *r, struct ring_req *q, int res, unsigned flags)
{
	struct poll_target *t = q->ctx;
	struct poll_loop *l = t->loop;
	int single = !multishot(l);
	unsigned bid =
		single ? (unsigned)t->bid : flags >> IORING_CQE_BUFFER_SHIFT;
	int has_buf = single || (flags & IORING_CQE_F_BUFFER);

	if (res >= 0 && t->busy) {
		const uint8_t *data = NULL;
		size_t len = 0;
		int rc = has_buf ? unpack(q, t, ring_buf(r, bid), res, &data,
					  &len)
				 : -EPROTO;
		if (rc == 0)
			rc = poll_feed(l, t, data, len);
		if (rc != 0)
			end_dump(l, t, rc < 0 ? rc : 0);
	} else if (res < 0 && res != -ENOBUFS && res != -ECANCELED && t->busy) {
		end_dump(l, t, res);
	}
	/* a single-shot buffer comes back whatever the result */
	if (has_buf)
		ring_buf_put(r, bid);
	if (single)
		t->bid = -1;
	if (flags & IORING_CQE_F_MORE)
		return;
	t->recv = NULL;
	if (t->busy) /* ran out of buffers, or a single-shot receive */
		want_rearm(l, t);
	let_go(l, t);
}

static void rearm_pending(struct poll_loop *l)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < l->nrearm; i++) {
		struct poll_target *t = l->rearm[i];
		int rc = 0;
		t->rearm = 0;
		if (t->busy && !t->recv)
			rc = arm_recv(l, t);
		if (rc == -ENOBUFS) {
			t->rearm = 1;
			l->rearm[keep++] = t;
		} else if (rc < 0 && t->busy) {
			end_dump(l, t, rc);
		}
	}
	l->nrearm = keep;
}

/* Ends the poll with nothing in flight: fails what is still running,
 * cancels every receive and waits for them. */
static void quiesce(struct poll_loop *l, struct poll_target *const *targets,
		    size_t n, int err)
{
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);
	int left;

	do {
		left = 0;
		for (size_t i = 0; i < n; i++) {
			struct poll_target *t = targets[i];
			if (t->busy)
				end_dump(l, t, err);
			stop_recv(l, t);
			left += t->recv != NULL;
		}
		while (l->nrearm) /* nothing is armed again */
			l->rearm[--l->nrearm]->rearm = 0;
		/* and the cancel requests themselves */
		left += l->ring->nbusy != 0;
		if (left)
			(void)ring_reap(l->ring, 100);
	} while (left &&
		 ts_now_ns(CLOCK_MONOTONIC) - t0 < QUIESCE_MS * 1000000ull);
}

static void ur_run(struct poll_loop *l, struct poll_target *const *targets,
		   size_t n)
{
	size_t next = 0;
	int err = -ETIMEDOUT;

	/* what a poll that ended early left in the table still counts */
	l->held = 0;
	for (size_t i = 0; i < n; i++)
		l->held += targets[i]->held != 0;
	if (!l->ring) { /* made here when this thread's prepare failed */
		int rc = ur_prepare(l, l->st->errmsg, sizeof(l->st->errmsg));
		if (rc < 0) {
			l->st->error = rc;
			return;
		}
	}
	poll_fill(l, targets, n, &next);
	/* targets may wait for room while none is in flight */
	while (l->inflight > 0 || next < n) {
		int rc = ring_reap(l->ring, l->cfg.timeout_ms);
		if (rc <= 0) {
			err = rc < 0 ? rc : -ETIMEDOUT;
			break;
		}
		rearm_pending(l);
		poll_fill(l, targets, n, &next);
	}
	quiesce(l, targets, n, err);
}

const struct poll_engine_ops poll_uring_ops = {
	.name = "uring",
	.init = ur_init,
	.release = ur_release,
	.prepare = ur_prepare,
	.start = start_dump,
	.room = ur_room,
	.run = ur_run,
};
