/* nl_sock.c - NETLINK_SOCK_DIAG socket I/O with plain syscalls. */
#include "nl_sock.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int nl_sock_open(int *fd_out, uint32_t *portid_out)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t salen = sizeof(sa);
	int buf = NL_SNDRCVBUF, one = 1;
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	/* best effort: the default is enough for one dump in flight */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	/* ask for extended-ack text so errors can say what was refused */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*fd_out = fd;
	*portid_out = sa.nl_pid;
	return 0;
}

int nl_sock_open_mcast(uint32_t groups, int rcvbuf, int *fd_out)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	/* the kernel doubles what it is given (its own overhead) */
	int half = rcvbuf / 2, fd, err = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	/* without CAP_NET_ADMIN the smaller buffer rmem_max allows: the
	 * caller reads back what it got */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof(half)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &half,
				 sizeof(half));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = -errno;
	for (int g = 1; err == 0 && g <= 32; g++)
		if ((groups & (1u << (g - 1))) &&
		    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g,
			       sizeof(g)) < 0)
			err = -errno;
	if (err < 0) {
		close(fd);
		return err;
	}
	*fd_out = fd;
	return 0;
}

int nl_sock_send(int fd, const void *req, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do {
		n = sendto(fd, req, len, 0, (struct sockaddr *)&kernel,
			   sizeof(kernel));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int nl_sock_recv(int fd, void *buf, size_t cap, size_t *len_out)
{
	struct sockaddr_nl from;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;
	int rc;

	do {
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	rc = nl_sock_check(msg.msg_flags, &from, msg.msg_namelen);
	if (rc == 0)
		*len_out = (size_t)n;
	return rc;
}

/* The first error or NLMSG_DONE of a datagram: 1 done, 0 go on, -errno. */
static int dump_end(const uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (off + sizeof(struct nlmsghdr) <= n) {
		struct nlmsghdr h;
		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > n - off)
			return -EPROTO;
		if (h.nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr e;
			if (h.nlmsg_len < NLMSG_LENGTH(sizeof(e)))
				return -EPROTO;
			memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof(e));
			return e.error < 0 ? e.error : 1;
		}
		if (h.nlmsg_type == NLMSG_DONE)
			return 1;
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
	return 0;
}

int nl_sock_try_dump(const void *req, size_t len, int timeout_ms)
{
	static uint8_t buf[NL_RECV_BUF]; /* startup only, one thread */
	struct pollfd pfd = { .events = POLLIN };
	uint32_t portid;
	int rc = nl_sock_open(&pfd.fd, &portid);

	if (rc < 0)
		return rc;
	rc = nl_sock_send(pfd.fd, req, len);
	while (rc == 0) {
		size_t n;
		rc = nl_sock_recv(pfd.fd, buf, sizeof(buf), &n);
		if (rc == -EAGAIN) {
			int p = poll(&pfd, 1, timeout_ms);
			rc = p > 0 ? 0 : p == 0 ? -ETIMEDOUT : -errno;
			continue;
		}
		if (rc == 0)
			rc = dump_end(buf, n);
	}
	close(pfd.fd);
	return rc > 0 ? 0 : rc;
}

int nl_sock_check(int msg_flags, const void *from, size_t namelen)
{
	struct sockaddr_nl nl;

	if (msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (from && namelen >= sizeof(nl)) {
		memcpy(&nl, from, sizeof(nl));
		if (nl.nl_pid != 0)
			return -EPROTO;
	}
	return 0;
}
