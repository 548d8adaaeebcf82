/* close_set.c - close events from the kernel's destroy multicast (see
 * close_set.h). */
#include "close_set.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../netlink/nl_filter.h"
#include "../netlink/nl_sock.h"
#include "../util/timeutil.h"
#include "poller.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define CLOSE_EVENTS 64 /* ready sources taken per drain */

uint32_t close_groups(unsigned families)
{
	uint32_t g = 0;

	if (families & POLL_FAM_INET)
		g |= 1u << (SKNLGRP_INET_TCP_DESTROY - 1);
	if (families & POLL_FAM_INET6)
		g |= 1u << (SKNLGRP_INET6_TCP_DESTROY - 1);
	return g;
}

uint64_t close_pause_ns(unsigned granted, uint64_t read, uint64_t dt_ns,
			uint64_t max_ns)
{
	uint64_t room = granted / CLOSE_TRUESIZE / 4, p;

	if (read == 0 || dt_ns == 0)
		return max_ns;
	if (dt_ns > 1000000000ull) /* a rate over a second at most: no wrap */
		dt_ns = 1000000000ull;
	p = room * dt_ns / read; /* room / (read / dt) */
	return p < 1000000 ? 0 : p < max_ns ? p : max_ns;
}

int close_set_init(struct close_set *s, const struct close_cfg *cfg)
{
	int rc = 0;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		rc = -errno;
	s->batch = calloc(CLOSE_BATCH, sizeof(*s->batch));
	s->bufs = calloc(CLOSE_BATCH, sizeof(*s->bufs));
	if (rc == 0 && (!s->batch || !s->bufs))
		rc = -ENOMEM;
	if (rc < 0)
		close_set_release(s);
	return rc;
}

void close_set_release(struct close_set *s)
{
	if (!s)
		return;
	/* a zeroed set's epfd is 0: not ours */
	if (s->epfd > 0)
		close(s->epfd);
	s->epfd = -1;
	free(s->batch);
	free(s->bufs);
	s->batch = NULL;
	s->bufs = NULL;
}

int close_set_fd(const struct close_set *s)
{
	return s->epfd;
}

/* The kernel's count of the messages it dropped for this socket
 * (SK_MEMINFO_DROPS): 0 and *out, or -errno. */
static int read_drops(int fd, uint64_t *out)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
		return -errno;
	if (len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return -EOPNOTSUPP;
	*out = mem[SK_MEMINFO_DROPS];
	return 0;
}

int close_src_attach(struct close_set *s, struct close_src *c, int fd,
		     const struct poll_target *labels)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	socklen_t len = sizeof(int);
	uint64_t drops = 0;
	int got = 0;

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && got > 0 &&
	    (!s->granted || (unsigned)got < s->granted))
		s->granted = (unsigned)got;
	(void)read_drops(fd, &drops);
	c->fd = fd;
	c->labels = labels;
	c->set = s;
	c->drops = drops;
	c->overrun = 0;
	return 0;
}

static void hand_off(struct close_set *s)
{
	if (s->n)
		s->cfg.fn(s->batch, s->n, s->cfg.arg);
	s->n = 0;
}

/* The kernel cannot filter a multicast: its bytecode, run here. */
static int wanted(const struct close_set *s, const struct ts_record *r)
{
	struct nl_filter_sock fs = {
		.family = r->family,
		.sport = r->sport,
		.dport = r->dport,
	};

	if (!s->cfg.filter)
		return 1;
	memcpy(fs.src, r->src, sizeof(fs.src));
	memcpy(fs.dst, r->dst, sizeof(fs.dst));
	return nl_filter_run(s->cfg.filter, s->cfg.filter_len, &fs);
}

static int on_record(struct ts_record *rec, void *arg)
{
	struct close_set *s = arg;

	s->st.received++;
	if (!wanted(s, rec)) {
		s->st.filtered++;
		return 0;
	}
	rec->timestamp_ns = s->rx_ns;
	rec->poll_seq = s->poll_seq;
	poll_target_label(s->cur->labels, rec);
	s->batch[s->n++] = *rec;
	if (s->n == CLOSE_BATCH)
		hand_off(s);
	return 0;
}

