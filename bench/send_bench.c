/*
 * send_bench.c - what a batch of datagrams costs the sender: sendmmsg(2)
 * (the syscall engine's destinations) vs ring_send_batch() (the io_uring
 * engine's), per datagram.
 *
 * Usage: send_bench [-d MS] [-r ROUNDS] [-s BYTES] [-t unix|udp|both]
 *                   [-b LIST] [-P]
 *
 * For each transport (a connected AF_UNIX SOCK_DGRAM socketpair, and/or a
 * UDP socket connected to a receiver bound on 127.0.0.1) and each batch
 * size in LIST (default 1,16,64,256), sends batches of BYTES-byte (default
 * 1000) datagrams for MS milliseconds (default 1000) through
 *   syscall  one sendmmsg(fd, batch, MSG_DONTWAIT) per batch, as dgram.c
 *   uring    ring_send_batch() on a ring from ring_init() with a zeroed
 *            struct ring_cfg (the defaults), created and used on this
 *            thread, as dgram.c does when the engine is uring
 * alternating the two engines (the order flips each round) so that drift
 * in the machine's load hits both. A reader thread drains the receive
 * side with recvmmsg. When the sender runs out of room (EAGAIN/ENOBUFS,
 * only on the unix pair, whose sender's buffer holds what the reader has
 * not read yet) it waits in poll(POLLOUT), as dgram.c does; those polls
 * are counted with the syscalls. With 2 or more CPUs the sender is pinned
 * to CPU 0 and the reader to CPU 1 (-P: not pinned), see pin_to().
 *
 * Measured on the sending thread only (getrusage(RUSAGE_THREAD) deltas,
 * so the reader's CPU is not counted): user and system microseconds per
 * datagram, voluntary and involuntary context switches per 1000
 * datagrams, and syscalls per 1000 datagrams, counted here, not traced:
 * sendmmsg + poll calls for syscall, ring->st.enters (every io_uring_enter
 * ring.c makes) + poll calls for uring. rx% is the share the reader got
 * (UDP drops what overflows the receiver, and a dropped datagram costs
 * the sender less). Each row is the round with the least user+sys;
 * "spread" is (worst - best) / best of that row's rounds, a noise gauge.
 *
 * Timing never fails the run: exit status 0, or 1 when a socket, the ring
 * or a send fails in a way the benchmark cannot go on with.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "engine/ring.h"

#define MAX_BATCH  256
#define MAX_SIZES  8
#define MAX_ROUNDS 20
#define WARMUP_MS  50
#define RX_VLEN	   64
#define RX_BUF	   65536
/* the unix sender's buffer holds unread datagrams: room for a few
 * batches of 256, so the reader's scheduling, not the size, decides when
 * the sender waits */
#define SNDBUF (4 << 20)
#define RCVBUF (32 << 20)
/* a dropped or lost datagram must not hang the reader's recvmmsg */
#define RX_TIMEOUT_MS 100

enum engine { ENG_SYSCALL, ENG_URING, NENG };
static const char *const eng_name[NENG] = { "syscall", "uring" };

enum transport { TR_UNIX, TR_UDP, NTR };
static const char *const tr_name[NTR] = { "unix", "udp" };

struct opts {
	long dur_ms;
	int rounds;
	size_t payload;
	int transports[NTR];
	unsigned sizes[MAX_SIZES];
	unsigned nsizes;
	int pin; /* sender on CPU 0, reader on CPU 1 */
};

struct reader {
	pthread_t thread;
	int fd;
	int cpu; /* < 0: not pinned */
	atomic_ulong got;
	atomic_int stop;
};

/* One measured case. */
struct result {
	int valid;
	uint64_t msgs, calls, waits, rx;
	long user_us, sys_us, nvcsw, nivcsw, wall_us;
};

struct sender {
	int fd;
	struct ring *ring; /* NULL: io_uring unavailable */
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct iovec todo[MAX_BATCH]; /* uring: what is left to send */
	int res[MAX_BATCH];
	uint64_t calls; /* syscalls made by the syscall engine's path */
	uint64_t waits; /* poll(POLLOUT) calls, both engines */
};

