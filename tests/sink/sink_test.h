/*
 * sink_test.h - helpers of the 'sink' suite: a private network namespace
 * with known sockets, receivers on real sockets, running tcpscope, decoding
 * payloads with protobuf-c (the reference decoder) and comparing decoded
 * records field by field with tcpscope's JSON of the same poll.
 * Header-only (static functions): each test is one executable.
 */
#ifndef TS_SINK_TEST_H
#define TS_SINK_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "engine/ring.h"
#include "record/fields.h"
#include "sink/sink.h"
#include "xtcp_flat_record.pb-c.h"

typedef XtcpFlatRecord__V1__XtcpFlatRecord st_msg;
#define ST_MSG_DESC xtcp_flat_record__v1__xtcp_flat_record__descriptor

static inline uint64_t st_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline const char *st_bin(void)
{
	const char *b = getenv("TCPSCOPE_BIN");
	const char *engine = getenv("TCPSCOPE_TEST_ENGINE");
	char err[256];
	if (!b || access(b, X_OK) != 0)
		TEST_SKIP("TCPSCOPE_BIN not set or not executable");
	/* the *_uring twins: io_uring must be usable here */
	if (engine && strcmp(engine, "uring") == 0 &&
	    ring_probe(err, sizeof(err)) < 0)
		TEST_SKIP("io_uring unavailable: %s", err);
	return b;
}

/* A private network namespace with lo up: tcpscope (run with --netns host)
 * then sees only this test's sockets, so every record is expected. */
static inline void st_sandbox(void)
{
	struct ifreq ifr;
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		TEST_SKIP("cannot unshare a network namespace (%s): needs "
			  "CAP_SYS_ADMIN",
			  strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		TEST_SKIP("no loopback interface");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		TEST_SKIP("cannot bring lo up: %s", strerror(errno));
	close(fd);
}

/* The loopback address of af, port 0 (the kernel picks); its length. */
static inline socklen_t st_loopback(int af, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_addr = in6addr_loopback;
	return sizeof(*a);
}

/* n established loopback pairs (IPv4, and IPv6 when available), kept open
 * for the life of the test. Returns the sockets made (incl. listeners). */
static inline int st_make_conns(int n)
{
	int made = 0;
	for (int fam = 0; fam < 2; fam++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		int af = fam ? AF_INET6 : AF_INET;
		int l = socket(af, SOCK_STREAM, 0);
		sl = st_loopback(af, &ss);
		if (l < 0 || bind(l, (struct sockaddr *)&ss, sl) < 0 ||
		    listen(l, 4096) < 0 ||
		    getsockname(l, (struct sockaddr *)&ss, &sl) < 0) {
			if (l >= 0)
				close(l);
			continue;
		}
		made++;
		for (int i = 0; i < (fam ? n / 2 : n - n / 2); i++) {
			int c = socket(af, SOCK_STREAM, 0);
			if (c < 0 || connect(c, (struct sockaddr *)&ss, sl) < 0)
				break;
			(void)!write(c, "x", 1);
			if (accept(l, NULL, NULL) >= 0)
				made += 2;
		}
	}
	return made;
}

/* A test's private directory: the peer's socket, the JSON reference file
 * (a second destination of the same run) and tcpscope's stderr. */
struct st_dir {
	char dir[64], sock[128], jpath[128], epath[128], jurl[160];
};

static inline void st_dir_make(struct st_dir *d, const char *name,
			       const char *sock)
{
	snprintf(d->dir, sizeof(d->dir), "/tmp/ts-%s-XXXXXX", name);
	CHECK(mkdtemp(d->dir) != NULL);
	snprintf(d->sock, sizeof(d->sock), "%s/%s", d->dir, sock);
	snprintf(d->jpath, sizeof(d->jpath), "%s/ref.json", d->dir);
	snprintf(d->epath, sizeof(d->epath), "%s/stderr", d->dir);
	snprintf(d->jurl, sizeof(d->jurl), "file:%s?format=json", d->jpath);
}

/* Removes it, unless a check failed: then it is kept for a look. */
static inline void st_dir_remove(const struct st_dir *d)
{
	char cmd[128];

	if (check_failures)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
	CHECK_EQ(system(cmd), 0);
}

/* Runs argv with stdout to out_fd (a pipe's end: -1 inherits) or to the
 * file out_path (NULL: inherit), stderr to err_path (NULL: inherit). With
 * TCPSCOPE_TEST_ENGINE set (meson's *_uring tests), argv gets
 * "--io-engine VALUE" appended: the same test through the other engine. */
static inline pid_t st_spawn_fd(char *const argv[], int out_fd,
				const char *out_path, const char *err_path)
{
	const char *engine = getenv("TCPSCOPE_TEST_ENGINE");
	pid_t pid = fork();
	if (pid == 0) {
		char *args[64];
		int n = 0;
		while (argv[n] && n < 60) {
			args[n] = argv[n];
			n++;
		}
		if (engine) {
			args[n++] = "--io-engine";
			args[n++] = (char *)engine;
		}
		args[n] = NULL;
		if (out_path)
			out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC,
				      0644);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_path) {
			int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC,
				      0644);
			dup2(fd, 2);
		}
		execv(args[0], args);
		_exit(127);
	}
	return pid;
}

