/*
 * uring_test.h - what the io_uring tests share: a ring or a skip (77) when
 * io_uring cannot be used here, and datagram socketpairs.
 */
#ifndef TS_URING_TEST_H
#define TS_URING_TEST_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "engine/ring.h"

/* Skips the test when io_uring is unavailable (disabled, seccomp...). */
static inline void ut_need_uring(void)
{
	char err[256];

	if (ring_probe(err, sizeof(err)) < 0)
		TEST_SKIP("io_uring unavailable: %s", err);
}

static inline void ut_ring(struct ring *r, unsigned sq, unsigned features)
{
	struct ring_cfg cfg = { .sq_entries = sq, .features = features };
	char err[256];
	int rc;

	ut_need_uring();
	rc = ring_init(r, &cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ring_init: %s\n", err);
		exit(1);
	}
}

static inline void ut_pair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
}

#endif
