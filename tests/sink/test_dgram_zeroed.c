/*
 * test_dgram_zeroed.c - dgram_release() keeps its promise: a zeroed struct
 * (what an owner has before dgram_init(), or after a failed open) is safe
 * to release and closes nothing, fd 0 included; a released struct can be
 * released again; and a destination whose socket really is fd 0 (stdin
 * closed at startup) still has that socket closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sink/dgram.h"

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

int main(void)
{
	struct sink s = { .format = SINK_FMT_JSON };
	struct dgram d;
	int p[2];

	/* fd 0 is someone else's: a pipe standing in for stdin */
	CHECK(pipe(p) == 0);
	CHECK(dup2(p[0], 0) == 0);
	memset(&d, 0, sizeof(d));
	dgram_release(&d);
	CHECK(fd_open(0));
	dgram_release(&d); /* twice */
	CHECK(fd_open(0));
	dgram_release(NULL);

	/* set up, with a socket: released once, the second release is a
	 * no-op and fd 0 survives both */
	CHECK_EQ(dgram_init(&d, &s, 1000, 0, -1, 0), 0);
	d.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(d.fd > 0);
	int sock = d.fd;
	dgram_release(&d);
	CHECK(!fd_open(sock));
	CHECK_EQ(d.fd, (uint64_t)-1);
	dgram_release(&d);
	CHECK(fd_open(0));

	/* the destination's own socket at fd 0 is closed */
	CHECK(close(0) == 0);
	CHECK_EQ(dgram_init(&d, &s, 1000, 0, -1, 0), 0);
	d.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(d.fd, 0);
	dgram_release(&d);
	CHECK(!fd_open(0));
	close(p[0]);
	close(p[1]);
	return check_exit();
}