static inline pid_t st_spawn(char *const argv[], const char *out_path,
			     const char *err_path)
{
	return st_spawn_fd(argv, -1, out_path, err_path);
}

/* waitpid's status, or -1 after killing it at the deadline. */
static inline int st_wait_status(pid_t pid, int timeout_ms)
{
	uint64_t end = st_now_ms() + (uint64_t)timeout_ms;
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (st_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(10000);
	}
}

/* Exit status (128: killed by a signal), or -1 after killing it at the
 * deadline. */
static inline int st_wait(pid_t pid, int timeout_ms)
{
	int status = st_wait_status(pid, timeout_ms);
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* --- receivers ------------------------------------------------------- */

struct st_buf {
	uint8_t *p;
	size_t len, cap;
	size_t *cut; /* datagram / connection lengths */
	size_t ncut, cutcap;
};

static inline void st_buf_add(struct st_buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 4096;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void st_buf_cut(struct st_buf *b, size_t n)
{
	if (b->ncut == b->cutcap) {
		b->cutcap = b->cutcap * 2 + 16;
		b->cut = realloc(b->cut, b->cutcap * sizeof(*b->cut));
	}
	b->cut[b->ncut++] = n;
}

static inline int st_udp_rx(int af, char *url, size_t urllen, const char *q)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0), sz = 64 << 20;
	char txt[64];
	sl = st_loopback(af, &ss);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (af == AF_INET)
		snprintf(txt, sizeof(txt), "127.0.0.1:%u",
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	else
		snprintf(txt, sizeof(txt), "[::1]:%u",
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	snprintf(url, urllen, "udp://%s%s", txt, q);
	return fd;
}

static inline int st_unix_rx(int type, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), sz = 64 << 20;
	if (strlen(path) >= sizeof(a.sun_path))
		return -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0))
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

/* Reads one datagram into b; 0 when nothing was waiting. */
static inline int st_read_dgram(int fd, struct st_buf *b)
{
	static uint8_t tmp[1 << 22];
	ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT | MSG_TRUNC);
	if (n <= 0)
		return 0;
	if ((size_t)n > sizeof(tmp))
		n = sizeof(tmp); /* caught by the size checks */
	st_buf_add(b, tmp, (size_t)n);
	st_buf_cut(b, (size_t)n);
	return 1;
}

/* Reads what a stream connection has; -1 at EOF. */
static inline int st_read_stream(int fd, struct st_buf *b)
{
	uint8_t tmp[65536];
	ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN ? 0 : -1;
	st_buf_add(b, tmp, (size_t)n);
	return 1;
}

#include "sink_test_decode.h"

#endif