static long tv_us(struct timeval tv)
{
	return tv.tv_sec * 1000000L + tv.tv_usec;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Pinning keeps the reader off the sender's CPU: otherwise whether the
 * two share a CPU decides how much waking the reader costs the sender,
 * and the rounds differ by tens of percent. 0 or -errno. */
static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	static char bufs[RX_VLEN][RX_BUF];
	struct mmsghdr msgs[RX_VLEN];
	struct iovec iov[RX_VLEN];

	if (rd->cpu >= 0)
		(void)pin_to(rd->cpu);
	for (int i = 0; i < RX_VLEN; i++) {
		iov[i] = (struct iovec){ bufs[i], RX_BUF };
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load(&rd->stop)) {
		/* blocks for the first datagram only, then takes what is
		 * queued: one wakeup per burst, as a real collector would */
		int n = recvmmsg(rd->fd, msgs, RX_VLEN, MSG_WAITFORONE, NULL);
		if (n > 0)
			atomic_fetch_add(&rd->got, (unsigned long)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
	}
	return NULL;
}

static int reader_start(struct reader *rd, int fd, int cpu)
{
	struct timeval tv = { 0, RX_TIMEOUT_MS * 1000 };
	int rc;

	rd->fd = fd;
	rd->cpu = cpu;
	atomic_init(&rd->got, 0);
	atomic_init(&rd->stop, 0);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	rc = pthread_create(&rd->thread, NULL, reader_main, rd);
	return -rc;
}

static void reader_stop(struct reader *rd)
{
	atomic_store(&rd->stop, 1);
	pthread_join(rd->thread, NULL);
}

/* Buffers beyond net.core.[rw]mem_max need root (the *FORCE options);
 * without it the capped size still works, the sender just waits more. */
static void set_buf(int fd, int force, int plain, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof(bytes)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof(bytes));
}

/* fds[0] sends, fds[1] is the reader's. 0 or -errno. */
static int open_transport(enum transport t, int fds[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);

	if (t == TR_UNIX) {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) < 0)
			return -errno;
	} else {
		fds[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		fds[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fds[0] < 0 || fds[1] < 0)
			return -errno;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fds[1], (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fds[1], (struct sockaddr *)&a, &alen) < 0 ||
		    connect(fds[0], (struct sockaddr *)&a, alen) < 0)
			return -errno;
	}
	set_buf(fds[0], SO_SNDBUFFORCE, SO_SNDBUF, SNDBUF);
	set_buf(fds[1], SO_RCVBUFFORCE, SO_RCVBUF, RCVBUF);
	return 0;
}

/* No room: wait for it as dgram.c does (bounded, then try again). */
static void wait_room(struct sender *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };

	s->waits++;
	(void)poll(&p, 1, 1000);
}

/* One batch of n through sendmmsg. 0 or -errno. */
static int batch_syscall(struct sender *s, unsigned n)
{
	unsigned i = 0;

	while (i < n) {
		int k = sendmmsg(s->fd, s->msgs + i, n - i, MSG_DONTWAIT);
		s->calls++;
		if (k > 0) {
			i += (unsigned)k;
		} else if (k < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
			wait_room(s);
		} else if (!(k < 0 && errno == EINTR)) {
			return k < 0 ? -errno : -EIO;
		}
	}
	return 0;
}

/* One batch of n through the ring, as dgram.c's emit_ring(): every
 * datagram gets its own result (the SQEs are not linked), and the refused
 * ones are sent again, in their order, once there is room. 0 or -errno. */
