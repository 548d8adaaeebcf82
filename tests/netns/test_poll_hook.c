/*
 * test_poll_hook.c - poll_loop_set_hook(): during a poll of this
 * namespace (with 600 loopback sockets of the test's own, so the dump takes
 * several datagrams), the hook runs on the poll thread once every `every`
 * datagrams, from the middle of the poll on (records were delivered
 * before its first call and after it), with both engines (uring where the
 * kernel allows it). The daemon reads close events there, so that a long
 * poll does not overflow their buffers. Needs no privilege.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "engine/poller.h"
#include "netlink/nl_request.h"

#define PAIRS 300
#define EVERY 3

struct seen {
	uint64_t records;     /* delivered so far */
	uint64_t calls;	      /* hook calls */
	uint64_t first, last; /* records delivered at the first/last call */
};

static int on_record(struct ts_record *rec, void *arg)
{
	(void)rec;
	((struct seen *)arg)->records++;
	return 0;
}

static void on_hook(void *arg)
{
	struct seen *s = arg;

	if (s->calls++ == 0)
		s->first = s->records;
	s->last = s->records;
}

static int fds[2 * PAIRS + 1];

static void open_pairs(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, PAIRS) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		TEST_SKIP("loopback listener: %s", strerror(errno));
	fds[0] = l;
	for (int i = 0; i < PAIRS; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		CHECK(c >= 0 &&
		      connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
		fds[1 + 2 * i] = c;
		fds[2 + 2 * i] = accept(l, NULL, NULL);
		CHECK(fds[2 + 2 * i] >= 0);
	}
}

static void one_engine(enum poll_engine engine)
{
	struct poll_config cfg = {
		.engine = engine,
		.families = POLL_FAM_INET | POLL_FAM_INET6,
		.states = TS_TCP_STATES_ALL,
		.ext = NL_EXT_DEFAULT,
	};
	static struct poll_loop l;
	struct poll_target t;
	struct poll_target *targets[] = { &t };
	struct poll_stats st;
	struct seen s = { 0 };
	char err[160];
	uint32_t portid;
	int fd;

	memset(&t, 0, sizeof(t));
	t.fd = -1;
	t.netns = "host";
	CHECK(poll_loop_init(&l, &cfg) == 0);
	if (poll_loop_prepare(&l, err, sizeof(err)) < 0) {
		printf("NOTE: engine %d not usable here (%s): left out\n",
		       (int)engine, err);
		poll_loop_release(&l);
		return;
	}
	CHECK(nl_sock_open(&fd, &portid) == 0);
	CHECK(poll_target_attach(&l, &t, fd, portid) == 0);
	poll_loop_set_hook(&l, on_hook, &s, EVERY);
	CHECK(poll_loop_run(&l, targets, 1, 1, on_record, &s, &st) == 0);
	printf("engine %d: %llu records in %llu datagrams, %llu hook calls "
	       "(first after %llu records, last after %llu)\n",
	       (int)engine, (unsigned long long)s.records,
	       (unsigned long long)st.datagrams, (unsigned long long)s.calls,
	       (unsigned long long)s.first, (unsigned long long)s.last);
	CHECK(s.records >= 2 * PAIRS);
	CHECK(st.datagrams >= 2 * EVERY);
	CHECK_EQ(s.calls, st.datagrams / EVERY);
	CHECK(s.first > 0 && s.first < s.records);
	poll_target_detach(&t);
	poll_loop_release(&l);
}

int main(void)
{
	open_pairs();
	one_engine(POLL_ENGINE_SYSCALL);
	one_engine(POLL_ENGINE_URING);
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] > 0)
			close(fds[i]);
	return check_exit();
}
