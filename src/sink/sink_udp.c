/*
 * sink_udp.c - udp://HOST:PORT destination.
 *
 * The host is resolved once at startup (names, IPv4 and [IPv6] literals):
 * a name that does not exist is bad input (-EINVAL), a resolver that
 * cannot answer a runtime failure (-EAGAIN and others), with its message;
 * the socket is connected, so a datagram is one sendmmsg entry with no
 * address, and the kernel reports ICMP errors back to us: each report on
 * the socket's error queue (IP_RECVERR) is counted as an error. A record
 * counted as sent was accepted by the kernel; whether the peer got it,
 * UDP does not say (a closed port shows as errors, not as drops). A
 * datagram is at most max_bytes (default and ceiling 65507, the IPv4 UDP
 * maximum, used for IPv6 as well so one setting fits both).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dgram.h"
#include "resolve.h"
#include "sink.h"
#include "sink_url.h"

/* Enough for a poll's burst of datagrams: sends never wait on loopback. */
#define UDP_SNDBUF (4 * 1024 * 1024)

/* ICMP errors of the peer's host (port unreachable...) come back on the
 * error queue, one report per datagram, instead of only as the pending
 * error that refuses the next send (which sendmmsg then loses). */
static int want_icmp(int fd, int family)
{
	int one = 1;

	return setsockopt(fd, family == AF_INET6 ? SOL_IPV6 : SOL_IP,
			  family == AF_INET6 ? IPV6_RECVERR : IP_RECVERR, &one,
			  sizeof(one)) == 0;
}

/* The connected socket, or -errno; *recverr: ICMP reports are queued. */
static int udp_connect(const struct sink_url *u, char *err, size_t errlen,
		       int *recverr)
{
	struct addrinfo *res, *ai;
	int fd = -1, rc, saved = 0;

	rc = sink_resolve(u->host, u->port, SOCK_DGRAM, &res, err, errlen);
	if (rc < 0)
		return rc;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			*recverr = want_icmp(fd, ai->ai_family);
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to %s port %s: %s",
			 u->host, u->port, strerror(saved));
		return -(saved ? saved : EHOSTUNREACH);
	}
	int sz = UDP_SNDBUF;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}

static int udp_parse(struct sink_url *u, char *err, size_t errlen)
{
	int rc = sink_url_take_hostport(u, NULL, err, errlen);

	return rc ? rc
		  : sink_url_take_limits(u, SINK_UDP_MAX_BYTES, err, errlen);
}

static int udp_open(struct sink *s, const struct sink_url *u, char *err,
		    size_t errlen)
{
	struct dgram *d = malloc(sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	rc = dgram_init(d, s, u->max_bytes ? u->max_bytes : SINK_UDP_MAX_BYTES,
			u->max_rows, u->wait_ms, 0);
	if (rc == 0) {
		rc = udp_connect(u, err, errlen, &d->recverr);
		d->fd = rc;
	}
	if (rc < 0) {
		dgram_release(d);
		free(d);
		return rc;
	}
	s->priv = d;
	s->batch = &d->b;
	return 0;
}

static int udp_flush(struct sink *s)
{
	struct dgram *d = s->priv;
	uint64_t dropped = s->st.dropped, icmp = d->icmp_errors;

	batch_flush(&d->b);
	/* the reports for this poll's last datagrams (or late ones) */
	(void)dgram_read_icmp(d, NULL, 0);
	dgram_poll_done(d);
	if (s->st.dropped != dropped && d->last_err)
		sink_log_limited(s, "datagrams dropped: %s",
				 strerror(d->last_err));
	else if (d->icmp_errors != icmp)
		sink_log_limited(s,
				 "%llu datagram(s) sent but refused by the "
				 "peer's host: %s",
				 (unsigned long long)(d->icmp_errors - icmp),
				 strerror(d->last_err));
	d->last_err = 0;
	return s->st.dropped != dropped ? -EIO : 0;
}

static void udp_release(struct sink *s)
{
	struct dgram *d = s->priv;

	if (!d)
		return;
	batch_flush(&d->b);
	dgram_release(d);
	free(d);
}

const struct sink_ops sink_udp_ops = {
	.scheme = "udp",
	.form = "udp://HOST:PORT",
	.options = "max_bytes, max_rows, wait_ms",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.parse = udp_parse,
	.open = udp_open,
	.flush = udp_flush,
	.release = udp_release,
};
