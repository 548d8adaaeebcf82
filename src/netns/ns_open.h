/*
 * ns_open.h - open sock_diag sockets inside other network namespaces.
 *
 * Contract: a sock_diag socket only ever sees the namespace it was created
 * in. ns_opener runs ONE helper thread for the daemon's whole life; each
 * ns_opener_socket() call hands it a namespace fd, and the thread does
 * setns(CLONE_NEWNET) into it, socket(), then setns back. If either setns
 * fails, no socket is returned (never one opened in the wrong namespace);
 * if the way back fails, the thread is unusable and every later call
 * returns -ENOTRECOVERABLE. Calls block the caller until done. The
 * same thread opens the listening sockets of close events
 * (ns_opener_mcast()).
 * ns_nsid() asks rtnetlink (RTM_GETNSID) for the id the calling thread's
 * namespace has assigned to `nsfd`'s namespace. ns_owner_rank() tells a
 * namespace root set up from one any user can make (unshare -Urn).
 * Thread-safety: ns_opener_socket() may be called from any thread.
 */
#ifndef TS_NS_OPEN_H
#define TS_NS_OPEN_H

#include <stdint.h>

struct ns_opener;

int ns_opener_new(struct ns_opener **out);
void ns_opener_free(struct ns_opener *o);

/* 0 with *sock_out / *portid_out set, or -errno. */
int ns_opener_socket(struct ns_opener *o, int nsfd, int *sock_out,
		     uint32_t *portid_out);

/* The same for a socket that only listens to sock_diag multicast groups
 * (nl_sock_open_mcast(): close events). 0 with *sock_out set, or -errno. */
int ns_opener_mcast(struct ns_opener *o, int nsfd, uint32_t groups, int rcvbuf,
		    int *sock_out);

/* 0 and *nsid_out, -ENOENT when no id is assigned, other -errno.
 * rtnl_fd: a NETLINK_ROUTE socket (see ns_rtnl_open()). */
int ns_nsid(int rtnl_fd, int nsfd, uint32_t *nsid_out);
int ns_rtnl_open(int *fd_out);

/* dev and ino of the calling process's user namespace: 0 or -errno. */
int ns_self_user(uint64_t self_out[2]);
/* 1 when nsfd's namespace is owned by the user namespace `self` (see
 * ns_self_user()) or one outside it (NS_GET_USERNS refuses: EPERM), which
 * takes privilege there to make; 0 when owned by one inside it, which any
 * user may create; -errno when it cannot be told (no NS_GET_USERNS). */
int ns_owner_rank(int nsfd, const uint64_t self[2]);

#endif
