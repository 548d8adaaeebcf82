/* poller.c - syscall-engine poll over many namespaces (see poller.h). */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../netlink/nl_request.h"
#include "../util/timeutil.h"

/* Datagrams taken from one socket per wake-up before serving others: keeps
 * one big namespace from starving the rest without costing extra wakeups. */
#define RECV_BURST 16

int poll_loop_init(struct poll_loop *l, const struct poll_config *cfg)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->cfg = *cfg;
	if (l->cfg.timeout_ms <= 0)
		l->cfg.timeout_ms = 10000;
	if (l->cfg.max_inflight == 0)
		l->cfg.max_inflight = 64;
	return 0;
}

void poll_loop_release(struct poll_loop *l)
{
	if (l && l->epfd >= 0) {
		close(l->epfd);
		l->epfd = -1;
	}
}

int poll_target_attach(struct poll_loop *l, struct poll_target *t, int fd,
		       uint32_t portid)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	t->fd = fd;
	t->portid = portid;
	t->busy = 0;
	t->broken = 0;
	t->loop = l;
	return 0;
}

void poll_target_detach(struct poll_target *t)
{
	if (!t || t->fd < 0)
		return;
	if (t->loop)
		(void)epoll_ctl(t->loop->epfd, EPOLL_CTL_DEL, t->fd, NULL);
	close(t->fd);
	t->fd = -1;
	t->loop = NULL;
}

static int stamp(struct ts_record *rec, void *arg)
{
	struct poll_target *t = arg;
	struct poll_loop *l = t->loop;

	rec->timestamp_ns = l->rx_ns;
	rec->poll_seq = l->poll_seq;
	rec->netns = t->netns;
	rec->netns_inode = t->netns_inode;
	rec->nsid = t->nsid;
	if (t->has_nsid)
		rec->present |= 1u << TS_PRESENT_NSID;
	rec->container_id = t->container_id;
	rec->container_runtime = t->container_runtime;
	return l->fn(rec, l->arg);
}

static int next_family(unsigned *left)
{
	if (*left & POLL_FAM_INET) {
		*left &= ~(unsigned)POLL_FAM_INET;
		return AF_INET;
	}
	if (*left & POLL_FAM_INET6) {
		*left &= ~(unsigned)POLL_FAM_INET6;
		return AF_INET6;
	}
	return -1;
}

/* Sends the target's next dump request; 1 if one was sent, 0 if the
 * target has no family left, -errno on failure. */
static int start_dump(struct poll_loop *l, struct poll_target *t)
{
	struct nl_diag_request req;
	int fam = next_family(&t->fam_left);
	int rc;

	if (fam < 0)
		return 0;
	nl_request_build(&req, (uint8_t)fam, l->cfg.states, l->cfg.ext,
			 ++t->seq);
	nl_parser_init(&t->parser, t->seq, t->portid,
		       NL_PARSE_CHECK_SEQ | NL_PARSE_CHECK_PORT, stamp, t);
	rc = nl_sock_send(t->fd, &req, sizeof(req));
	if (rc < 0)
		return rc;
	t->busy = 1;
	l->st->dumps++;
	return 1;
}

/* Accounts a dump that ended (done or failed). */
static void end_dump(struct poll_loop *l, struct poll_target *t, int rc)
{
	struct poll_stats *st = l->st;
	const struct nl_parser *p = &t->parser;

	t->busy = 0;
	st->records += p->records;
	st->unknown_attrs += p->unknown_attrs;
	if (p->dump_intr)
		st->dump_intr++;
	if (rc >= 0)
		return;
	/* the kernel may still be mid-dump on this socket: a new request
	 * would get EBUSY, so the socket is reopened before the next poll */
	t->broken = 1;
	t->fam_left = 0;
	t->dumps_failed++;
	t->last_error = rc;
	st->dumps_failed++;
	st->error = rc;
	snprintf(st->errmsg, sizeof(st->errmsg), "netns %s: %s%s%s",
		 t->netns ? t->netns : "?", strerror(-rc),
		 p->errmsg[0] ? ": " : "", p->errmsg);
}

/* Reads what is queued on t; returns 1 when t's dump ended. */
static int service(struct poll_loop *l, struct poll_target *t)
{
	for (int i = 0; i < RECV_BURST; i++) {
		size_t len;
		int rc = nl_sock_recv(t->fd, l->buf, sizeof(l->buf), &len);
		if (rc == -EAGAIN)
			return 0;
		if (rc == 0) {
			l->rx_ns = ts_now_ns(CLOCK_REALTIME);
			l->st->datagrams++;
			l->st->bytes += len;
			rc = nl_parser_feed(&t->parser, l->buf, len);
			if (rc == 0)
				continue;
		}
		end_dump(l, t, rc < 0 ? rc : 0);
		return 1;
	}
	return 0;
}

/* Starts dumps until max_inflight are running or no target is left. */
static unsigned fill(struct poll_loop *l, struct poll_target *const *targets,
		     size_t n, size_t *next, unsigned inflight)
{
	while (inflight < l->cfg.max_inflight && *next < n) {
		struct poll_target *t = targets[*next];
		int rc = t->broken ? 0 : start_dump(l, t);
		if (rc > 0)
			inflight++;
		else if (rc < 0)
			end_dump(l, t, rc);
		(*next)++;
	}
	return inflight;
}

static void fail_inflight(struct poll_loop *l,
			  struct poll_target *const *targets, size_t n, int err)
{
	for (size_t i = 0; i < n; i++)
		if (targets[i]->busy)
			end_dump(l, targets[i], err);
}

int poll_loop_run(struct poll_loop *l, struct poll_target *const *targets,
		  size_t n, uint64_t poll_seq, nl_record_fn fn, void *arg,
		  struct poll_stats *st)
{
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);
	struct epoll_event ev[64];
	size_t next = 0;
	unsigned inflight;

	memset(st, 0, sizeof(*st));
	st->targets = (uint32_t)n;
	l->poll_seq = poll_seq;
	l->fn = fn;
	l->arg = arg;
	l->st = st;
	for (size_t i = 0; i < n; i++)
		targets[i]->fam_left = l->cfg.families;
	inflight = fill(l, targets, n, &next, 0);
	while (inflight > 0) {
		int k = epoll_wait(l->epfd, ev, 64, l->cfg.timeout_ms);
		if (k < 0 && errno == EINTR)
			continue; /* a signal ends the loop after this poll */
		if (k <= 0) {
			fail_inflight(l, targets, n,
				      k < 0 ? -errno : -ETIMEDOUT);
			break;
		}
		for (int i = 0; i < k; i++) {
			struct poll_target *t = ev[i].data.ptr;
			if (!t->busy || !service(l, t))
				continue;
			/* same target, next family: its socket is idle now */
			int rc = t->broken ? 0 : start_dump(l, t);
			if (rc < 0)
				end_dump(l, t, rc);
			if (rc <= 0)
				inflight--;
		}
		inflight = fill(l, targets, n, &next, inflight);
	}
	st->duration_ns = ts_now_ns(CLOCK_MONOTONIC) - t0;
	return st->error;
}
