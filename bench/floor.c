/*
 * floor.c - the kernel's floor: the least work any sock_diag TCP dumper can do.
 *
 * Usage: floor [--count N] [--bufsize BYTES] [--compat] [--ext HEX] [--quiet]
 *
 * Sends the dump requests tcpscope sends (SOCK_DIAG_BY_FAMILY,
 * inet_diag_req_v2, AF_INET then AF_INET6, IPPROTO_TCP, every real TCP state
 * 1..12, idiag_ext = INFO|VEGASINFO|CONG|TOS|TCLASS|SKMEMINFO), receives
 * every datagram into one buffer and throws it away, N times. It only walks
 * the netlink headers to find NLMSG_DONE and count messages; no attribute is
 * read. Whatever CPU this takes is the kernel's dump work plus one recv per
 * datagram: tcpscope cannot go below it, so it is what tcpscope is compared
 * against. --compat instead sends one legacy TCPDIAG_GETSOCK request
 * (struct inet_diag_req), which the kernel serves as an AF_UNSPEC dump: one
 * walk of the established hash for both families instead of two, to show
 * what the second walk costs. --ext replaces the idiag_ext bits, to price
 * each extension. Self-contained on purpose (own request builder), so the floor
 * does not move when the project's netlink code changes.
 *
 * Prints one line of key=value pairs on stdout, e.g.
 *   floor polls=20 datagrams=.. bytes=.. msgs=.. done=40 records_per_poll=..
 *         user_us=.. sys_us=.. wall_us=..
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The kernel caps a dump datagram near 32 KiB (SKB_WITH_OVERHEAD(32768)),
 * and sizes it by the largest recv buffer seen so far; 64 KiB never
 * truncates. */
#define DEFAULT_BUF (64 * 1024)
#define RCVBUF	    (1 << 20)

/* Bit for INET_DIAG_x in idiag_ext: the kernel tests 1 << (x - 1). */
#define EXT(x) (1u << ((x)-1))
#define DIAG_EXT                                                               \
	(EXT(INET_DIAG_INFO) | EXT(INET_DIAG_VEGASINFO) |                      \
	 EXT(INET_DIAG_CONG) | EXT(INET_DIAG_TOS) | EXT(INET_DIAG_TCLASS) |    \
	 EXT(INET_DIAG_SKMEMINFO))
/* Every real TCP state, 1 (ESTABLISHED) .. 12 (NEW_SYN_RECV). */
#define ALL_STATES 0x1ffeu

struct stats {
	uint64_t datagrams;
	uint64_t bytes;
	uint64_t msgs; /* SOCK_DIAG_BY_FAMILY messages = sockets */
	uint64_t done;
};

struct dump_req {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 r;
};

struct compat_req {
	struct nlmsghdr nlh;
	struct inet_diag_req r;
};

struct opts {
	long count;
	long bufsize;
	int compat;
	int quiet;
	uint8_t ext;
};

static int open_diag(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int sz = RCVBUF;
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };

	if (fd < 0) {
		perror("floor: socket(NETLINK_SOCK_DIAG)");
		exit(1);
	}
	/* Best effort: the default is fine too, the dump is paced by recv. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		perror("floor: bind");
		exit(1);
	}
	return fd;
}

static int send_buf(int fd, const void *req, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (sendto(fd, req, len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) != (ssize_t)len) {
		perror("floor: sendto");
		return -1;
	}
	return 0;
}

/* family 0: one legacy request covering both families (see --compat). */
static int send_req(int fd, uint8_t family, uint32_t seq, uint8_t ext)
{
	struct dump_req req;
	struct compat_req creq;

	if (family == AF_UNSPEC) {
		memset(&creq, 0, sizeof(creq));
		creq.nlh.nlmsg_len = sizeof(creq);
		creq.nlh.nlmsg_type = TCPDIAG_GETSOCK;
		creq.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		creq.nlh.nlmsg_seq = seq;
		creq.r.idiag_family = AF_INET; /* ignored by the kernel */
		creq.r.idiag_ext = ext;
		creq.r.idiag_states = ALL_STATES;
		return send_buf(fd, &creq, sizeof(creq));
	}
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_ext = ext;
	req.r.idiag_states = ALL_STATES;
	return send_buf(fd, &req, sizeof(req));
}

