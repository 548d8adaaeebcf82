/* poller.c - what both poll engines share: the ops dispatch, dump
 * requests and their accounting, record stamping (see poller.h). */
#include "poller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/timeutil.h"

int poll_loop_init(struct poll_loop *l, const struct poll_config *cfg)
{
	memset(l, 0, sizeof(*l));
	l->epfd = -1;
	l->cfg = *cfg;
	if (l->cfg.timeout_ms <= 0)
		l->cfg.timeout_ms = 10000;
	if (l->cfg.max_inflight == 0)
		l->cfg.max_inflight = 64;
	l->ops = cfg->engine == POLL_ENGINE_URING ? &poll_uring_ops
						  : &poll_syscall_ops;
	return l->ops->init(l);
}

void poll_loop_release(struct poll_loop *l)
{
	if (l && l->ops) {
		l->ops->release(l);
		l->ops = NULL;
	}
}

int poll_loop_prepare(struct poll_loop *l, char *err, size_t errlen)
{
	return l->ops->prepare ? l->ops->prepare(l, err, errlen) : 0;
}

void poll_loop_set_hook(struct poll_loop *l, void (*fn)(void *arg), void *arg,
			unsigned every)
{
	l->hook = fn;
	l->hook_arg = arg;
	l->hook_every = every ? every : 1;
	l->hook_n = 0;
}

struct ring *poll_loop_ring(const struct poll_loop *l)
{
	return l ? l->ring : NULL;
}

int poll_target_attach(struct poll_loop *l, struct poll_target *t, int fd,
		       uint32_t portid)
{
	int rc;

	t->fd = fd;
	t->portid = portid;
	t->busy = 0;
	t->broken = 0;
	t->recv = NULL;
	t->sending = 0;
	t->cancels = 0;
	t->held = 0;
	t->rearm = 0;
	t->bid = -1;
	t->loop = l;
	rc = l->ops->attach ? l->ops->attach(l, t) : 0;
	if (rc < 0) {
		t->fd = -1;
		t->loop = NULL;
	}
	return rc;
}

void poll_target_detach(struct poll_target *t)
{
	if (!t || t->fd < 0)
		return;
	if (t->loop && t->loop->ops->detach)
		t->loop->ops->detach(t);
	close(t->fd);
	t->fd = -1;
	t->loop = NULL;
}

void poll_target_label(const struct poll_target *t, struct ts_record *rec)
{
	rec->netns = t->netns;
	rec->netns_inode = t->netns_inode;
	rec->nsid = t->nsid;
	if (t->has_nsid)
		rec->present |= 1u << TS_PRESENT_NSID;
	rec->container_id = t->container_id;
	rec->container_runtime = t->container_runtime;
}

static int stamp(struct ts_record *rec, void *arg)
{
	struct poll_target *t = arg;
	struct poll_loop *l = t->loop;

	rec->timestamp_ns = l->rx_ns;
	rec->poll_seq = l->poll_seq;
	poll_target_label(t, rec);
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

int poll_dump_next(struct poll_loop *l, struct poll_target *t)
{
	const unsigned both = POLL_FAM_INET | POLL_FAM_INET6;
	int fam;

	t->one_walk = l->cfg.one_walk && !t->two_walks && t->fam_left == both;
	if (t->one_walk) { /* the hash walked once for both families */
		t->fam_left = 0;
		nl_request_build_one_walk(&t->req, l->cfg.states, l->cfg.ext,
					  ++t->seq, l->cfg.filter,
					  l->cfg.filter_len);
	} else {
		fam = next_family(&t->fam_left);
		if (fam < 0)
			return 0;
		nl_request_build(&t->req, (uint8_t)fam, l->cfg.states,
				 l->cfg.ext, ++t->seq, l->cfg.filter,
				 l->cfg.filter_len);
	}
	nl_parser_init(&t->parser, t->seq, t->portid,
		       NL_PARSE_CHECK_SEQ | NL_PARSE_CHECK_PORT, stamp, t);
	t->busy = 1;
	l->st->dumps++;
	return 1;
}

enum poll_fail poll_fail_reason(int rc, int parser_error)
{
	if (rc == -ETIMEDOUT)
		return POLL_FAIL_TIMEOUT;
	if (rc == -ENOBUFS)
		return POLL_FAIL_OVERRUN;
	if (rc == -EBADMSG || rc == -EPROTO || rc == -EMSGSIZE)
		return POLL_FAIL_MALFORMED;
	/* the parser fails only on what it read: an NLMSG_ERROR's errno */
	return parser_error && rc == parser_error ? POLL_FAIL_KERNEL
						  : POLL_FAIL_IO;
}

const char *poll_fail_name(enum poll_fail why)
{
	static const char *const names[POLL_FAIL_COUNT] = {
		"timeout", "overrun", "malformed", "kernel", "io"
	};

	return (unsigned)why < POLL_FAIL_COUNT ? names[why] : "?";
}

void poll_dump_end(struct poll_loop *l, struct poll_target *t, int rc)
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
	/* a kernel that refuses the legacy request here gets two v2 dumps
	 * from the next poll on */
	if (t->one_walk &&
	    (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -ENOENT))
		t->two_walks = 1;
	t->dumps_failed++;
	t->last_error = rc;
	st->dumps_failed++;
	st->dump_fail[poll_fail_reason(rc, p->error)]++;
	st->error = rc;
	snprintf(st->errmsg, sizeof(st->errmsg), "netns %s: %s%s%s",
		 t->netns ? t->netns : "?", strerror(-rc),
		 p->errmsg[0] ? ": " : "", p->errmsg);
}

int poll_feed(struct poll_loop *l, struct poll_target *t, const void *data,
	      size_t len)
{
	int rc;

	l->rx_ns = ts_now_ns(CLOCK_REALTIME);
	l->st->datagrams++;
	l->st->bytes += len;
	rc = nl_parser_feed(&t->parser, data, len);
	if (l->hook && ++l->hook_n >= l->hook_every) {
		l->hook_n = 0;
		l->hook(l->hook_arg);
	}
	return rc;
}

int poll_dump_finish(struct poll_loop *l, struct poll_target *t, int rc)
{
	poll_dump_end(l, t, rc);
	rc = t->broken ? 0 : l->ops->start(l, t);
	if (rc > 0)
		return 0;
	if (rc < 0)
		poll_dump_end(l, t, rc);
	l->inflight--;
	return 1;
}

void poll_fill(struct poll_loop *l, struct poll_target *const *targets,
	       size_t n, size_t *next)
{
	while (l->inflight < l->cfg.max_inflight && *next < n &&
	       (!l->ops->room || l->ops->room(l))) {
		struct poll_target *t = targets[(*next)++];
		int rc = t->broken ? 0 : l->ops->start(l, t);
		if (rc > 0)
			l->inflight++;
		else if (rc < 0)
			poll_dump_end(l, t, rc);
	}
}

int poll_loop_run(struct poll_loop *l, struct poll_target *const *targets,
		  size_t n, uint64_t poll_seq, nl_record_fn fn, void *arg,
		  struct poll_stats *st)
{
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);

	memset(st, 0, sizeof(*st));
	st->targets = (uint32_t)n;
	l->poll_seq = poll_seq;
	l->fn = fn;
	l->arg = arg;
	l->st = st;
	for (size_t i = 0; i < n; i++)
		targets[i]->fam_left = l->cfg.families;
	l->inflight = 0;
	l->ops->run(l, targets, n);
	st->duration_ns = ts_now_ns(CLOCK_MONOTONIC) - t0;
	return st->error;
}
