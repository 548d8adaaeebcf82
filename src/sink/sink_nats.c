/*
 * sink_nats.c - nats://[USER:PASS@]HOST:PORT/SUBJECT destination, through
 * nats.c (libnats).
 *
 * One message per payload of the batch, on SUBJECT. A payload is at most
 * max_bytes (default 1 MiB, the server's default max_payload) and never
 * more than the max_payload the server announced (read between polls,
 * when the batch is empty). The library owns the socket and its threads:
 * one reader per connection (publishes are written by the publishing
 * thread itself: SendAsap), with jetstream=1 one more that receives the
 * acks, and the library's timer, callback and garbage-collector threads
 * (a reconnect thread only while it reconnects).
 *
 * Connected or not, as the library's callbacks say: while it is not (the
 * server is down, or has not answered yet), payloads are held here, in
 * order, up to reconnect_buf bytes (default 8 MiB; beyond it they are
 * dropped: queue full), and go out first once it is connected again.
 * Nothing is handed to the library meanwhile, so a reconnect attempt that
 * holds the library's lock (it does, through a connect and the server's
 * answer: at most NATS_CONNECT_MS) does not hold the poll. (A payload
 * published in the instant between the loss and its callback goes to the
 * library's own reconnect buffer, one message large, which it sends when
 * it reconnects.)
 *
 * Core NATS (the default) has no acknowledgement: a record is sent once a
 * publish wrote it into the connection (SendAsap: into the kernel's socket
 * buffer); a server that dies loses what sat unread, as a unix stream peer
 * does. JetStream (jetstream=1): each message is published asynchronously
 * and its records are sent once the server's ack came back; an error ack
 * (no stream for SUBJECT, ...) or none within JS_ACK_WAIT_MS drops them
 * (failed). The ack handler runs on the library's thread: it finds a
 * message's records in the message's own bytes (batch_whole) and hands
 * counts to the publishing thread under a mutex, once per message. At most
 * max_pending (64) messages await their acks: one more waits for a slot
 * within the poll's budget, else is dropped (queue full).
 *
 * Bounds on the publishing (poll) thread: the publishes of one poll take
 * at most wait_ms (1000) together, waits for acks included, plus the one
 * under way when the budget runs out, itself bounded by the library's
 * write deadline (wait_ms too: a server that stops reading is cut off and
 * the library reconnects); the rest of that poll's payloads are dropped
 * (slow). A stop request cuts the waits for acks. Reconnects: forever,
 * after 100 ms doubling to 5 s. A connection the library closed for good
 * (the server refused the credentials twice, or closed it with an -ERR)
 * is made anew at the end of a poll, with the same backoff: that poll
 * pays one connect attempt (at most NATS_CONNECT_MS).
 *
 * At exit (finish): the last payloads, then what is held (until the
 * connection is back) and the acks outstanding are waited for until the
 * one exit deadline (a second stop request cuts the wait); what is left
 * is dropped (exit).
 *
 * Credentials reach the library as user and password, never inside a URL,
 * so its messages cannot hold them; they are masked in what is logged all
 * the same. Messages name the destination by s->name.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nats/nats.h>

#include "../util/stop.h"
#include "batch.h"
#include "dgram.h"
#include "sink.h"
#include "sink_nats.h"
#include "sink_url.h"

#define NATS_MAX_BYTES	  (1u << 20) /* the server's default max_payload */
#define NATS_MAX_ROWS	  1000
#define NATS_WAIT_MS	  1000
#define NATS_CONNECT_MS	  1000
#define JS_ACK_WAIT_MS	  5000 /* the library's default JetStream wait */
#define NATS_LIB_CLOSE_MS 1000 /* the library's threads, at the end */

/* --- the connection ---------------------------------------------------- */

static natsStatus set_options(struct nats *n, const char *url, int64_t wait)
{
	natsOptions *o = n->opts;
	natsStatus s = natsOptions_SetURL(o, url);

	if (s == NATS_OK && n->cfg.user[0])
		s = natsOptions_SetUserInfo(o, n->cfg.user, n->cfg.pass);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "tcpscope");
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK) /* one message: the rest is held here */
		s = natsOptions_SetReconnectBufSize(o,
						    (int)n->max_bytes + 4096);
	if (s == NATS_OK) /* written by the publisher: no flusher thread */
		s = natsOptions_SetSendAsap(o, true);
	if (s == NATS_OK) /* a server that stops reading costs this much */
		s = natsOptions_SetWriteDeadline(o, wait > 0 ? wait : 1);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, NATS_CONNECT_MS);
	return s;
}

