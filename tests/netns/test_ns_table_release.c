/*
 * test_ns_table_release.c - ns_table_release() closes only what
 * ns_table_init() opened: a zeroed table (the daemon's, when it stops
 * before the table is set up, e.g. --io-engine uring refused) leaves fd 0
 * alone; a table whose rtnetlink socket really is fd 0 (started with stdin
 * closed) has it closed; a second release is harmless. Needs no privilege.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "netns/ns_table.h"

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A zeroed table, released (twice): fd 0 is still the one we put there. */
static void zeroed_table_keeps_fd0(void)
{
	static struct ns_table t; /* zeroed, as in main's static daemon */
	struct stat before, after;

	CHECK(fd_open(0));
	CHECK(fstat(0, &before) == 0);
	ns_table_release(&t);
	ns_table_release(&t);
	ns_table_release(NULL);
	CHECK(fd_open(0));
	CHECK(fstat(0, &after) == 0);
	CHECK(before.st_ino == after.st_ino && before.st_dev == after.st_dev);
}

static void init_release(struct ns_table *t)
{
	static const char *const dirs[] = { "/nonexistent-tcpscope-test" };
	struct ns_table_cfg cfg = {
		.dirs = dirs,
		.ndirs = 1,
		.proc = "/proc",
		.select = "host",
		.nworkers = 1,
	};
	int rc = ns_table_init(t, &cfg);
	if (rc < 0)
		TEST_SKIP("ns_table_init: %s", strerror(-rc));
}

/* Stdin closed: the rtnetlink socket lands on fd 0 and is released. */
static void rtnl_on_fd0_closed(void)
{
	struct ns_table t;
	int saved = dup(0);

	CHECK(saved > 0);
	close(0);
	init_release(&t);
	CHECK_EQ(t.rtnl_fd, 0);
	ns_table_release(&t);
	CHECK(!fd_open(0));
	ns_table_release(&t); /* released already: nothing left to close */
	CHECK(dup2(saved, 0) == 0);
	close(saved);
	CHECK(fd_open(0));
	/* an ordinary init/release pair leaves fd 0 alone too */
	init_release(&t);
	CHECK(t.rtnl_fd > 0);
	ns_table_release(&t);
	CHECK(fd_open(0));
}

int main(void)
{
	/* fd 0 must exist for the checks to mean anything */
	if (!fd_open(0) && open("/dev/null", O_RDONLY) != 0)
		TEST_SKIP("cannot open /dev/null as fd 0");
	zeroed_table_keeps_fd0();
	rtnl_on_fd0_closed();
	return check_exit();
}