static int batch_uring(struct sender *s, unsigned n)
{
	unsigned m = n;

	for (unsigned j = 0; j < n; j++)
		s->todo[j] = s->iov[j];
	while (m > 0) {
		unsigned again = 0;
		int rc = ring_send_batch(s->ring, s->fd, s->todo, m, 0, s->res);
		if (rc < 0)
			return rc;
		for (unsigned j = 0; j < m; j++) {
			if (s->res[j] >= 0)
				continue;
			if (s->res[j] != -EAGAIN && s->res[j] != -ENOBUFS &&
			    s->res[j] != -EINTR)
				return s->res[j];
			s->todo[again++] = s->todo[j];
		}
		m = again;
		if (m)
			wait_room(s);
	}
	return 0;
}

/* Batches of n for dur_ms; fills *res from the thread's rusage. */
static int run_case(struct sender *s, struct reader *rd, enum engine e,
		    unsigned n, long dur_ms, struct result *res)
{
	struct rusage r0, r1;
	uint64_t t0, t1, end, enters0, msgs = 0, rx0, last;
	/* the clock is read once per ~256 datagrams at every batch size */
	unsigned every = MAX_BATCH / n ? MAX_BATCH / n : 1, since = 0;
	int rc = 0;

	/* warm-up: caches, the socket buffers, the reader awake */
	end = now_us() + WARMUP_MS * 1000;
	while (rc == 0 && now_us() < end)
		rc = e == ENG_URING ? batch_uring(s, n) : batch_syscall(s, n);
	if (rc < 0)
		return rc;
	s->calls = 0;
	s->waits = 0;
	enters0 = s->ring ? s->ring->st.enters : 0;
	rx0 = atomic_load(&rd->got);
	getrusage(RUSAGE_THREAD, &r0);
	t0 = now_us();
	end = t0 + (uint64_t)dur_ms * 1000;
	for (;;) {
		rc = e == ENG_URING ? batch_uring(s, n) : batch_syscall(s, n);
		if (rc < 0)
			return rc;
		msgs += n;
		if (++since >= every) {
			since = 0;
			if (now_us() >= end)
				break;
		}
	}
	t1 = now_us();
	getrusage(RUSAGE_THREAD, &r1);
	memset(res, 0, sizeof(*res));
	res->valid = 1;
	res->msgs = msgs;
	res->waits = s->waits;
	res->calls = s->waits +
		     (e == ENG_URING ? s->ring->st.enters - enters0 : s->calls);
	res->user_us = tv_us(r1.ru_utime) - tv_us(r0.ru_utime);
	res->sys_us = tv_us(r1.ru_stime) - tv_us(r0.ru_stime);
	res->nvcsw = r1.ru_nvcsw - r0.ru_nvcsw;
	res->nivcsw = r1.ru_nivcsw - r0.ru_nivcsw;
	res->wall_us = (long)(t1 - t0);
	/* let the reader catch up before the next case starts (and count
	 * what it got of this one; the warm-up's leftovers are included,
	 * so rx% is approximate); stop when it makes no more progress */
	last = atomic_load(&rd->got);
	for (int idle = 0; idle < 5;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		uint64_t got = atomic_load(&rd->got);
		idle = got == last ? idle + 1 : 0;
		last = got;
	}
	res->rx = last - rx0;
	return 0;
}

static double total_us(const struct result *r)
{
	return (double)(r->user_us + r->sys_us);
}

static void print_header(void)
{
	printf("%-5s %5s  %-7s %9s %8s %8s %8s %8s %8s %8s %7s %6s %6s\n",
	       "trans", "batch", "engine", "msgs", "user_us", "sys_us",
	       "total_us", "vcsw/1k", "ivcsw/1k", "calls/1k", "waits/1k", "rx%",
	       "spread");
}

static void print_row(enum transport t, unsigned n, enum engine e,
		      const struct result *r, double spread)
{
	double m = (double)r->msgs;

	if (!r->valid) {
		printf("%-5s %5u  %-7s %9s\n", tr_name[t], n, eng_name[e],
		       "n/a");
		return;
	}
	printf("%-5s %5u  %-7s %9llu %8.3f %8.3f %8.3f %8.2f %8.2f %8.2f "
	       "%7.2f %5.1f%% %5.0f%%\n",
	       tr_name[t], n, eng_name[e], (unsigned long long)r->msgs,
	       (double)r->user_us / m, (double)r->sys_us / m, total_us(r) / m,
	       1000.0 * (double)r->nvcsw / m, 1000.0 * (double)r->nivcsw / m,
	       1000.0 * (double)r->calls / m, 1000.0 * (double)r->waits / m,
	       r->rx > r->msgs ? 100.0 : 100.0 * (double)r->rx / m,
	       100.0 * spread);
}

