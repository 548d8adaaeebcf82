/* poll_syscall.c - the syscall engine: non-blocking sock_diag sockets in
 * one epoll set per poll thread (see poller.h). */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../util/timeutil.h"
#include "poller.h"

/* Datagrams taken from one socket per wake-up before serving others: keeps
 * one big namespace from starving the rest without costing extra wakeups. */
#define RECV_BURST 16

static int sc_init(struct poll_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

static void sc_release(struct poll_loop *l)
{
	if (l->epfd >= 0) {
		close(l->epfd);
		l->epfd = -1;
	}
}

static int sc_attach(struct poll_loop *l, struct poll_target *t)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = t };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, t->fd, &ev) < 0 ? -errno : 0;
}

static void sc_detach(struct poll_target *t)
{
	(void)epoll_ctl(t->loop->epfd, EPOLL_CTL_DEL, t->fd, NULL);
}

/* Sends the target's next dump request; 1 if one was sent, 0 if the
 * target has no family left, -errno on failure. */
static int start_dump(struct poll_loop *l, struct poll_target *t)
{
	int rc = poll_dump_next(l, t);

	if (rc <= 0)
		return rc;
	rc = nl_sock_send(t->fd, &t->req, t->req.nlh.nlmsg_len);
	return rc < 0 ? rc : 1;
}

/* Reads what is queued on t, up to RECV_BURST datagrams. */
static void service(struct poll_loop *l, struct poll_target *t)
{
	for (int i = 0; i < RECV_BURST; i++) {
		size_t len;
		int rc = nl_sock_recv(t->fd, l->buf, sizeof(l->buf), &len);
		if (rc == -EAGAIN)
			return;
		if (rc == 0)
			rc = poll_feed(l, t, l->buf, len);
		if (rc != 0) {
			/* the next family's request goes out on the same,
			 * now idle, socket */
			poll_dump_finish(l, t, rc < 0 ? rc : 0);
			return;
		}
	}
}

static void sc_run(struct poll_loop *l, struct poll_target *const *targets,
		   size_t n)
{
	struct epoll_event ev[64];
	size_t next = 0;

	poll_fill(l, targets, n, &next);
	while (l->inflight > 0) {
		int k = epoll_wait(l->epfd, ev, 64, l->cfg.timeout_ms);
		if (k < 0 && errno == EINTR)
			continue; /* a signal ends the loop after this poll */
		if (k <= 0) {
			int err = k < 0 ? -errno : -ETIMEDOUT;
			for (size_t i = 0; i < n; i++)
				if (targets[i]->busy)
					poll_dump_finish(l, targets[i], err);
			break;
		}
		for (int i = 0; i < k; i++) {
			struct poll_target *t = ev[i].data.ptr;
			if (t->busy)
				service(l, t);
		}
		poll_fill(l, targets, n, &next);
	}
}

const struct poll_engine_ops poll_syscall_ops = {
	.name = "syscall",
	.init = sc_init,
	.release = sc_release,
	.attach = sc_attach,
	.detach = sc_detach,
	.start = start_dump,
	.run = sc_run,
};
