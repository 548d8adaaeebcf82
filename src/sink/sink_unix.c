/*
 * sink_unix.c - unix:PATH destination (AF_UNIX, SOCK_STREAM).
 *
 * Each payload of the batch is one frame on the stream, with exactly one
 * length prefix (protobuf-list: varint(len(Envelope)) + Envelope; protobuf:
 * varint-prefixed records; json: lines) - unlike xtcp2, which prefixes
 * protobuf-list payloads twice.
 * Frames are copied whole into a bounded output buffer and written with
 * non-blocking send(); partial writes resume where they stopped. When the
 * buffer cannot take a frame we wait for POLLOUT within the poll's budget
 * (wait_ms), then drop the frame (counted), so a peer that stops reading
 * costs at most wait_ms per poll and `buffer` bytes of memory. Waits go
 * through ts_wait_fd(): a stop request cuts them at once.
 * At exit (finish), the buffered frames have until the one exit deadline
 * (--exit-timeout) instead; a frame the peer got only part of by then is
 * cut (the stream ends mid-frame), counted as an error and said.
 * When the peer goes away, the one frame it got only part of is dropped;
 * the frames not yet started go to the next connection, so a reader only
 * ever sees whole frames. Reconnects: at once, then with a backoff
 * doubling from 100 ms to 5 s. With the uring engine each send goes
 * through the writing thread's ring instead of send(2), one at a time.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../engine/ring.h"
#include "../util/stop.h"
#include "batch.h"
#include "dgram.h"
#include "sink.h"
#include "sink_url.h"

#define UNIX_BUFFER    (4u << 20)
#define UNIX_MAX_BYTES (1u << 20)
#define UNIX_MAX_ROWS  1000
#define UNIX_WAIT_MS   1000
#define UNIX_FRAMES    4096
#define BACKOFF_MIN_NS (100ull * 1000000ull)
#define BACKOFF_MAX_NS (5000ull * 1000000ull)

struct frame {
	uint32_t len;
	uint32_t rows;
};

struct ustream {
	struct sink *s;
	struct sockaddr_un addr;
	int fd;
	int last_err;
	uint64_t next_try_ns;
	uint64_t backoff_ns;
	uint64_t budget_ns; /* wait_ms */
	uint64_t waited_ns; /* in this poll */
	uint64_t lost_peer;
	struct batch b;
	uint8_t *out; /* pending bytes: [head, tail) */
	size_t cap, head, tail;
	struct frame fq[UNIX_FRAMES]; /* ring of the frames in out */
	unsigned fq_first, fq_n;
	size_t sent; /* bytes of the first frame already written */
};

static void schedule_retry(struct ustream *u)
{
	u->backoff_ns = u->backoff_ns ? u->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (u->backoff_ns > BACKOFF_MAX_NS)
		u->backoff_ns = BACKOFF_MAX_NS;
	u->next_try_ns = dgram_now_ns() + u->backoff_ns;
}

/* Connects if not connected and a try is due; 0 when connected. */
static int ensure_connected(struct ustream *u)
{
	int fd;

	if (u->fd >= 0)
		return 0;
	if (dgram_now_ns() < u->next_try_ns)
		return -ENOTCONN;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    connect(fd, (struct sockaddr *)&u->addr, sizeof(u->addr)) == 0) {
		u->fd = fd;
		u->backoff_ns = 0;
		return 0;
	}
	/* EAGAIN (backlog full) is a failed try like ENOENT/ECONNREFUSED */
	u->last_err = errno;
	u->s->st.errors++;
	if (fd >= 0)
		close(fd);
	schedule_retry(u);
	return -ENOTCONN;
}

/* delivered: 1, else minus the errno it was lost to (0: unknown). */
static void pop_frame(struct ustream *u, int delivered)
{
	struct frame *f = &u->fq[u->fq_first];

	if (delivered > 0) {
		u->s->st.records += f->rows;
		u->s->st.bytes += f->len;
	} else {
		sink_drop(u->s,
			  sink_drop_reason(delivered < 0 ? -delivered : 0),
			  f->rows);
	}
	u->fq_first = (u->fq_first + 1) % UNIX_FRAMES;
	u->fq_n--;
	if (u->fq_n == 0)
		u->head = u->tail = 0;
}

/* The peer went away: drop the frame it got part of; keep the rest for
 * the next connection, which is tried at once. */
