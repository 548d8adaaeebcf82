/* nats_pub.c - the nats:// destination's publishing, and what the
 * library's threads report (see sink_nats.h, and sink_nats.c for how the
 * destination behaves). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util/stop.h"
#include "dgram.h"
#include "sink.h"
#include "sink_nats.h"

/* --- what the library's threads report --------------------------------- */

/* Under sh.mu: the library's complaint, masked, for the next log line. */
static void note_err(struct nats *n, const char *what, const char *text)
{
	char raw[sizeof(n->sh.err)];

	snprintf(raw, sizeof(raw), "%s%s%s", what, text && *text ? ": " : "",
		 text ? text : "");
	tsnats_mask(n->cfg.pass, raw, n->sh.err, sizeof(n->sh.err));
}

/* Under sh.mu: wakes the publishing thread if it waits. */
static void wake(struct nats *n)
{
	uint64_t one = 1;

	if (n->sh.waiting)
		(void)!write(n->sh.efd, &one, sizeof(one));
}

/* Every ack counts, whichever connection it came on: the messages given
 * up with a connection (conn_close) no longer have a handler. */
static void ack_cb(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae,
		   void *closure)
{
	struct nats *n = ((struct nats_link *)closure)->n;
	size_t len = (size_t)natsMsg_GetDataLength(m);
	uint32_t rows;

	(void)js;
	(void)batch_whole(n->fmt, (const uint8_t *)natsMsg_GetData(m), len,
			  &rows);
	pthread_mutex_lock(&n->sh.mu);
	if (!n->sh.final) {
		if (pa) {
			n->sh.acked_rows += rows;
			n->sh.acked_bytes += len;
		} else {
			n->sh.failed_rows += rows;
			n->sh.errors++;
			note_err(n, "not acknowledged",
				 pae && pae->ErrText ? pae->ErrText
				 : pae ? natsStatus_GetText(pae->Err)
				       : NULL);
		}
		n->sh.done_msgs++;
		wake(n);
	}
	pthread_mutex_unlock(&n->sh.mu);
	natsMsg_Destroy(m); /* the handler owns it */
}

/* The connection's own state, when it is the current one: up (1), down
 * (0) or closed for good (-1). */
static void conn_state(natsConnection *nc, struct nats_link *l, int state)
{
	struct nats *n = l->n;
	const char *text = NULL;

	if (state <= 0)
		(void)natsConnection_GetLastError(nc, &text);
	pthread_mutex_lock(&n->sh.mu);
	if (l->gen == n->sh.gen) {
		n->sh.seen++;
		n->sh.up = state > 0;
		n->sh.closed |= state < 0;
		if (state <= 0) {
			n->sh.errors++;
			note_err(n,
				 state < 0 ? "connection closed"
					   : "connection lost",
				 text);
		}
		wake(n); /* held payloads can go, or none can */
	}
	pthread_mutex_unlock(&n->sh.mu);
}

static void up_cb(natsConnection *nc, void *closure)
{
	conn_state(nc, closure, 1);
}

static void lost_cb(natsConnection *nc, void *closure)
{
	conn_state(nc, closure, 0);
}

static void closed_cb(natsConnection *nc, void *closure)
{
	conn_state(nc, closure, -1);
}

static void err_cb(natsConnection *nc, natsSubscription *sub, natsStatus err,
		   void *closure)
{
	struct nats_link *l = closure;
	struct nats *n = l->n;
	const char *text = NULL;

	(void)sub;
	(void)natsConnection_GetLastError(nc, &text);
	pthread_mutex_lock(&n->sh.mu);
	if (l->gen == n->sh.gen) {
		n->sh.errors++;
		note_err(n, natsStatus_GetText(err), text);
	}
	pthread_mutex_unlock(&n->sh.mu);
}