/* The library's last error on this thread, masked. */
static void lib_error(const struct nats *n, char *err, size_t errlen)
{
	tsnats_mask(n->cfg.pass, nats_GetLastError(NULL), err, errlen);
}

/* Gives the connection up: the messages awaiting acks are dropped for
 * `why` (what is held stays); its late callbacks are not heard. */
static void conn_close(struct nats *n, enum sink_drop why)
{
	natsMsgList l = { 0 };

	/* (the library's list crashes before the first async publish) */
	if (n->js && n->conn_pubs &&
	    js_PublishAsyncGetPendingList(&l, n->js) == NATS_OK) {
		for (int i = 0; i < l.Count; i++) {
			uint32_t rows;
			(void)batch_whole(
				n->fmt,
				(const uint8_t *)natsMsg_GetData(l.Msgs[i]),
				(size_t)natsMsg_GetDataLength(l.Msgs[i]),
				&rows);
			n->gone_msgs++;
			n->gone_rows += rows;
			sink_drop(n->s, why, rows);
		}
		natsMsgList_Destroy(&l);
	}
	jsCtx_Destroy(n->js);
	n->js = NULL;
	pthread_mutex_lock(&n->sh.mu);
	n->sh.gen++;
	n->sh.up = 0;
	n->sh.closed = 1;
	pthread_mutex_unlock(&n->sh.mu);
	natsConnection_Destroy(n->nc);
	n->nc = NULL;
	tsnats_fold(n, 0);
}

/* A connection (retrying in the background while the server is down)
 * and, for JetStream, its context. 0, or -EIO with the reason in err (and
 * the connection counted closed: revive() tries again). */
static int conn_open(struct nats *n, char *err, size_t errlen)
{
	struct nats_link *l;
	natsStatus st;
	jsOptions jo;

	pthread_mutex_lock(&n->sh.mu);
	l = &n->link[n->sh.gen % NATS_LINKS];
	*l = (struct nats_link){ n, n->sh.gen };
	n->conn_pubs = 0;
	n->sh.seen = n->sh.up = n->sh.closed = 0;
	pthread_mutex_unlock(&n->sh.mu);
	st = tsnats_callbacks(n, l);
	if (st == NATS_OK)
		st = natsConnection_Connect(&n->nc, n->opts);
	if (st == NATS_OK || st == NATS_NOT_YET_CONNECTED) {
		pthread_mutex_lock(&n->sh.mu);
		if (!n->sh.seen) /* no callback came first */
			n->sh.up = st == NATS_OK;
		pthread_mutex_unlock(&n->sh.mu);
		st = NATS_OK;
	} else {
		n->nc = NULL;
	}
	if (st == NATS_OK && n->cfg.jetstream) {
		/* MaxPending 0: the bound is ours (pending_slot), so the
		 * library never stalls a publish */
		jsOptions_Init(&jo);
		tsnats_acks(l, &jo);
		st = natsConnection_JetStream(&n->js, n->nc, &jo);
	}
	if (st != NATS_OK) {
		lib_error(n, err, errlen);
		n->js = NULL;
		conn_close(n, SINK_DROP_FAILED);
		return -EIO;
	}
	tsnats_fold(n, 0);
	return 0;
}

/* A connection the library closed for good is made anew, with backoff. */
static void revive(struct nats *n)
{
	char why[200];
	uint64_t now = dgram_now_ns();

	if (n->up)
		n->revive_wait = 0;
	if (!n->closed || now < n->next_revive_ns)
		return;
	n->revive_wait =
		n->revive_wait ? n->revive_wait * 2 : NATS_BACKOFF_MIN_MS;
	if (n->revive_wait > NATS_BACKOFF_MAX_MS)
		n->revive_wait = NATS_BACKOFF_MAX_MS;
	n->next_revive_ns = now + n->revive_wait * 1000000ull;
	conn_close(n, SINK_DROP_FAILED);
	if (conn_open(n, why, sizeof(why)) < 0) {
		n->s->st.errors++;
		sink_log_limited(n->s, "cannot connect again: %s", why);
	}
}

