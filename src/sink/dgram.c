/* dgram.c - sendmmsg with a bounded wait (see dgram.h). */
#include "dgram.h"

#include "../engine/ring.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t dgram_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int dgram_init(struct dgram *d, struct sink *s, uint32_t max_bytes,
	       uint32_t max_rows, int32_t wait_ms)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->s = s;
	d->fd = -1;
	d->wait_ms = wait_ms < 0 ? DGRAM_WAIT_MS : (uint32_t)wait_ms;
	d->msgs = calloc(DGRAM_MAXPL, sizeof(*d->msgs));
	d->iov = calloc(DGRAM_MAXPL, sizeof(*d->iov));
	d->res = calloc(DGRAM_MAXPL, sizeof(*d->res));
	if (!d->msgs || !d->iov || !d->res) {
		dgram_release(d);
		return -ENOMEM;
	}
	rc = batch_init(&d->b, s->format, max_bytes,
			max_rows ? max_rows : DGRAM_MAX_ROWS, DGRAM_ARENA,
			DGRAM_MAXPL, dgram_emit, d);
	if (rc < 0)
		dgram_release(d);
	return rc;
}

void dgram_release(struct dgram *d)
{
	if (!d)
		return;
	batch_release(&d->b);
	free(d->msgs);
	free(d->iov);
	free(d->res);
	d->msgs = NULL;
	d->iov = NULL;
	d->res = NULL;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* Waits for POLLOUT within what is left of this poll's budget; 0 when
 * writable, -ETIMEDOUT otherwise. */
static int wait_writable(struct dgram *d)
{
	uint64_t budget = (uint64_t)d->wait_ms * 1000000ull;
	struct pollfd pfd = { .fd = d->fd, .events = POLLOUT };
	uint64_t t0;
	int n;

	if (d->waited_ns >= budget)
		return -ETIMEDOUT;
	t0 = dgram_now_ns();
	n = poll(&pfd, 1, (int)((budget - d->waited_ns + 999999) / 1000000));
	d->waited_ns += dgram_now_ns() - t0;
	return n > 0 ? 0 : -ETIMEDOUT;
}

static int peer_lost(int err)
{
	return err == ECONNREFUSED || err == ENOTCONN || err == ENOENT ||
	       err == EPIPE || err == ECONNRESET || err == EDESTADDRREQ;
}

/* Counts payloads [from, to) as dropped. */
static void drop(struct dgram *d, const struct batch_payload *p, unsigned from,
		 unsigned to)
{
	for (unsigned i = from; i < to; i++)
		d->s->st.dropped += p[i].rows;
}

/* The peer went away (unixgram): reconnect later. */
static void lose_peer(struct dgram *d)
{
	d->lost_peer++;
	close(d->fd);
	d->fd = -1;
}

/* Through the ring: every datagram gets its own result; the refused ones
 * (-EAGAIN) are sent again, in their order, after POLLOUT. */
static void emit_ring(struct dgram *d, const struct batch_payload *p,
		      unsigned n)
{
	unsigned idx[DGRAM_MAXPL], m = n;

	for (unsigned i = 0; i < n; i++)
		idx[i] = i;
	while (m > 0) {
		unsigned again = 0;
		int lost = 0;
		for (unsigned j = 0; j < m; j++)
			d->iov[j] = (struct iovec){ (void *)p[idx[j]].data,
						    p[idx[j]].len };
		int rc = ring_send_batch(d->s->ring, d->fd, d->iov, m, 0,
					 d->res);
		for (unsigned j = 0; j < m; j++) {
			const struct batch_payload *q = &p[idx[j]];
			int res = rc < 0 ? rc : d->res[j];
			if (res >= 0) {
				d->s->st.records += q->rows;
				d->s->st.bytes += q->len;
			} else if (res == -EAGAIN || res == -ENOBUFS) {
				idx[again++] = idx[j];
			} else {
				d->last_err = -res;
				d->s->st.errors++;
				d->s->st.dropped += q->rows;
				lost |= peer_lost(-res) &&
					d->s->ops != &sink_udp_ops;
			}
		}
		m = again;
		if (lost)
			lose_peer(d);
		else if (m == 0 || wait_writable(d) == 0)
			continue;
		else
			d->last_err = EAGAIN;
		for (unsigned j = 0; j < m; j++) /* not sent: dropped */
			d->s->st.dropped += p[idx[j]].rows;
		return;
	}
}

void dgram_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct dgram *d = ctx;
	unsigned i = 0;

	if (d->fd < 0) {
		drop(d, p, 0, n);
		return;
	}
	if (d->s->ring) {
		emit_ring(d, p, n);
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		d->iov[k] = (struct iovec){ (void *)p[k].data, p[k].len };
		memset(&d->msgs[k], 0, sizeof(d->msgs[k]));
		d->msgs[k].msg_hdr.msg_iov = &d->iov[k];
		d->msgs[k].msg_hdr.msg_iovlen = 1;
	}
	while (i < n) {
		int k = sendmmsg(d->fd, d->msgs + i, n - i, MSG_DONTWAIT);
		k = k > 0 ? k : k < 0 ? -errno : -EIO;
		if (k > 0) {
			for (int j = 0; j < k; j++) {
				d->s->st.records += p[i + j].rows;
				d->s->st.bytes += p[i + j].len;
			}
			i += (unsigned)k;
			continue;
		}
		if (k == -EINTR)
			continue;
		if (k == -EAGAIN || k == -ENOBUFS) {
			if (wait_writable(d) == 0)
				continue;
			d->last_err = EAGAIN;
			break;
		}
		d->last_err = -k;
		d->s->st.errors++;
		if (peer_lost(d->last_err) && d->s->ops != &sink_udp_ops) {
			lose_peer(d);
			break;
		}
		/* this datagram only (e.g. a stale ICMP error on UDP) */
		d->s->st.dropped += p[i].rows;
		i++;
	}
	drop(d, p, i, n);
}

void dgram_poll_done(struct dgram *d)
{
	d->waited_ns = 0;
}