static void feed(struct close_set *s, const struct mmsghdr *m, size_t i)
{
	const struct msghdr *h = &m->msg_hdr;

	if (nl_sock_check(h->msg_flags, h->msg_name, h->msg_namelen) < 0) {
		s->st.errors++; /* cut short, or not from the kernel */
		return;
	}
	/* one message per datagram, seq and port 0: nothing to check */
	nl_parser_init(&s->parser, 0, 0, 0, on_record, s);
	if (nl_parser_feed(&s->parser, s->bufs[i], m->msg_len) < 0)
		s->st.errors++;
}

/* After an overrun, once the queue was read to the end: what the kernel
 * dropped meanwhile is in the socket's own count. */
static void settle(struct close_set *s, struct close_src *c)
{
	uint64_t drops;

	if (!c->overrun)
		return;
	c->overrun = 0;
	if (read_drops(c->fd, &drops) < 0) {
		s->st.lost++; /* at least the one ENOBUFS reported */
		return;
	}
	s->st.lost += drops - c->drops;
	c->drops = drops;
}

/* Up to `max` datagrams of c; *used says how many. 1 when c may hold
 * more, 0 when it was read to the end. */
static int drain_src(struct close_set *s, struct close_src *c, unsigned max,
		     unsigned *used)
{
	struct mmsghdr m[CLOSE_BATCH];
	struct iovec iov[CLOSE_BATCH];
	struct sockaddr_nl from[CLOSE_BATCH];
	unsigned got = 0;

	s->cur = c;
	while (got < max) {
		unsigned want =
			max - got < CLOSE_BATCH ? max - got : CLOSE_BATCH;
		for (unsigned i = 0; i < want; i++) {
			iov[i] = (struct iovec){ s->bufs[i], CLOSE_DGRAM };
			m[i] = (struct mmsghdr){ .msg_hdr = {
							 .msg_name = &from[i],
							 .msg_namelen = sizeof(
								 from[i]),
							 .msg_iov = &iov[i],
							 .msg_iovlen = 1,
						 } };
		}
		int r = recvmmsg(c->fd, m, want, MSG_DONTWAIT, NULL);
		if (r < 0 && errno == ENOBUFS) { /* reported once: go on */
			c->overrun = 1;
			s->st.overruns++;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				s->st.errors++;
			break;
		}
		s->rx_ns = ts_now_ns(CLOCK_REALTIME);
		for (int i = 0; i < r; i++)
			feed(s, &m[i], (size_t)i);
		got += (unsigned)r;
		s->st.datagrams += (unsigned)r;
	}
	*used = got;
	if (got < max)
		settle(s, c);
	return got >= max;
}

void close_src_detach(struct close_src *c)
{
	unsigned used;

	if (!c || c->fd < 0)
		return;
	c->set->n = 0;
	(void)drain_src(c->set, c, CLOSE_BUDGET, &used);
	hand_off(c->set);
	(void)epoll_ctl(c->set->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->set = NULL;
}

int close_set_drain(struct close_set *s, unsigned budget, uint64_t poll_seq)
{
	struct epoll_event ev[CLOSE_EVENTS];
	int n, more = 0;

	s->poll_seq = poll_seq;
	s->n = 0;
	n = epoll_wait(s->epfd, ev, CLOSE_EVENTS, 0);
	for (int i = 0; i < n; i++) {
		/* an even share of what is left: one busy namespace does
		 * not starve the others */
		unsigned share = budget / (unsigned)(n - i), used;
		more |= drain_src(s, ev[i].data.ptr, share ? share : 1, &used);
		budget -= used < budget ? used : budget;
	}
	hand_off(s);
	return more || n == CLOSE_EVENTS;
}