/* Messages fit the server's max_payload; between polls (the batch is
 * empty), the arena being sized for max_bytes. */
static void fit_payload(struct nats *n)
{
	int64_t mp = n->up ? natsConnection_GetMaxPayload(n->nc) : 0;

	if (mp <= 0)
		return;
	n->b.max_bytes =
		(uint64_t)mp < n->max_bytes ? (uint32_t)mp : n->max_bytes;
	if (n->b.max_bytes < n->max_bytes && !n->said_payload++)
		sink_log_limited(n->s,
				 "messages held to the server's max_payload "
				 "(%lld bytes, below max_bytes)",
				 (long long)mp);
}

/* --- ops --------------------------------------------------------------- */

static void nats_free(struct nats *n)
{
	if (n->sh.efd >= 0)
		close(n->sh.efd);
	pthread_mutex_destroy(&n->sh.mu);
	free(n->hold);
	free(n);
}

/* A connection's callbacks (the ack handler too) may still be on their
 * way out of a late call when a sink is released: the structs are freed
 * once the library has stopped, with the last nats:// sink (the library
 * cannot be opened again in this process: sinks are released at exit). */
static struct nats *dead;
static unsigned lib_users;

static void lib_release(struct nats *n)
{
	uint64_t left = ts_stop_exit_left_ms();

	n->next_dead = dead;
	dead = n;
	if (--lib_users)
		return;
	if (left > NATS_LIB_CLOSE_MS)
		left = NATS_LIB_CLOSE_MS;
	if (!left || nats_CloseAndWait((int64_t)left) != NATS_OK)
		return; /* still reachable through `dead` */
	while ((n = dead)) {
		dead = n->next_dead;
		nats_free(n);
	}
}

/* The parts of a sink that cannot fail later; 0 or -ENOMEM. */
static int nats_alloc(struct nats *n, const struct sink_url *u)
{
	n->sh.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	n->hcap = n->cfg.reconnect_buf;
	n->hold = malloc(n->hcap);
	if (n->sh.efd < 0 || !n->hold ||
	    batch_init(&n->b, n->fmt, n->max_bytes,
		       u->max_rows ? u->max_rows : NATS_MAX_ROWS, 1u << 20, 64,
		       tsnats_emit, n) < 0 ||
	    natsOptions_Create(&n->opts) != NATS_OK)
		return -ENOMEM;
	return 0;
}

static int nats_open(struct sink *s, const struct sink_url *u, char *err,
		     size_t errlen)
{
	struct nats *n = calloc(1, sizeof(*n));
	int64_t wait = u->wait_ms < 0 ? NATS_WAIT_MS : u->wait_ms;
	char url[300];
	int rc;

	if (!n)
		return -ENOMEM;
	memcpy(&n->cfg, u->cfg, sizeof(n->cfg));
	n->s = s;
	n->fmt = s->format;
	n->max_bytes = u->max_bytes ? u->max_bytes : NATS_MAX_BYTES;
	n->budget_ns = (uint64_t)wait * 1000000ull;
	n->po.MaxWait = JS_ACK_WAIT_MS;
	pthread_mutex_init(&n->sh.mu, NULL);
	snprintf(url, sizeof(url),
		 strchr(u->host, ':') ? "nats://[%s]:%s" : "nats://%s:%s",
		 u->host, u->port);
	rc = nats_alloc(n, u);
	if (rc == 0 && set_options(n, url, wait) != NATS_OK) {
		lib_error(n, err, errlen);
		rc = -EINVAL; /* what the library refuses in the options */
	}
	if (rc == 0)
		rc = conn_open(n, err, errlen);
	if (rc < 0) {
		batch_release(&n->b);
		natsOptions_Destroy(n->opts);
		if (n->sh.gen) { /* a connection was given up: it may call */
			n->next_dead = dead;
			dead = n;
		} else {
			nats_free(n);
		}
		return rc;
	}
	lib_users++;
	s->priv = n;
	s->batch = &n->b;
	fit_payload(n);
	if (!n->up) { /* startup, not the hot path: said once */
		char why[200];
		lib_error(n, why, sizeof(why));
		fprintf(stderr,
			"tcpscope: %s: not connected yet (%s); retrying\n",
			s->name, why[0] ? why : "no answer");
	}
	return 0;
}

