/*
 * loadgen.c - holds N established TCP sockets on loopback for the benchmarks.
 *
 * Usage: loadgen N [--v6-share PCT] [--no-data] [--move PCT [--move-every MS]]
 *
 * Opens N/2 connected pairs (client + accepted server socket): listeners on
 * 127.0.0.1 and ::1, IPv4 clients from 127.A.B.2 (see below), spread over
 * up to MAX_CHILDREN child processes that each stay under ~18000 fds (the
 * per-process open-files limit here is 20000 and cannot be raised). Prints
 * "ready N" on stdout once every child is up, then holds the sockets until
 * stdin closes or SIGTERM/SIGINT arrives, and kills its children.
 *
 * Port budget (1M sockets need ~500k client ports, the ephemeral range has
 * ~28k): the kernel picks a client's port at connect() so that only its
 * 4-tuple must be unique, and each listener serves at most
 * PAIRS_PER_LISTENER connections, so no (src, dst, dport) triple comes near
 * the range and the port search stays short. An IPv4 client binds, with
 * IP_BIND_ADDRESS_NO_PORT, to a source address of its own listener's
 * (127.A.B.2, never 127.0.0.1): otherwise every ephemeral port would soon
 * hold a client bound to 127.0.0.1 and a new listener's bind(127.0.0.1:0)
 * would find none free. IPv6 has only ::1, so the ephemeral range is split
 * (IP_LOCAL_PORT_RANGE, Linux >= 6.3, narrows the namespace's range per
 * socket; ignored where refused): listeners take the top LISTEN_PORTS
 * ports, clients the rest. Every socket gets SO_LINGER {1, 0}:
 * closing sends a RST, so no TIME_WAIT sockets outlive the run and skew
 * the next one.
 *
 * --move PCT: in each child, the first PCT% of its pairs (PCT may be a
 * fraction, e.g. 0.5) send 8 bytes client -> server every MS ms (default
 * 100), read at once by the server side, so that share of the sockets
 * (both ends of a pair) has changed counters between two polls whose gap
 * is at least MS; the other sockets stay idle (bench/features.sh).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FD_BUDGET	   18000 /* fds one child may hold */
#define FD_RESERVE	   64	 /* stdio, pipes, listeners' slack */
#define PAIRS_PER_LISTENER 2048	 /* keeps each port search short */
#define MAX_CHILDREN	   128	 /* 1M sockets: 56 children */
/* the top of net.ipv4.ip_local_port_range's default 32768-60999 is the
 * listeners' (1M sockets need ~490 listeners), the rest the clients' */
#define PORT_TOP     60999
#define LISTEN_PORTS 2000
#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51
#endif

struct plan {
	long pairs_v4;
	long pairs_v6;
	int send_data;
	int child; /* index: picks the IPv4 clients' source addresses */
};

/* --move: the pairs of this child that send (client, server fds). */
static struct {
	double pct;
	int every_ms;
	int *fd;
	long n, max;
} movers = { .every_ms = 100 };

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen[%d]: %s: %s\n", (int)getpid(), what,
		strerror(errno));
	_exit(1);
}

/* The kernel closes every fd at exit; linger 0 turns that into a RST. */
static void no_linger(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0)
		die("SO_LINGER");
}

static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*s4);
}

/* Narrows the ports the kernel may pick for `fd`; best effort: where the
 * option is refused, listeners and clients share the range, which is
 * enough up to some 100k IPv6 sockets. */
static void port_range(int fd, unsigned lo, unsigned hi)
{
	unsigned range = lo | hi << 16;

	(void)setsockopt(fd, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range,
			 sizeof(range));
}

/* A listener on the loopback address of `family`, port chosen by the kernel;
 * *addr receives its full address for the clients. */
static int open_listener(int family, struct sockaddr_storage *addr,
			 socklen_t *alen)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket(listener)");
	*alen = loopback(family, addr);
	port_range(fd, PORT_TOP - LISTEN_PORTS + 1, PORT_TOP);
	if (bind(fd, (struct sockaddr *)addr, *alen) < 0)
		die("bind(listener)");
	if (listen(fd, 128) < 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)addr, alen) < 0)
		die("getsockname");
	return fd;
}