/* Walks the headers of one datagram. Returns 1 at NLMSG_DONE, 0 for more,
 * -1 on an error reply or a malformed header. */
static int scan(const unsigned char *b, size_t len, struct stats *st)
{
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)b;
		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len)
			return -1;
		if (h->nlmsg_type == NLMSG_DONE) {
			st->done++;
			return 1;
		}
		if (h->nlmsg_type == NLMSG_ERROR)
			return -1;
		st->msgs++;
		size_t step = NLMSG_ALIGN(h->nlmsg_len);
		if (step >= len)
			break;
		b += step;
		len -= step;
	}
	return 0;
}

/* One dump (one family, or both with AF_UNSPEC), to NLMSG_DONE. */
static int dump(int fd, uint8_t family, uint32_t seq, const struct opts *o,
		unsigned char *buf, struct stats *st)
{
	if (send_req(fd, family, seq, o->ext) < 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, (size_t)o->bufsize, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("floor: recv");
			return -1;
		}
		st->datagrams++;
		st->bytes += (uint64_t)n;
		int rc = scan(buf, (size_t)n, st);
		if (rc < 0) {
			fprintf(stderr, "floor: error reply or bad datagram\n");
			return -1;
		}
		if (rc == 1)
			return 0;
	}
}

static int poll_once(int fd, long i, const struct opts *o, unsigned char *buf,
		     struct stats *st)
{
	uint32_t seq = (uint32_t)(2 * i + 1);

	if (o->compat)
		return dump(fd, AF_UNSPEC, seq, o, buf, st);
	if (dump(fd, AF_INET, seq, o, buf, st) < 0)
		return -1;
	return dump(fd, AF_INET6, seq + 1, o, buf, st);
}

static long tv_us(struct timeval tv)
{
	return tv.tv_sec * 1000000L + tv.tv_usec;
}

static void usage(void)
{
	fprintf(stderr, "usage: floor [--count N] [--bufsize BYTES>=4096] "
			"[--compat] [--ext HEX] [--quiet]\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	o->count = 1;
	o->bufsize = DEFAULT_BUF;
	o->compat = 0;
	o->quiet = 0;
	o->ext = (uint8_t)DIAG_EXT;
	for (int i = 1; i < argc; i++) {
		char *end = "";
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			o->count = strtol(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--bufsize") && i + 1 < argc)
			o->bufsize = strtol(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--ext") && i + 1 < argc)
			o->ext = (uint8_t)strtoul(argv[++i], &end, 16);
		else if (!strcmp(argv[i], "--quiet"))
			o->quiet = 1;
		else if (!strcmp(argv[i], "--compat"))
			o->compat = 1;
		else
			usage();
		if (*end || o->count < 1 || o->bufsize < 4096)
			usage();
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct stats st = { 0 };
	struct timespec t0, t1;
	struct rusage ru;

	parse_args(argc, argv, &o);
	unsigned char *buf = malloc((size_t)o.bufsize);
	if (!buf) {
		perror("floor: malloc");
		return 1;
	}
	int fd = open_diag();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < o.count; i++)
		if (poll_once(fd, i, &o, buf, &st) < 0)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	close(fd);
	free(buf);
	if (!o.quiet)
		printf("floor polls=%ld datagrams=%llu bytes=%llu msgs=%llu "
		       "done=%llu records_per_poll=%llu user_us=%ld sys_us=%ld "
		       "wall_us=%ld\n",
		       o.count, (unsigned long long)st.datagrams,
		       (unsigned long long)st.bytes,
		       (unsigned long long)st.msgs, (unsigned long long)st.done,
		       (unsigned long long)(st.msgs / (uint64_t)o.count),
		       tv_us(ru.ru_utime), tv_us(ru.ru_stime),
		       (t1.tv_sec - t0.tv_sec) * 1000000L +
			       (t1.tv_nsec - t0.tv_nsec) / 1000L);
	return 0;
}