/* One line (rate-limited) for what went wrong since the last flush. */
static void report(struct nats *n, uint64_t dropped)
{
	struct sink *s = n->s;
	uint64_t failed = s->st.drop[SINK_DROP_FAILED] - n->failed_seen;
	uint64_t other = s->st.dropped - dropped - failed;
	char err[sizeof(n->sh.err)], more[128] = "";

	pthread_mutex_lock(&n->sh.mu);
	memcpy(err, n->sh.err, sizeof(err));
	pthread_mutex_unlock(&n->sh.mu);
	n->failed_seen = s->st.drop[SINK_DROP_FAILED];
	if (other)
		snprintf(more, sizeof(more), "; %llu record(s) dropped (%s)",
			 (unsigned long long)other, n->why ? n->why : "?");
	if (!n->up)
		sink_log_limited(s,
				 "not connected (%s); reconnecting, %llu "
				 "record(s) held%s",
				 err[0] ? err : "no answer yet",
				 (unsigned long long)s->st.queued, more);
	else if (failed)
		sink_log_limited(s, "%llu record(s) not delivered (%s)%s",
				 (unsigned long long)failed, err, more);
	else if (other)
		sink_log_limited(s, "%s", more + 2);
}

static int nats_flush(struct sink *s)
{
	struct nats *n = s->priv;
	uint64_t dropped = s->st.dropped;

	batch_flush(&n->b);
	tsnats_drain(n);
	n->waited_ns = 0;
	tsnats_fold(n, 0);
	revive(n);
	fit_payload(n);
	report(n, dropped);
	return s->st.dropped != dropped ? -EIO : 0;
}

/* The connection is gone: what was held or not answered yet is dropped
 * (a late ack changes nothing). */
static void count_rest(struct nats *n)
{
	tsnats_fold(n, FOLD_FINAL);
	tsnats_hold_drop(n, SINK_DROP_EXIT);
	sink_drop(n->s, SINK_DROP_EXIT, tsnats_outstanding(n));
	n->gone_rows = n->pub_rows - n->done_rows;
	n->gone_msgs = n->pub_msgs - n->done_msgs;
	n->s->st.queued = 0;
}

static int nats_finish(struct sink *s)
{
	struct nats *n = s->priv;
	uint64_t budget = n->budget_ns, left;

	n->budget_ns = (uint64_t)SINK_EXIT_MAX_MS * 1000000ull;
	n->waited_ns = 0;
	batch_flush(&n->b);
	for (tsnats_drain(n), tsnats_fold(n, FOLD_WAIT);
	     n->hrows + tsnats_outstanding(n) && !n->closed;
	     tsnats_drain(n), tsnats_fold(n, FOLD_WAIT))
		if (tsnats_wait(n) < 0)
			break;
	tsnats_fold(n, 0);
	left = ts_stop_exit_left_ms();
	if (n->up && !n->js && left)
		/* the server has read all of it (a PING's PONG) before the
		 * socket closes */
		(void)natsConnection_FlushTimeout(
			n->nc,
			left < NATS_WAIT_MS ? (int64_t)left : NATS_WAIT_MS);
	conn_close(n, SINK_DROP_EXIT);
	count_rest(n);
	n->budget_ns = budget;
	return 0;
}

static void nats_release(struct sink *s)
{
	struct nats *n = s->priv;

	if (!n)
		return;
	/* no publishing: finish() had its chance; what is left is counted */
	n->closing = 1;
	batch_flush(&n->b);
	if (n->nc)
		conn_close(n, SINK_DROP_EXIT);
	if (!n->sh.final)
		count_rest(n);
	batch_release(&n->b);
	natsOptions_Destroy(n->opts);
	lib_release(n);
}

const struct sink_ops sink_nats_ops = {
	.scheme = "nats",
	.form = "nats://[USER:PASS@]HOST:PORT/SUBJECT",
	.options = "max_bytes, max_rows, wait_ms, jetstream, max_pending, "
		   "reconnect_buf",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.flags = SINK_F_OWN_IO,
	.parse = tsnats_parse,
	.open = nats_open,
	.flush = nats_flush,
	.finish = nats_finish,
	.release = nats_release,
};