static int64_t backoff_cb(natsConnection *nc, int attempts, void *closure)
{
	int64_t ms = NATS_BACKOFF_MIN_MS;

	(void)nc;
	(void)closure;
	for (int i = 1; i < attempts && ms < NATS_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < NATS_BACKOFF_MAX_MS ? ms : NATS_BACKOFF_MAX_MS;
}

/* --- counting, on the publishing thread -------------------------------- */

/* Records awaiting acks. */
uint64_t tsnats_outstanding(const struct nats *n)
{
	return n->pub_rows - n->done_rows - n->gone_rows;
}

/* Takes what the library's threads counted, and the connection's state.
 * FOLD_WAIT is set under the same lock, so no wake-up is lost. */
void tsnats_fold(struct nats *n, unsigned flags)
{
	struct nats_shared *sh = &n->sh;
	struct sink *s = n->s;

	pthread_mutex_lock(&sh->mu);
	s->st.records += sh->acked_rows;
	s->st.bytes += sh->acked_bytes;
	sink_drop(s, SINK_DROP_FAILED, sh->failed_rows);
	s->st.errors += sh->errors;
	n->done_msgs += sh->done_msgs;
	n->done_rows += sh->acked_rows + sh->failed_rows;
	sh->done_msgs = sh->acked_rows = sh->acked_bytes = 0;
	sh->failed_rows = sh->errors = 0;
	sh->waiting = !!(flags & FOLD_WAIT);
	sh->final |= !!(flags & FOLD_FINAL);
	n->up = sh->up;
	n->closed = sh->closed;
	pthread_mutex_unlock(&sh->mu);
	s->st.queued = n->hrows + tsnats_outstanding(n);
}

static void drop(struct nats *n, enum sink_drop why, uint32_t rows,
		 const char *text)
{
	sink_drop(n->s, why, rows);
	n->why = text;
}

/* Waits for efd within the budget (ts_wait_fd: a stop request cuts it,
 * the exit deadline clips it); 0 when woken, else -errno. */
int tsnats_wait(struct nats *n)
{
	uint64_t v;
	int rc = ts_wait_fd(n->sh.efd, POLLIN, n->budget_ns, &n->waited_ns);

	(void)!read(n->sh.efd, &v, sizeof(v));
	return rc;
}

/* JetStream: a slot for one more message awaiting its ack. 0, or -errno
 * (-ENOTCONN: none can come while the connection is down). */
static int pending_slot(struct nats *n)
{
	int rc;

	for (;;) {
		tsnats_fold(n, FOLD_WAIT);
		rc = 0;
		if (n->pub_msgs - n->done_msgs - n->gone_msgs <
		    n->cfg.max_pending)
			break;
		rc = -ENOTCONN;
		if (!n->up || (rc = tsnats_wait(n)) < 0)
			break;
	}
	tsnats_fold(n, 0);
	return rc;
}

/* --- holding while not connected --------------------------------------- */

/* in front of each payload held */
struct hold_hdr {
	uint32_t len, rows;
};

static int hold_put(struct nats *n, const struct batch_payload *p)
{
	struct hold_hdr h = { (uint32_t)p->len, p->rows };

	if (n->hcap - n->htail < sizeof(h) + p->len && n->hhead) {
		memmove(n->hold, n->hold + n->hhead, n->htail - n->hhead);
		n->htail -= n->hhead;
		n->hhead = 0;
	}
	if (n->hcap - n->htail < sizeof(h) + p->len)
		return -ENOBUFS;
	memcpy(n->hold + n->htail, &h, sizeof(h));
	memcpy(n->hold + n->htail + sizeof(h), p->data, p->len);
	n->htail += sizeof(h) + p->len;
	n->hrows += p->rows;
	n->s->st.queued += p->rows;
	return 0;
}

/* The oldest payload held, or 0. */
static int hold_first(const struct nats *n, struct batch_payload *p)
{
	struct hold_hdr h;

	if (n->hhead == n->htail)
		return 0;
	memcpy(&h, n->hold + n->hhead, sizeof(h));
	*p = (struct batch_payload){ n->hold + n->hhead + sizeof(h), h.len,
				     h.rows };
	return 1;
}

static void hold_pop(struct nats *n, const struct batch_payload *p)
{
	n->hhead += sizeof(struct hold_hdr) + p->len;
	n->hrows -= p->rows;
	if (n->hhead == n->htail)
		n->hhead = n->htail = 0;
}

/* Drops everything held, for `why`. */
void tsnats_hold_drop(struct nats *n, enum sink_drop why)
{
	sink_drop(n->s, why, n->hrows);
	n->hrows = 0;
	n->hhead = n->htail = 0;
}

/* --- publishing -------------------------------------------------------- */

/* A publish the library refused: dropped, or -EAGAIN when it is to be
 * held (the connection went down under us). */
static int publish_failed(struct nats *n, natsStatus st, uint32_t rows)
{
	if (st == NATS_CONNECTION_CLOSED || st == NATS_INSUFFICIENT_BUFFER)
		return -EAGAIN;
	n->s->st.errors++;
	drop(n, sink_drop_reason(st == NATS_TIMEOUT ? ETIMEDOUT : EIO), rows,
	     st == NATS_TIMEOUT ? "the server did not read it within wait_ms"
				: natsStatus_GetText(st));
	return 0;
}

/* The library's call, timed against the poll's budget. */
static natsStatus timed(struct nats *n, const struct batch_payload *p)
{
	uint64_t t0 = dgram_now_ns();
	natsStatus st = n->js ? js_PublishAsync(n->js, n->cfg.subject, p->data,
						(int)p->len, &n->po)
			      : natsConnection_Publish(n->nc, n->cfg.subject,
						       p->data, (int)p->len);

	n->waited_ns += dgram_now_ns() - t0;
	return st;
}

/* One payload: 0 when done with (sent, published or dropped), -EAGAIN
 * when it is to be held. */
static int publish(struct nats *n, const struct batch_payload *p)
{
	natsStatus st;
	int rc = n->js ? pending_slot(n) : 0;

	if (rc == -ENOTCONN)
		return -EAGAIN;
	if (rc < 0) {
		drop(n, sink_drop_reason(ETIMEDOUT), p->rows,
		     "max_pending messages await their acks");
		return 0;
	}
	st = timed(n, p);
	if (st != NATS_OK)
		return publish_failed(n, st, p->rows);
	if (n->js) {
		n->conn_pubs++;
		n->pub_msgs++;
		n->pub_rows += p->rows;
	} else {
		n->s->st.records += p->rows;
		n->s->st.bytes += p->len;
	}
	return 0;
}

/* What is held goes first, while connected and within the budget. */
void tsnats_drain(struct nats *n)
{
	struct batch_payload p;

	tsnats_fold(n, 0);
	while (n->up && n->waited_ns < n->budget_ns && hold_first(n, &p) &&
	       publish(n, &p) == 0) {
		hold_pop(n, &p);
		tsnats_fold(n, 0);
	}
}

static void emit_one(struct nats *n, const struct batch_payload *p)
{
	if (n->closing || ts_stop_exit_expired()) {
		drop(n, SINK_DROP_EXIT, p->rows, "the exit's bound");
		return;
	}
	if (n->waited_ns >= n->budget_ns) {
		drop(n, sink_drop_reason(ETIMEDOUT), p->rows,
		     "wait_ms used up");
		return;
	}
	tsnats_drain(n);
	if (n->up && n->hhead == n->htail && publish(n, p) == 0)
		return;
	if (hold_put(n, p) < 0)
		drop(n, SINK_DROP_QUEUE_FULL, p->rows,
		     "the reconnect buffer is full");
}

void tsnats_emit(void *ctx, const struct batch_payload *p, unsigned np)
{
	for (unsigned i = 0; i < np; i++)
		emit_one(ctx, &p[i]);
}

natsStatus tsnats_callbacks(struct nats *n, struct nats_link *l)
{
	natsOptions *o = n->opts;
	natsStatus s = natsOptions_SetCustomReconnectDelay(o, backoff_cb, l);

	if (s == NATS_OK)
		s = natsOptions_SetRetryOnFailedConnect(o, true, up_cb, l);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, up_cb, l);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, lost_cb, l);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(o, closed_cb, l);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(o, err_cb, l);
	return s;
}

void tsnats_acks(struct nats_link *l, jsOptions *jo)
{
	jo->PublishAsync.AckHandler = ack_cb;
	jo->PublishAsync.AckHandlerClosure = l;
}