/* uring / syscall: CPU and syscalls per datagram. No user-time ratio:
 * user time here is a few ns per datagram, below what tick-sampled
 * rusage can split from system time. */
static void print_ratio(const struct result *sc, const struct result *ur)
{
	double cs, cu, ys, yu, ks, ku;

	if (!sc->valid || !ur->valid)
		return;
	cs = total_us(sc) / (double)sc->msgs;
	cu = total_us(ur) / (double)ur->msgs;
	ys = (double)sc->sys_us / (double)sc->msgs;
	yu = (double)ur->sys_us / (double)ur->msgs;
	ks = (double)sc->calls / (double)sc->msgs;
	ku = (double)ur->calls / (double)ur->msgs;
	printf("%13s  uring/syscall: CPU %.2fx (sys %.2fx), syscalls %.2fx\n",
	       "", cs > 0 ? cu / cs : 0, ys > 0 ? yu / ys : 0,
	       ks > 0 ? ku / ks : 0);
}

static void usage(void)
{
	fprintf(stderr, "usage: send_bench [-d MS] [-r ROUNDS] [-s BYTES] "
			"[-t unix|udp|both] [-b LIST] [-P]\n");
	exit(2);
}

static void parse_sizes(const char *arg, struct opts *o)
{
	char *end;

	o->nsizes = 0;
	while (*arg && o->nsizes < MAX_SIZES) {
		long v = strtol(arg, &end, 10);
		if (end == arg || v < 1 || v > MAX_BATCH)
			usage();
		o->sizes[o->nsizes++] = (unsigned)v;
		arg = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			usage();
	}
	if (!o->nsizes)
		usage();
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const unsigned def[] = { 1, 16, 64, 256 };
	int c;

	memset(o, 0, sizeof(*o));
	o->dur_ms = 1000;
	o->rounds = 3;
	o->payload = 1000;
	o->transports[TR_UNIX] = o->transports[TR_UDP] = 1;
	memcpy(o->sizes, def, sizeof(def));
	o->nsizes = 4;
	o->pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	while ((c = getopt(argc, argv, "d:r:s:t:b:P")) != -1) {
		switch (c) {
		case 'd':
			o->dur_ms = strtol(optarg, NULL, 10);
			if (o->dur_ms < 1)
				usage();
			break;
		case 'r':
			o->rounds = (int)strtol(optarg, NULL, 10);
			if (o->rounds < 1 || o->rounds > MAX_ROUNDS)
				usage();
			break;
		case 's':
			o->payload = (size_t)strtol(optarg, NULL, 10);
			if (o->payload < 1 || o->payload > 65000)
				usage();
			break;
		case 't':
			o->transports[TR_UNIX] = !strcmp(optarg, "unix") ||
						 !strcmp(optarg, "both");
			o->transports[TR_UDP] = !strcmp(optarg, "udp") ||
						!strcmp(optarg, "both");
			if (!o->transports[TR_UNIX] && !o->transports[TR_UDP])
				usage();
			break;
		case 'b':
			parse_sizes(optarg, o);
			break;
		case 'P':
			o->pin = 0;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* Every round of every case on one transport; prints its rows. */
static int bench_transport(const struct opts *o, enum transport t,
			   struct sender *s)
{
	static struct result res[MAX_SIZES][NENG][MAX_ROUNDS];
	struct reader rd;
	int fds[2], rc;

	rc = open_transport(t, fds);
	if (rc == 0)
		rc = reader_start(&rd, fds[1], o->pin ? 1 : -1);
	if (rc < 0) {
		fprintf(stderr, "send_bench: %s transport: %s\n", tr_name[t],
			strerror(-rc));
		return rc;
	}
	s->fd = fds[0];
	memset(res, 0, sizeof(res));
	for (int r = 0; r < o->rounds && rc == 0; r++) {
		for (unsigned b = 0; b < o->nsizes && rc == 0; b++) {
			for (int j = 0; j < NENG && rc == 0; j++) {
				/* flip the order each round */
				enum engine e = (enum engine)((j + r) % NENG);
				if (e == ENG_URING && !s->ring)
					continue;
				rc = run_case(s, &rd, e, o->sizes[b], o->dur_ms,
					      &res[b][e][r]);
				if (rc < 0)
					fprintf(stderr,
						"send_bench: %s %s batch %u: "
						"%s\n",
						tr_name[t], eng_name[e],
						o->sizes[b], strerror(-rc));
			}
		}
	}
	reader_stop(&rd);
	close(fds[0]);
	close(fds[1]);
	for (unsigned b = 0; b < o->nsizes; b++) {
		struct result best[NENG];
		for (int e = 0; e < NENG; e++) {
			double lo = 0, hi = 0;
			memset(&best[e], 0, sizeof(best[e]));
			/* the least CPU per datagram: the round least
			 * disturbed by whatever else the machine ran */
			for (int r = 0; r < o->rounds; r++) {
				const struct result *x = &res[b][e][r];
				double c;
				if (!x->valid)
					continue;
				c = total_us(x) / (double)x->msgs;
				if (!best[e].valid || c < lo) {
					best[e] = *x;
					lo = c;
				}
				hi = c > hi ? c : hi;
			}
			print_row(t, o->sizes[b], (enum engine)e, &best[e],
				  lo > 0 ? (hi - lo) / lo : 0);
		}
		print_ratio(&best[ENG_SYSCALL], &best[ENG_URING]);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static struct sender s;
	static struct ring ring;
	static char payload[65000];
	struct ring_cfg cfg;
	struct opts o;
	char err[256];
	int status = 0;

	parse_args(argc, argv, &o);
	if (o.pin && pin_to(0) < 0)
		o.pin = 0;
	memset(payload, 'x', sizeof(payload));
	for (unsigned i = 0; i < MAX_BATCH; i++) {
		s.iov[i] = (struct iovec){ payload, o.payload };
		memset(&s.msgs[i], 0, sizeof(s.msgs[i]));
		s.msgs[i].msg_hdr.msg_iov = &s.iov[i];
		s.msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* zeroed: the defaults tcpscope uses; SINGLE_ISSUER, so this
	 * thread creates it and is the only one to touch it */
	memset(&cfg, 0, sizeof(cfg));
	if (ring_init(&ring, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr,
			"send_bench: no io_uring (%s); uring rows n/a\n", err);
		status = 1;
	} else {
		s.ring = &ring;
	}
	printf("# send_bench: %zu-byte datagrams, batches of", o.payload);
	for (unsigned b = 0; b < o.nsizes; b++)
		printf("%s%u", b ? "," : " ", o.sizes[b]);
	printf("; %ld ms per case, best of %d rounds; per datagram, sending "
	       "thread only; %s\n",
	       o.dur_ms, o.rounds,
	       o.pin ? "sender on CPU 0, reader on CPU 1" : "not pinned");
	print_header();
	fflush(stdout);
	for (int t = 0; t < NTR; t++) {
		if (!o.transports[t])
			continue;
		if (bench_transport(&o, (enum transport)t, &s) < 0)
			status = 1;
		fflush(stdout);
	}
	if (s.ring) {
		printf("# ring: %llu enters, %llu sqes, %llu cqes, %llu busy\n",
		       (unsigned long long)ring.st.enters,
		       (unsigned long long)ring.st.sqes,
		       (unsigned long long)ring.st.cqes,
		       (unsigned long long)ring.st.busy);
		ring_release(&ring);
	}
	return status;
}