/* A few bytes each way make tcp_info's byte/segment counters non-zero, as
 * they are on any real connection. Loopback delivers synchronously. */
static void exchange(int a, int b)
{
	char buf[16] = "tcpscope-bench";

	if (write(a, buf, 8) != 8 || read(b, buf, sizeof(buf)) != 8)
		die("exchange c->s");
	if (write(b, buf, 8) != 8 || read(a, buf, sizeof(buf)) != 8)
		die("exchange s->c");
}

/* IPv4 clients of listener `nth` of child `child` bind to 127.A.B.2, A.B
 * = child * 64 + nth + 1 (a child has at most ~9 listeners), the port left
 * to connect(). */
static void bind_source(int fd, int child, long nth)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	unsigned idx = (unsigned)child * 64u + (unsigned)nth + 1u;
	int one = 1;

	src.sin_addr.s_addr = htonl(0x7f000002u | (idx & 0xffffu) << 8);
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		       sizeof(one)) < 0)
		die("IP_BIND_ADDRESS_NO_PORT");
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
		die("bind(client)");
}

static void open_pairs(int family, long pairs, int send_data, int child)
{
	struct sockaddr_storage addr;
	socklen_t alen = 0;
	int lfd = -1;

	for (long i = 0; i < pairs; i++) {
		if (i % PAIRS_PER_LISTENER == 0)
			lfd = open_listener(family, &addr, &alen);
		int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0)
			die("socket(client)");
		no_linger(c);
		port_range(c, 1, PORT_TOP - LISTEN_PORTS);
		if (family == AF_INET)
			bind_source(c, child, i / PAIRS_PER_LISTENER);
		/* Blocking connect on loopback completes the handshake at
		 * once; the backlog never holds more than one socket. */
		if (connect(c, (struct sockaddr *)&addr, alen) < 0)
			die("connect");
		int s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			die("accept");
		no_linger(s);
		if (send_data)
			exchange(c, s);
		if (movers.n < movers.max) {
			movers.fd[2 * movers.n] = c;
			movers.fd[2 * movers.n + 1] = s;
			movers.n++;
		}
	}
}

/*
 * Holds the child's sockets until `hold_fd` reports EOF (or a signal kills
 * it); with --move, wakes every movers.every_ms to send 8 bytes on each
 * mover pair and read them on its server side (loopback delivers at once).
 */
static void hold_moving(int hold_fd)
{
	struct pollfd p = { .fd = hold_fd, .events = POLLIN };
	char buf[16] = "tcpscope-move";

	for (;;) {
		int r = poll(&p, 1, movers.n ? movers.every_ms : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0)
			return; /* EOF or error on hold_fd: the parent is done
				 */
		for (long i = 0; i < movers.n; i++)
			if (write(movers.fd[2 * i], buf, 8) != 8 ||
			    read(movers.fd[2 * i + 1], buf, sizeof(buf)) != 8)
				die("move");
	}
}

/*
 * One child: raise the fd limit, open its share, report on `ready_fd`,
 * then block until the parent's end of `hold_fd` closes (parent exit or
 * shutdown) or a signal kills it.
 */
