/*
 * test_ring_recv.c - netlink dumps received through the ring, on the live
 * kernel: one record (a listener, --states listen) and many records (1500
 * loopback pairs, dozens of datagrams) come out the same as from the
 * syscall engine, with multishot receives, with the single-shot fallback,
 * and with one buffer and one completion per batch (buffers run out and
 * receives are armed again). Signals arriving during the waits (SIGHUP,
 * SIGTERM in the daemon) do not fail the dumps. A target that never
 * answers fails its dump at the timeout, and its cancelled receive gives
 * its buffer back (100 such polls on a 4-buffer ring still work).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/time.h>

#include "engine/poller.h"
#include "netlink/nl_sock.h"
#include "uring_test.h"

#define PAIRS 1500

static uint16_t port;

struct count {
	unsigned ours;
	unsigned listen;
};

static int on_rec(struct ts_record *rec, void *arg)
{
	struct count *c = arg;

	if (rec->sport == port || rec->dport == port) {
		c->ours++;
		c->listen += rec->state == 10;
	}
	return 0;
}

static int make_pairs(int n)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 4096) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		return -1;
	port = ntohs(a.sin_port);
	for (int i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
			return -1;
		if (accept(l, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

/* One poll of the host namespace; fills *c and *st. */
static void poll_once(const struct poll_config *cfg, struct count *c,
		      struct poll_stats *st)
{
	struct poll_loop *l = calloc(1, sizeof(*l));
	struct poll_target t = { .fd = -1, .netns = "host" };
	struct poll_target *tp = &t;
	char err[256];
	uint32_t portid;
	int fd;

	CHECK_EQ(poll_loop_init(l, cfg), 0);
	CHECK_EQ(poll_loop_prepare(l, err, sizeof(err)), 0);
	CHECK_EQ(nl_sock_open(&fd, &portid), 0);
	CHECK_EQ(poll_target_attach(l, &t, fd, portid), 0);
	memset(c, 0, sizeof(*c));
	CHECK_EQ(poll_loop_run(l, &tp, 1, 1, on_rec, c, st), 0);
	if (cfg->engine == POLL_ENGINE_URING) {
		CHECK(l->ring != NULL);
		CHECK_EQ(l->ring->nbusy, 0); /* nothing in flight after */
		CHECK_EQ(l->ring->st.bad_cqes, 0);
	}
	poll_target_detach(&t);
	poll_loop_release(l);
	free(l);
}

/* A "namespace" whose socket takes the request and never answers. */
static void dead_target(unsigned features)
{
	struct poll_config cfg = {
		.engine = POLL_ENGINE_URING,
		.families = POLL_FAM_INET,
		.states = TS_TCP_STATES_ALL,
		.ext = NL_EXT_DEFAULT,
		.timeout_ms = 5,
		.ring = { .features = features, .recv_batch = 4 },
	};
	struct poll_loop *l = calloc(1, sizeof(*l));
	struct poll_target t = { .fd = -1, .netns = "dead" };
	struct poll_target *tp = &t;
	struct poll_stats st;
	struct count c;
	char err[256];
	int sv[2];

	CHECK_EQ(poll_loop_init(l, &cfg), 0);
	CHECK_EQ(poll_loop_prepare(l, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++) {
		ut_pair(SOCK_DGRAM, sv);
		CHECK_EQ(poll_target_attach(l, &t, sv[0], 0), 0);
		CHECK_EQ(poll_loop_run(l, &tp, 1, 1, on_rec, &c, &st),
			 -ETIMEDOUT);
		CHECK_EQ(st.dumps_failed, 1);
		CHECK_EQ(l->ring->nbusy, 0);
		poll_target_detach(&t);
		close(sv[1]);
	}
	if (!(l->ring->features & RING_F_MULTISHOT))
		CHECK_EQ(l->ring->pool_n, 4); /* every buffer came back */
	poll_loop_release(l);
	free(l);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A timer signal every 100 us, without SA_RESTART, during uring polls. */
static void signals(const struct poll_config *base, const struct count *ref)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 100 }, { 0, 100 } }, off = { 0 };
	struct poll_config cfg = *base;
	struct count got;
	struct poll_stats st;

	cfg.engine = POLL_ENGINE_URING;
	cfg.ring.features = RING_F_MULTISHOT;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 5; i++) {
		poll_once(&cfg, &got, &st);
		CHECK_EQ(got.ours, ref->ours);
		CHECK_EQ(st.dumps_failed, 0);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	printf("signals: %d during 5 polls\n", (int)alarms);
	CHECK(alarms > 0);
}

int main(void)
{
	struct poll_config base = {
		.families = POLL_FAM_INET | POLL_FAM_INET6,
		.states = TS_TCP_STATES_ALL,
		.ext = NL_EXT_DEFAULT,
	};
	const struct {
		const char *name;
		enum poll_engine engine;
		unsigned features, recv_batch, cqe_batch;
	} v[] = {
		{ "uring multishot", POLL_ENGINE_URING, RING_F_MULTISHOT, 0,
		  0 },
		{ "uring single-shot", POLL_ENGINE_URING, 0, 0, 0 },
		{ "uring 1 buffer, 1 cqe", POLL_ENGINE_URING, RING_F_MULTISHOT,
		  1, 1 },
		{ "uring single-shot, 1 buffer", POLL_ENGINE_URING, 0, 1, 1 },
	};
	struct count ref, got;
	struct poll_stats st;

	ut_need_uring();
	CHECK_EQ(make_pairs(PAIRS), 0);
	poll_once(&base, &ref, &st);
	CHECK_EQ(ref.ours, 2 * PAIRS + 1);
	CHECK(st.datagrams > 20);
	for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct poll_config cfg = base;
		cfg.engine = v[i].engine;
		cfg.ring.features = v[i].features;
		cfg.ring.recv_batch = v[i].recv_batch;
		cfg.ring.cqe_batch = v[i].cqe_batch;
		poll_once(&cfg, &got, &st);
		printf("%s: %u of our sockets, %llu datagrams\n", v[i].name,
		       got.ours, (unsigned long long)st.datagrams);
		CHECK_EQ(got.ours, ref.ours);
		CHECK_EQ(st.dumps, 2);
		CHECK_EQ(st.dumps_failed, 0);
		/* one record: the listener alone */
		cfg.states = 1u << 10;
		poll_once(&cfg, &got, &st);
		CHECK_EQ(got.ours, 1);
		CHECK_EQ(got.listen, 1);
	}
	signals(&base, &ref);
	dead_target(RING_F_MULTISHOT);
	dead_target(0);
	return check_failures ? 1 : 0;
}
