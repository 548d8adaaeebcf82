/*
 * sink_unixgram.c - unixgram:PATH destination (AF_UNIX, SOCK_DGRAM).
 *
 * One payload per datagram, sent with sendmmsg and MSG_DONTWAIT (dgram.c);
 * when the receiver's queue is full we wait for POLLOUT up to wait_ms per
 * poll and then count the drop. A datagram never exceeds the socket's own
 * limit (SO_SNDBUF - 32: larger sends fail with EMSGSIZE), which is also
 * the default max_bytes; a larger max_bytes is lowered to it.
 * A missing or restarted receiver is not fatal: we reconnect at the end of
 * a poll, with a backoff doubling from 100 ms to 5 s, and count what could
 * not be sent meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dgram.h"
#include "sink.h"
#include "sink_url.h"

#define BACKOFF_MIN_NS (100ull * 1000000ull)
#define BACKOFF_MAX_NS (5000ull * 1000000ull)

struct ugram {
	struct dgram d;
	struct sockaddr_un addr;
	uint64_t next_try_ns;
	uint64_t backoff_ns;
	int connect_err;
};

/* Connects a fresh socket; 0, or -errno (and schedules the next try). */
static int ugram_connect(struct ugram *g)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd >= 0 &&
	    connect(fd, (struct sockaddr *)&g->addr, sizeof(g->addr)) == 0) {
		g->d.fd = fd;
		g->backoff_ns = 0;
		g->connect_err = 0;
		return 0;
	}
	g->connect_err = errno;
	if (fd >= 0)
		close(fd);
	g->backoff_ns = g->backoff_ns ? g->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (g->backoff_ns > BACKOFF_MAX_NS)
		g->backoff_ns = BACKOFF_MAX_NS;
	g->next_try_ns = dgram_now_ns() + g->backoff_ns;
	return -g->connect_err;
}

/* The largest datagram this socket may send. */
static uint32_t socket_limit(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int sz = 0;
	socklen_t len = sizeof(sz);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, &len) < 0)
		sz = 65536 + 32;
	if (fd >= 0)
		close(fd);
	return sz > 32 + 64 ? (uint32_t)sz - 32 : 64;
}

static int ugram_parse(struct sink_url *u, char *err, size_t errlen)
{
	int rc = sink_url_take_path(u, SINK_URL_TARGET_MAX, err, errlen);

	return rc ? rc
		  : sink_url_take_limits(u, SINK_MAX_BYTES_LIMIT, err, errlen);
}

static int ugram_open(struct sink *s, const struct sink_url *u, char *err,
		      size_t errlen)
{
	struct ugram *g = calloc(1, sizeof(*g));
	uint32_t limit = socket_limit();
	uint32_t max =
		u->max_bytes && u->max_bytes < limit ? u->max_bytes : limit;
	int rc;

	if (!g)
		return -ENOMEM;
	rc = dgram_init(&g->d, s, max, u->max_rows, u->wait_ms,
			DGRAM_F_LOCAL_PEER);
	if (rc < 0) {
		free(g);
		return rc;
	}
	g->addr.sun_family = AF_UNIX;
	memcpy(g->addr.sun_path, u->path, strlen(u->path) + 1);
	if (ugram_connect(g) < 0)
		/* startup, not the hot path: say once why nothing arrives */
		fprintf(stderr,
			"tcpscope: %s: not connected yet (%s); "
			"retrying\n",
			s->name, strerror(g->connect_err));
	(void)err;
	(void)errlen;
	s->priv = g;
	s->batch = &g->d.b;
	return 0;
}

static int ugram_flush(struct sink *s)
{
	struct ugram *g = s->priv;
	uint64_t dropped = s->st.dropped, lost = g->d.lost_peer;

	if (g->d.fd < 0 && dgram_now_ns() >= g->next_try_ns &&
	    ugram_connect(g) < 0)
		s->st.errors++;
	batch_flush(&g->d.b);
	dgram_poll_done(&g->d);
	if (g->d.lost_peer != lost) /* retry right away, then back off */
		g->next_try_ns = 0;
	if (s->st.dropped != dropped)
		sink_log_limited(s, "records dropped: %s",
				 g->d.fd < 0	 ? strerror(g->connect_err
								    ? g->connect_err
								    : ECONNREFUSED)
				 : g->d.last_err ? strerror(g->d.last_err)
						 : "send failed");
	g->d.last_err = 0;
	return s->st.dropped != dropped ? -EIO : 0;
}

static void ugram_release(struct sink *s)
{
	struct ugram *g = s->priv;

	if (!g)
		return;
	batch_flush(&g->d.b); /* sends, or counts the drop */
	dgram_release(&g->d);
	free(g);
}

const struct sink_ops sink_unixgram_ops = {
	.scheme = "unixgram",
	.form = "unixgram:PATH",
	.options = "max_bytes, max_rows, wait_ms",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.parse = ugram_parse,
	.open = ugram_open,
	.flush = ugram_flush,
	.release = ugram_release,
};
