/*
 * test_ring_walk.c - the io_uring engine with one walk (one legacy dump
 * per target for both families) over more targets than its in-flight
 * table holds: 600 sock_diag sockets, each a target of its own, polled
 * three times with the default ring (512 requests) and with an 8-entry
 * one (16 requests: room for 4 targets at a time, where max_inflight
 * would allow 64), multishot and single-shot. Every dump must complete
 * (none refused with EBUSY: a target starts only when the table has room
 * for all it may hold, and later ones wait for earlier ones to let go),
 * each reporting the test's listeners, and nothing may stay in the table
 * after a poll. Runs in a network namespace of its own where it may (else
 * in this one, listeners only). Needs no privilege.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "engine/poller.h"
#include "netlink/nl_request.h"

#define TARGETS	   600
#define POLLS	   3
#define LISTEN_BIT (1u << 10) /* TCP_LISTEN */

static struct poll_target tg[TARGETS];
static struct poll_target *targets[TARGETS];
static int own_netns, listeners;

static int on_record(struct ts_record *rec, void *arg)
{
	(void)rec;
	(*(uint64_t *)arg)++;
	return 0;
}

/* Listeners on the wildcard addresses (a new namespace's lo is down):
 * the only listeners of a namespace of our own. */
static void listen_on(int family)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return; /* no IPv6 here */
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				 sizeof(one));
	if ((family == AF_INET6
		     ? bind(fd, (struct sockaddr *)&a6, sizeof(a6))
		     : bind(fd, (struct sockaddr *)&a4, sizeof(a4))) < 0 ||
	    listen(fd, 1) < 0) {
		close(fd);
		return;
	}
	listeners++; /* kept open until exit */
}

static void need_one_walk(void)
{
	static struct nl_diag_request r;
	int rc;

	nl_request_build_one_walk(&r, LISTEN_BIT, 0, 1, NULL, 0);
	rc = nl_sock_try_dump(&r, r.nlh.nlmsg_len, 2000);
	if (rc < 0)
		TEST_SKIP("the kernel refuses the one-walk dump: %s",
			  strerror(-rc));
}

static void run(const char *what, unsigned sq, unsigned features)
{
	struct poll_config cfg = {
		.engine = POLL_ENGINE_URING,
		.ring = { .sq_entries = sq, .features = features },
		.families = POLL_FAM_INET | POLL_FAM_INET6,
		.states = LISTEN_BIT,
		.one_walk = 1,
	};
	static struct poll_loop l;
	char err[256];

	CHECK(poll_loop_init(&l, &cfg) == 0);
	if (poll_loop_prepare(&l, err, sizeof(err)) < 0)
		TEST_SKIP("io_uring unavailable: %s", err);
	if (features && !(l.ring->features & RING_F_MULTISHOT)) {
		printf("NOTE: %s: no multishot recvmsg here: left out\n", what);
		poll_loop_release(&l);
		return;
	}
	for (int i = 0; i < TARGETS; i++) {
		uint32_t portid;
		int fd;
		memset(&tg[i], 0, sizeof(tg[i]));
		tg[i].netns = "test";
		CHECK(nl_sock_open(&fd, &portid) == 0);
		CHECK(poll_target_attach(&l, &tg[i], fd, portid) == 0);
		targets[i] = &tg[i];
	}
	for (uint64_t p = 1; p <= POLLS; p++) {
		struct poll_stats st;
		uint64_t recs = 0;
		int rc = poll_loop_run(&l, targets, TARGETS, p, on_record,
				       &recs, &st);
		printf("%s poll %llu: rc %d, %u dumps (%u failed: %s), %llu "
		       "records, %llu datagrams, %u requests in use, %llu "
		       "refused (full) so far\n",
		       what, (unsigned long long)p, rc, st.dumps,
		       st.dumps_failed, st.errmsg, (unsigned long long)recs,
		       (unsigned long long)st.datagrams, l.ring->nbusy,
		       (unsigned long long)l.ring->st.busy);
		CHECK_EQ(rc, 0);
		CHECK_EQ(st.dumps, TARGETS);
		CHECK_EQ(st.dumps_failed, 0);
		CHECK_EQ(l.ring->st.busy, 0);
		CHECK_EQ(l.ring->nbusy, 0);
		if (own_netns)
			CHECK_EQ(recs, (uint64_t)TARGETS * listeners);
		else
			CHECK(recs >= (uint64_t)TARGETS * listeners);
	}
	for (int i = 0; i < TARGETS; i++) {
		CHECK(!tg[i].broken && !tg[i].two_walks);
		poll_target_detach(&tg[i]);
	}
	poll_loop_release(&l);
}

int main(void)
{
	own_netns = unshare(CLONE_NEWNET) == 0;
	if (!own_netns)
		printf("NOTE: no namespace of our own (%s): this one, "
		       "listeners only\n",
		       strerror(errno));
	need_one_walk();
	listen_on(AF_INET);
	listen_on(AF_INET6);
	CHECK(listeners > 0);
	run("default ring, multishot", 0, RING_F_MULTISHOT);
	run("8-entry ring, multishot", 8, RING_F_MULTISHOT);
	run("default ring, single-shot", 0, 0);
	run("8-entry ring, single-shot", 8, 0);
	return check_exit();
}
