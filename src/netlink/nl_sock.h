/*
 * nl_sock.h - a NETLINK_SOCK_DIAG socket and its datagram I/O (syscalls).
 *
 * Contract: nl_sock_open() creates the socket in the calling thread's
 * network namespace (a sock_diag socket only ever sees its own namespace),
 * with SO_RCVBUF set and its kernel-assigned port id read back. Receives
 * always use one buffer of NL_RECV_BUF bytes: the kernel sizes later dump
 * datagrams by the largest buffer ever offered, so the size must stay
 * constant. A truncated datagram (MSG_TRUNC) is an error, never ignored.
 * Thread-safety: one thread per socket.
 */
#ifndef TS_NL_SOCK_H
#define TS_NL_SOCK_H

#include <stddef.h>
#include <stdint.h>

/* The kernel caps dump datagrams at SKB_WITH_OVERHEAD(32768); a larger
 * buffer buys nothing, a smaller one truncates. */
#define NL_RECV_BUF  32768
#define NL_SNDRCVBUF (1 << 20)

/* 0 and *fd_out / *portid_out set, or -errno. The fd is non-blocking and
 * close-on-exec. */
int nl_sock_open(int *fd_out, uint32_t *portid_out);

/* A sock_diag socket that only listens: joined to the multicast groups
 * whose bits are set in `groups` (bit g-1 for group g: SKNLGRP_*; joining
 * needs no capability, the kernel marks the groups NL_CFG_F_NONROOT_RECV),
 * with a receive buffer of `rcvbuf` bytes as the kernel counts them
 * (SO_RCVBUFFORCE when allowed, else SO_RCVBUF within net.core.rmem_max).
 * 0 and *fd_out (non-blocking, close-on-exec), or -errno. */
int nl_sock_open_mcast(uint32_t groups, int rcvbuf, int *fd_out);

/* Sends one request. 0 or -errno (EINTR retried). */
int nl_sock_send(int fd, const void *req, size_t len);

/* Receives one datagram without blocking. 0 and *len_out set; -EAGAIN when
 * none is queued; -EMSGSIZE if it was truncated; -EPROTO if it did not come
 * from the kernel; other -errno. */
int nl_sock_recv(int fd, void *buf, size_t cap, size_t *len_out);

/* Sends one dump request on a new socket of the calling thread's
 * namespace and reads the answer up to NLMSG_DONE, within timeout_ms:
 * 0 when the kernel took it, or its -errno (the request's error, e.g.
 * -EINVAL for bytecode it refuses), -ETIMEDOUT. For startup checks. */
int nl_sock_try_dump(const void *req, size_t len, int timeout_ms);

/* The checks every received datagram passes, whoever received it:
 * -EMSGSIZE when msg_flags has MSG_TRUNC, -EPROTO when the sender (an
 * address of namelen bytes, may be NULL) is not the kernel, else 0. */
int nl_sock_check(int msg_flags, const void *from, size_t namelen);

#endif
