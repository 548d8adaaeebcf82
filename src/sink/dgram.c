/* dgram.c - sendmmsg with a bounded wait (see dgram.h). */
#include "dgram.h"

#include "../engine/ring.h"
#include "../util/stop.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
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
	       uint32_t max_rows, int32_t wait_ms, unsigned flags)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->s = s;
	d->ready = 1;
	d->fd = -1;
	d->flags = flags;
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
	/* a zeroed struct has fd 0, which belongs to someone else */
	if (d->ready && d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->ready = 0;
}

/* Waits for POLLOUT within what is left of this poll's budget (and of
 * the exit deadline); 0 when writable, -ETIMEDOUT, or -ECANCELED when a
 * stop request cut the wait. */
static int wait_writable(struct dgram *d)
{
	return ts_wait_fd(d->fd, POLLOUT, (uint64_t)d->wait_ms * 1000000ull,
			  &d->waited_ns);
}

static int peer_lost(int err)
{
	return err == ECONNREFUSED || err == ENOTCONN || err == ENOENT ||
	       err == EPIPE || err == ECONNRESET || err == EDESTADDRREQ;
}

/* The peer went away (unixgram): reconnect later. */
static void lose_peer(struct dgram *d)
{
	d->lost_peer++;
	close(d->fd);
	d->fd = -1;
}

/* One attempt at payloads idx[0..m): d->res[j] gets the bytes sent, or
 * -errno, or NOT_TRIED when sendmmsg stopped before it. Through the ring
 * every datagram is tried and gets its own result; sendmmsg stops at the
 * first failure. */
#define NOT_TRIED (-EINPROGRESS)

static void send_round(struct dgram *d, const struct batch_payload *p,
		       const unsigned *idx, unsigned m)
{
	int k;

	for (unsigned j = 0; j < m; j++) {
		d->iov[j] =
			(struct iovec){ (void *)p[idx[j]].data, p[idx[j]].len };
		d->res[j] = NOT_TRIED;
	}
	if (d->s->ring) {
		k = ring_send_batch(d->s->ring, d->fd, d->iov, m, 0, d->res);
		for (unsigned j = 0; k < 0 && j < m; j++)
			d->res[j] = k;
		return;
	}
	for (unsigned j = 0; j < m; j++) {
		memset(&d->msgs[j], 0, sizeof(d->msgs[j]));
		d->msgs[j].msg_hdr.msg_iov = &d->iov[j];
		d->msgs[j].msg_hdr.msg_iovlen = 1;
	}
	k = sendmmsg(d->fd, d->msgs, m, MSG_DONTWAIT);
	if (k < 0)
		d->res[0] = -errno;
	for (int j = 0; j < k; j++)
		d->res[j] = (int)d->msgs[j].msg_len;
}

unsigned dgram_read_icmp(struct dgram *d, int *errs, unsigned cap)
{
	unsigned n = 0;

	for (unsigned i = 0; d->recverr && d->fd >= 0 && i < DGRAM_ERRQ_MAX;
	     i++) {
		union { /* aligned for CMSG_FIRSTHDR */
			char buf[CMSG_SPACE(sizeof(struct sock_extended_err) +
					    sizeof(struct sockaddr_in6))];
			struct cmsghdr align;
		} ctl;
		struct msghdr mh = { .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		struct cmsghdr *c;
		if (recvmsg(d->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			struct sock_extended_err ee;
			if (!(c->cmsg_level == SOL_IP &&
			      c->cmsg_type == IP_RECVERR) &&
			    !(c->cmsg_level == SOL_IPV6 &&
			      c->cmsg_type == IPV6_RECVERR))
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			/* local errors are the failed send's own result */
			if (ee.ee_origin != SO_EE_ORIGIN_ICMP &&
			    ee.ee_origin != SO_EE_ORIGIN_ICMP6)
				continue;
			d->s->st.errors++;
			d->icmp_errors++;
			d->last_err = (int)ee.ee_errno;
			if (n < cap)
				errs[n++] = (int)ee.ee_errno;
		}
	}
	return n;
}

/* 1 when a send of the round failed, or was not tried, for another
 * reason than a full socket. */
static int refused(const int *res, unsigned m)
{
	for (unsigned j = 0; j < m; j++)
		if (res[j] < 0 && res[j] != -EAGAIN && res[j] != -ENOBUFS &&
		    res[j] != -EINTR)
			return 1;
	return 0;
}

/* A send refused with the error of an ICMP report just read (the kernel
 * gives a connected socket's pending error to its next send): the report
 * is counted already and belongs to an earlier datagram; this one was not
 * sent. Takes the report so that each explains one refusal. */
static int take_icmp(int *errs, unsigned *n, int err)
{
	for (unsigned i = 0; i < *n; i++) {
		if (errs[i] == err) {
			errs[i] = errs[--*n];
			return 1;
		}
	}
	return 0;
}

void dgram_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct dgram *d = ctx;
	unsigned idx[DGRAM_MAXPL], m = n, echoes = 0;
	int icmp[DGRAM_ERRQ_MAX];

	for (unsigned i = 0; i < n; i++)
		idx[i] = i;
	while (d->fd >= 0 && m > 0) {
		unsigned again = 0, nicmp;
		int full = 0, lost = 0;
		send_round(d, p, idx, m);
		/* only a round that was refused or stopped short can owe
		 * that to an ICMP report (the flush reads the rest) */
		nicmp = refused(d->res, m)
				? dgram_read_icmp(d, icmp, DGRAM_ERRQ_MAX)
				: 0;
		for (unsigned j = 0; j < m; j++) {
			const struct batch_payload *q = &p[idx[j]];
			int res = d->res[j];
			if (res >= 0) {
				d->s->st.records += q->rows;
				d->s->st.bytes += q->len;
				continue;
			}
			if (res == NOT_TRIED || res == -EINTR ||
			    res == -EAGAIN || res == -ENOBUFS) {
				full |= res == -EAGAIN || res == -ENOBUFS;
				idx[again++] = idx[j];
				continue;
			}
			/* refused for an ICMP report just read (counted
			 * there): tried again, a bounded number of times
			 * (spoofed reports could refuse every send) */
			if (echoes < 2 * n && take_icmp(icmp, &nicmp, -res)) {
				echoes++;
				idx[again++] = idx[j];
				continue;
			}
			/* this datagram only (e.g. an ICMP error on UDP not
			 * read yet), unless the peer is gone (unixgram) */
			d->last_err = -res;
			d->s->st.errors++;
			sink_drop(d->s, sink_drop_reason(-res), q->rows);
			lost |= peer_lost(-res) &&
				(d->flags & DGRAM_F_LOCAL_PEER);
		}
		m = again;
		if (lost) {
			lose_peer(d);
		} else if (full) {
			int rc = wait_writable(d);
			if (rc < 0) {
				d->last_err = rc == -ETIMEDOUT ? EAGAIN : -rc;
				break;
			}
		}
	}
	for (unsigned j = 0; j < m; j++) /* not sent: dropped */
		sink_drop(d->s, sink_drop_reason(d->last_err), p[idx[j]].rows);
}

void dgram_poll_done(struct dgram *d)
{
	d->waited_ns = 0;
}
