/*
 * test_systemd_notify - systemd's notification protocol as
 * src/service/notify.c speaks it, and the event loop's watchdog timer,
 * with a unix datagram socket of the test's own as NOTIFY_SOCKET (no
 * systemd needed):
 *  - without NOTIFY_SOCKET every message is a no-op returning 0, and
 *    there is no watchdog;
 *  - READY=1, WATCHDOG=1 and STOPPING=1 reach a path socket and an
 *    abstract one (@name); a socket nobody listens on is an error the
 *    caller may ignore;
 *  - the watchdog's period is half of WATCHDOG_USEC (at least 1 ms), and
 *    none when WATCHDOG_PID names another process;
 *  - ts_loop_set_watchdog(): TS_EV_WATCHDOG once per period, before a
 *    queued request; 0 turns it off; a loop never armed holds no timer.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "daemon/loop.h"
#include "service/notify.h"
#include "util/timeutil.h"

/* A datagram socket bound at path ('@' first: abstract). */
static int listen_at(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    strlen(path));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	memcpy(a.sun_path, path, strlen(path));
	if (path[0] == '@')
		a.sun_path[0] = '\0';
	else
		len++; /* the NUL of a path */
	CHECK(bind(fd, (struct sockaddr *)&a, len) == 0);
	return fd;
}

/* The next message within 1 s ("" when none came). */
static void next_msg(int fd, char *buf, size_t n)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t len = 0;

	buf[0] = '\0';
	if (poll(&p, 1, 1000) == 1)
		len = recv(fd, buf, n - 1, MSG_DONTWAIT);
	buf[len > 0 ? len : 0] = '\0';
}

static void expect_messages(int fd)
{
	char buf[256];

	CHECK(ts_notify_ready() == 0);
	next_msg(fd, buf, sizeof(buf));
	CHECK(strcmp(buf, "READY=1") == 0);
	CHECK(ts_notify_watchdog() == 0);
	next_msg(fd, buf, sizeof(buf));
	CHECK(strcmp(buf, "WATCHDOG=1") == 0);
	CHECK(ts_notify_stopping() == 0);
	next_msg(fd, buf, sizeof(buf));
	CHECK(strcmp(buf, "STOPPING=1") == 0);
}

static void test_messages(void)
{
	char dir[] = "/tmp/ts-notify-XXXXXX", path[64], abs[64];
	int fd;

	unsetenv("NOTIFY_SOCKET");
	CHECK(ts_notify_ready() == 0);
	CHECK(ts_notify_watchdog() == 0);
	CHECK(ts_notify_stopping() == 0);

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listen_at(path);
	setenv("NOTIFY_SOCKET", path, 1);
	expect_messages(fd);
	close(fd);
	/* nobody there any more: an error, not a crash */
	CHECK(ts_notify_ready() < 0);
	unlink(path);
	CHECK(ts_notify_ready() < 0);
	rmdir(dir);

	snprintf(abs, sizeof(abs), "@ts-notify-%d", (int)getpid());
	fd = listen_at(abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	expect_messages(fd);
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_period(void)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	CHECK_EQ(ts_notify_watchdog_ms(), 0);
	setenv("WATCHDOG_USEC", "60000000", 1); /* WatchdogSec=60s */
	CHECK_EQ(ts_notify_watchdog_ms(), 30000);
	setenv("WATCHDOG_USEC", "400000", 1);
	CHECK_EQ(ts_notify_watchdog_ms(), 200);
	setenv("WATCHDOG_USEC", "1000", 1);
	CHECK_EQ(ts_notify_watchdog_ms(), 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "400000", 1);
	CHECK_EQ(ts_notify_watchdog_ms(), 200);
	/* meant for another process (one that exec'd us, say) */
	snprintf(pid, sizeof(pid), "%d", (int)getppid());
	setenv("WATCHDOG_PID", pid, 1);
	CHECK_EQ(ts_notify_watchdog_ms(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	unsetenv("WATCHDOG_PID");
	CHECK_EQ(ts_notify_watchdog_ms(), 0);
	unsetenv("WATCHDOG_USEC");
}

static uint64_t now_ms(void)
{
	return ts_now_ns(CLOCK_MONOTONIC) / 1000000;
}

static enum ts_event next(struct ts_loop *l)
{
	enum ts_event ev = (enum ts_event) - 1;

	CHECK(ts_loop_wait(l, &ev) == 0);
	ts_loop_polling(l, 0);
	return ev;
}

static void test_loop_watchdog(void)
{
	struct ts_loop l;
	struct ts_req poll_req = { TS_REQ_POLL, 0 };
	uint64_t t0, dt;

	CHECK(ts_loop_init(&l, 3600 * 1000) == 0);
	CHECK(l.wfd == 0); /* not armed: no timer */
	CHECK(ts_loop_set_watchdog(&l, 0) == 0);
	CHECK(l.wfd == 0);

	CHECK(ts_loop_set_watchdog(&l, 100) == 0);
	t0 = now_ms();
	for (int i = 0; i < 3; i++)
		CHECK(next(&l) == TS_EV_WATCHDOG);
	dt = now_ms() - t0;
	CHECK(dt >= 290 && dt < 1000); /* three periods */

	/* due while a request waits: the watchdog first */
	usleep(150 * 1000);
	CHECK(ts_loop_post(&l, &poll_req) == 0);
	CHECK(next(&l) == TS_EV_WATCHDOG);
	CHECK(next(&l) == TS_EV_POLL);

	/* off: the next event is the request posted 300 ms later */
	CHECK(ts_loop_set_watchdog(&l, 0) == 0);
	usleep(300 * 1000);
	CHECK(ts_loop_post(&l, &poll_req) == 0);
	CHECK(next(&l) == TS_EV_POLL);
	ts_loop_release(&l);
}

int main(void)
{
	test_messages();
	test_period();
	test_loop_watchdog();
	return check_exit();
}