static void child_main(const struct plan *pl, int ready_fd, int hold_fd)
{
	struct rlimit rl;
	char c = 'k';

	/* An orphaned child must not keep 18000 sockets alive. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die("setrlimit");
	}
	movers.max = (long)((double)(pl->pairs_v4 + pl->pairs_v6) * movers.pct /
				    100 +
			    0.5);
	movers.fd =
		movers.max ? calloc((size_t)movers.max * 2, sizeof(int)) : NULL;
	if (movers.max && !movers.fd)
		die("calloc(movers)");
	open_pairs(AF_INET, pl->pairs_v4, pl->send_data, pl->child);
	open_pairs(AF_INET6, pl->pairs_v6, pl->send_data, pl->child);
	if (write(ready_fd, &c, 1) != 1)
		die("write(ready)");
	close(ready_fd);
	hold_moving(hold_fd);
	_exit(0);
}

/* Pairs one child can hold within its fd budget and the hard limit. */
static long pairs_per_child(void)
{
	struct rlimit rl;
	long budget = FD_BUDGET;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < budget)
		budget = (long)rl.rlim_max;
	budget -= FD_RESERVE;
	/* each listener serves PAIRS_PER_LISTENER pairs = 2x that many fds */
	budget -= budget / (2 * PAIRS_PER_LISTENER) + 1;
	return budget > 2 ? budget / 2 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen N [--v6-share PCT] [--no-data] "
			"[--move PCT [--move-every MS]]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, long *n, long *v6pct,
		       int *send_data)
{
	char *end;

	*n = -1;
	*v6pct = 0;
	*send_data = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--v6-share") && i + 1 < argc) {
			*v6pct = strtol(argv[++i], &end, 10);
			if (*end || *v6pct < 0 || *v6pct > 100)
				usage();
		} else if (!strcmp(argv[i], "--no-data")) {
			*send_data = 0;
		} else if (!strcmp(argv[i], "--move") && i + 1 < argc) {
			movers.pct = strtod(argv[++i], &end);
			if (*end || !(movers.pct >= 0 && movers.pct <= 100))
				usage();
		} else if (!strcmp(argv[i], "--move-every") && i + 1 < argc) {
			movers.every_ms = (int)strtol(argv[++i], &end, 10);
			if (*end || movers.every_ms < 1)
				usage();
		} else if (*n < 0 && argv[i][0] != '-') {
			*n = strtol(argv[i], &end, 10);
			if (*end || *n < 2)
				usage();
		} else {
			usage();
		}
	}
	if (*n < 0)
		usage();
}

/* Waits for one byte per child on `rfd`; 0 when all came, -1 on a child's
 * failure (EOF before its byte) or a stop signal. */
static int wait_ready(int rfd, int nchild)
{
	int got = 0;
	char buf[MAX_CHILDREN];

	while (got < nchild && !stop_flag) {
		ssize_t r = read(rfd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (int)r;
	}
	return got == nchild ? 0 : -1;
}

/* Blocks until stdin reaches EOF or a stop signal arrives. */
static void hold(void)
{
	char buf[256];

	while (!stop_flag) {
		ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
}

static void reap(pid_t *pids, int nchild)
{
	for (int i = 0; i < nchild; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < nchild; i++)
		if (pids[i] > 0)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
}

static int spawn(long pairs, long v6pct, int send_data, pid_t *pids,
		 int *nchild, int ready[2], int holdp[2])
{
	long per = pairs_per_child();
	int n = (int)((pairs + per - 1) / per);

	if (n > MAX_CHILDREN) {
		fprintf(stderr,
			"loadgen: %ld pairs need more than %d children\n",
			pairs, MAX_CHILDREN);
		return -1;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(holdp, O_CLOEXEC) < 0)
		die("pipe");
	*nchild = 0;
	for (int i = 0; i < n; i++) {
		/* even split; the first (pairs % n) children take one more */
		long share = pairs / n + (i < pairs % n);
		struct plan pl = {
			.pairs_v6 = share * v6pct / 100,
			.send_data = send_data,
			.child = i,
		};
		pl.pairs_v4 = share - pl.pairs_v6;
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(ready[0]);
			close(holdp[1]);
			child_main(&pl, ready[1], holdp[0]);
		}
		pids[(*nchild)++] = pid;
	}
	close(ready[1]);
	close(holdp[0]);
	return 0;
}

int main(int argc, char **argv)
{
	long n, v6pct;
	int send_data, nchild = 0, ready[2], holdp[2];
	pid_t pids[MAX_CHILDREN];
	struct sigaction sa = { .sa_handler = on_stop };
	struct timespec t0, t1;

	parse_args(argc, argv, &n, &v6pct, &send_data);
	/* no SA_RESTART: a signal must interrupt the blocking reads */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (spawn(n / 2, v6pct, send_data, pids, &nchild, ready, holdp) < 0)
		return 1;
	if (wait_ready(ready[0], nchild) < 0) {
		fprintf(stderr,
			"loadgen: a child failed or stopped; cleaning up\n");
		close(holdp[1]);
		reap(pids, nchild);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "loadgen: %ld sockets in %d processes, %.2f s\n",
		n / 2 * 2, nchild,
		(double)(t1.tv_sec - t0.tv_sec) +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("ready %ld\n", n / 2 * 2);
	fflush(stdout);
	hold();
	close(holdp[1]);
	reap(pids, nchild);
	return 0;
}