static void lose_peer(struct ustream *u, int err)
{
	close(u->fd);
	u->fd = -1;
	u->last_err = err;
	u->lost_peer++;
	u->s->st.errors++;
	if (u->sent) {
		u->head += u->fq[u->fq_first].len - u->sent;
		u->sent = 0;
		pop_frame(u, -err);
	}
	u->next_try_ns = 0;
}

/* One send of the pending bytes: through the ring (one send in flight per
 * connection, so frames stay whole and in order; a short completion is
 * resumed by the caller) or send(2). Bytes sent, or -1 with errno. */
static ssize_t send_pending(struct ustream *u)
{
	struct iovec iov = { u->out + u->head, u->tail - u->head };
	int res, rc;

	if (!u->s->ring)
		return send(u->fd, iov.iov_base, iov.iov_len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
	rc = ring_send_batch(u->s->ring, u->fd, &iov, 1, 0, &res);
	if (rc == 0)
		rc = res;
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

/* Writes what the socket takes; 0 when the buffer is empty, -EAGAIN when
 * the socket is full, -ENOTCONN without a connection. */
static int drain(struct ustream *u)
{
	while (u->fq_n) {
		if (ensure_connected(u) < 0)
			return -ENOTCONN;
		ssize_t n = send_pending(u);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return -EAGAIN;
		if (n <= 0) {
			lose_peer(u, n < 0 ? errno : EPIPE);
			continue;
		}
		u->head += (size_t)n;
		u->sent += (size_t)n;
		while (u->fq_n && u->sent >= u->fq[u->fq_first].len) {
			u->sent -= u->fq[u->fq_first].len;
			pop_frame(u, 1);
		}
	}
	return 0;
}

/* Drains, waiting for POLLOUT within the poll's budget (ts_wait_fd: a
 * stop request cuts the wait, the exit deadline clips it), until `need`
 * bytes are free (SIZE_MAX: until everything is written). 0 when done,
 * else why it stopped: -ENOTCONN, -ETIMEDOUT, -ECANCELED or -errno. */
static int drain_wait(struct ustream *u, size_t need)
{
	for (;;) {
		int rc = drain(u);
		if (rc == -ENOTCONN)
			return rc;
		if (rc == 0 || u->cap - (u->tail - u->head) >= need)
			return 0;
		rc = ts_wait_fd(u->fd, POLLOUT, u->budget_ns, &u->waited_ns);
		if (rc < 0)
			return rc;
	}
}

static void enqueue(struct ustream *u, const struct batch_payload *p)
{
	if (u->fq_n == UNIX_FRAMES || u->cap - (u->tail - u->head) < p->len)
		(void)drain_wait(u, p->len);
	if (u->fq_n == UNIX_FRAMES || u->cap - (u->tail - u->head) < p->len) {
		sink_drop(u->s, SINK_DROP_QUEUE_FULL, p->rows);
		return;
	}
	if (u->cap - u->tail < p->len) { /* compact: the frames move down */
		memmove(u->out, u->out + u->head, u->tail - u->head);
		u->tail -= u->head;
		u->head = 0;
	}
	memcpy(u->out + u->tail, p->data, p->len);
	u->tail += p->len;
	u->fq[(u->fq_first + u->fq_n) % UNIX_FRAMES] =
		(struct frame){ (uint32_t)p->len, p->rows };
	u->fq_n++;
}

static void unix_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct ustream *u = ctx;

	for (unsigned i = 0; i < n; i++)
		enqueue(u, &p[i]);
	(void)drain(u);
}

static int unix_parse(struct sink_url *u, char *err, size_t errlen)
{
	int rc = sink_url_take_path(u, SINK_URL_TARGET_MAX, err, errlen);

	if (rc == 0)
		rc = sink_url_take_limits(u, SINK_MAX_BYTES_LIMIT, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "buffer", 4096, SINK_MAX_BYTES_LIMIT,
				       &u->buffer, err, errlen);
	if (rc == 0 && u->buffer && u->max_bytes > u->buffer)
		rc = sink_url_fail(u, err, errlen, "max_bytes exceeds buffer");
	return rc;
}

static int unix_open(struct sink *s, const struct sink_url *url, char *err,
		     size_t errlen)
{
	struct ustream *u = calloc(1, sizeof(*u));
	uint32_t max_bytes = url->max_bytes ? url->max_bytes : UNIX_MAX_BYTES;
	int rc;

	(void)err;
	(void)errlen;
	if (!u)
		return -ENOMEM;
	u->s = s;
	u->fd = -1;
	u->cap = url->buffer ? url->buffer : UNIX_BUFFER;
	if (max_bytes > u->cap)
		max_bytes = (uint32_t)u->cap;
	u->budget_ns =
		(uint64_t)(url->wait_ms < 0 ? UNIX_WAIT_MS : url->wait_ms) *
		1000000ull;
	u->addr.sun_family = AF_UNIX;
	memcpy(u->addr.sun_path, url->path, strlen(url->path) + 1);
	u->out = malloc(u->cap);
	rc = u->out ? batch_init(&u->b, s->format, max_bytes,
				 url->max_rows ? url->max_rows : UNIX_MAX_ROWS,
				 256 * 1024, 256, unix_emit, u)
		    : -ENOMEM;
	if (rc < 0) {
		free(u->out);
		free(u);
		return rc;
	}
	s->priv = u;
	s->batch = &u->b;
	if (ensure_connected(u) < 0)
		/* startup, not the hot path: say once why nothing arrives */
		fprintf(stderr,
			"tcpscope: %s: not connected yet (%s); "
			"retrying\n",
			s->name, strerror(u->last_err));
	return 0;
}

static int unix_flush(struct sink *s)
{
	struct ustream *u = s->priv;
	uint64_t dropped = s->st.dropped, lost = u->lost_peer;

	batch_flush(&u->b);
	(void)drain_wait(u, SIZE_MAX);
	u->waited_ns = 0;
	if (u->lost_peer != lost)
		sink_log_limited(s, "peer went away (%s); reconnecting",
				 strerror(u->last_err));
	else if (s->st.dropped != dropped)
		sink_log_limited(s, "records dropped: %s",
				 u->fd < 0 ? strerror(u->last_err)
					   : "peer is not reading fast enough");
	return s->st.dropped != dropped ? -EIO : 0;
}

/* What is still buffered will never be sent: dropped (counted). When the
 * peer got part of a frame, the stream ends mid-frame once the socket is
 * closed: that is counted as an error and said, whatever --quiet. */
static void give_up(struct ustream *u, int why)
{
	if (u->fq_n && u->sent) {
		const struct frame *f = &u->fq[u->fq_first];
		u->s->st.errors++;
		fprintf(stderr,
			"tcpscope: %s: stream ends mid-frame: %zu of the %u "
			"bytes of a frame (%u records) could not be sent %s "
			"(the peer reads too slowly)\n",
			u->s->name, (size_t)f->len - u->sent, f->len, f->rows,
			why == -ECANCELED ? "before a second stop request"
					  : "within the exit timeout");
	}
	u->sent = 0;
	while (u->fq_n)
		pop_frame(u, 0);
}

/* At exit: everything buffered, the frame the peer got part of first, has
 * until the one exit deadline (ts_stop_exit_begin) instead of the per-poll
 * budget; what is left then is given up. */
static int unix_finish(struct sink *s)
{
	struct ustream *u = s->priv;
	uint64_t budget = u->budget_ns;
	int rc;

	u->budget_ns = (uint64_t)SINK_EXIT_MAX_MS * 1000000ull;
	u->waited_ns = 0;
	batch_flush(&u->b);
	rc = drain_wait(u, SIZE_MAX);
	u->budget_ns = budget;
	u->waited_ns = 0;
	give_up(u, rc);
	return 0;
}

static void unix_release(struct sink *s)
{
	struct ustream *u = s->priv;

	if (!u)
		return;
	/* no waits: finish() had its chance; what is left is counted */
	u->budget_ns = 0;
	batch_flush(&u->b);
	give_up(u, -ETIMEDOUT);
	if (u->fd >= 0)
		close(u->fd);
	batch_release(&u->b);
	free(u->out);
	free(u);
}

const struct sink_ops sink_unix_ops = {
	.scheme = "unix",
	.form = "unix:PATH",
	.options = "max_bytes, max_rows, wait_ms, buffer",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.parse = unix_parse,
	.open = unix_open,
	.flush = unix_flush,
	.finish = unix_finish,
	.release = unix_release,
};
