/* ns_open.c - the namespace-opener thread and nsid lookup (see ns_open.h). */
#include "ns_open.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/net_namespace.h>
#include <linux/nsfs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../netlink/nl_sock.h"

struct ns_opener {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int self_fd; /* the namespace the thread returns to */
	struct stat self_st;
	int lost; /* setns back failed: the thread is in a foreign ns */
	int stopping;
	/* the one request in flight */
	int pending;
	int nsfd;
	uint32_t groups; /* 0: a dump socket, else a listening one */
	int rcvbuf;
	int rc;
	int sock;
	uint32_t portid;
};

/* The socket the request asks for, in the thread's namespace now. */
static int open_here(const struct ns_opener *o, int *sock, uint32_t *portid)
{
	if (o->groups)
		return nl_sock_open_mcast(o->groups, o->rcvbuf, sock);
	return nl_sock_open(sock, portid);
}

static int open_in(struct ns_opener *o, int nsfd, int *sock, uint32_t *portid)
{
	int rc;

	struct stat st;

	if (o->lost)
		return -ENOTRECOVERABLE;
	/* our own namespace needs no setns, which needs CAP_SYS_ADMIN: an
	 * unprivileged tcpscope still sees its own sockets */
	if (fstat(nsfd, &st) == 0 && st.st_dev == o->self_st.st_dev &&
	    st.st_ino == o->self_st.st_ino)
		return open_here(o, sock, portid);
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return -errno;
	rc = open_here(o, sock, portid);
	if (setns(o->self_fd, CLONE_NEWNET) < 0) {
		rc = -errno;
		o->lost = 1;
		/* the socket may be fine, but we can no longer prove which
		 * namespace later sockets land in: refuse them all */
		if (*sock >= 0)
			close(*sock);
		return rc;
	}
	return rc;
}

static void *opener_main(void *arg)
{
	struct ns_opener *o = arg;

	pthread_mutex_lock(&o->lock);
	for (;;) {
		while (!o->pending && !o->stopping)
			pthread_cond_wait(&o->cond, &o->lock);
		if (o->stopping)
			break;
		o->sock = -1;
		o->rc = open_in(o, o->nsfd, &o->sock, &o->portid);
		o->pending = 0;
		pthread_cond_broadcast(&o->cond);
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

int ns_opener_new(struct ns_opener **out)
{
	struct ns_opener *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return -ENOMEM;
	o->self_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (o->self_fd < 0 || fstat(o->self_fd, &o->self_st) < 0) {
		rc = -errno;
		if (o->self_fd >= 0)
			close(o->self_fd);
		free(o);
		return rc;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->cond, NULL);
	rc = -pthread_create(&o->thread, NULL, opener_main, o);
	if (rc < 0) {
		close(o->self_fd);
		free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void ns_opener_free(struct ns_opener *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->stopping = 1;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->lock);
	pthread_join(o->thread, NULL);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->cond);
	close(o->self_fd);
	free(o);
}

static int request(struct ns_opener *o, int nsfd, uint32_t groups, int rcvbuf,
		   int *sock_out, uint32_t *portid_out)
{
	int rc;

	pthread_mutex_lock(&o->lock);
	while (o->pending)
		pthread_cond_wait(&o->cond, &o->lock);
	o->nsfd = nsfd;
	o->groups = groups;
	o->rcvbuf = rcvbuf;
	o->portid = 0;
	o->pending = 1;
	pthread_cond_broadcast(&o->cond);
	while (o->pending)
		pthread_cond_wait(&o->cond, &o->lock);
	rc = o->rc;
	if (rc == 0) {
		*sock_out = o->sock;
		*portid_out = o->portid;
	}
	pthread_mutex_unlock(&o->lock);
	return rc;
}

int ns_opener_socket(struct ns_opener *o, int nsfd, int *sock_out,
		     uint32_t *portid_out)
{
	return request(o, nsfd, 0, 0, sock_out, portid_out);
}

int ns_opener_mcast(struct ns_opener *o, int nsfd, uint32_t groups, int rcvbuf,
		    int *sock_out)
{
	uint32_t portid;

	if (!groups)
		return -EINVAL;
	return request(o, nsfd, groups, rcvbuf, sock_out, &portid);
}

int ns_rtnl_open(int *fd_out)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	*fd_out = fd;
	return 0;
}

int ns_nsid(int rtnl_fd, int nsfd, uint32_t *nsid_out)
{
	struct {
		struct nlmsghdr n;
		struct rtgenmsg g;
		char pad[3];
		struct rtattr a;
		uint32_t fd;
	} req;
	union {
		struct nlmsghdr n;
		char buf[512];
	} resp;
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	ssize_t len;

	memset(&req, 0, sizeof(req));
	req.n.nlmsg_len = sizeof(req);
	req.n.nlmsg_type = RTM_GETNSID;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = (uint32_t)nsfd;
	req.g.rtgen_family = AF_UNSPEC;
	req.a.rta_len = RTA_LENGTH(sizeof(uint32_t));
	req.a.rta_type = NETNSA_FD;
	req.fd = (uint32_t)nsfd;
	if (sendto(rtnl_fd, &req, sizeof(req), 0, (struct sockaddr *)&k,
		   sizeof(k)) < 0)
		return -errno;
	len = recv(rtnl_fd, &resp, sizeof(resp), 0);
	if (len < 0)
		return -errno;
	if ((size_t)len < sizeof(resp.n) || resp.n.nlmsg_len > (size_t)len)
		return -EBADMSG;
	if (resp.n.nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(&resp.n);
		return resp.n.nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error
			       ? e->error
			       : -EBADMSG;
	}
	if (resp.n.nlmsg_type != RTM_NEWNSID)
		return -EBADMSG;
	size_t off = NLMSG_LENGTH(sizeof(struct rtgenmsg));
	off = NLMSG_ALIGN(off);
	while (off + sizeof(struct rtattr) <= resp.n.nlmsg_len) {
		struct rtattr *a = (struct rtattr *)(resp.buf + off);
		if (a->rta_len < sizeof(*a) ||
		    off + a->rta_len > resp.n.nlmsg_len)
			return -EBADMSG;
		if (a->rta_type == NETNSA_NSID && a->rta_len >= RTA_LENGTH(4)) {
			int32_t id;
			memcpy(&id, RTA_DATA(a), sizeof(id));
			if (id < 0)
				return -ENOENT;
			*nsid_out = (uint32_t)id;
			return 0;
		}
		off += RTA_ALIGN(a->rta_len);
	}
	return -ENOENT;
}

int ns_self_user(uint64_t self_out[2])
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st) < 0)
		return -errno;
	self_out[0] = st.st_dev;
	self_out[1] = st.st_ino;
	return 0;
}

int ns_owner_rank(int nsfd, const uint64_t self[2])
{
	int ufd = ioctl(nsfd, NS_GET_USERNS);
	struct stat st;
	int rc;

	if (ufd < 0)
		return errno == EPERM ? 1 : -errno;
	rc = fstat(ufd, &st) < 0 ? -errno
				 : st.st_dev == self[0] && st.st_ino == self[1];
	close(ufd);
	return rc;
}
