/*
 * sink_redis.c - redis://[[USER]:PASSWORD@]HOST:PORT/KEY, and valkey://,
 * the same protocol: one destination under two schemes.
 *
 * Each payload of the batch is one command, its bytes one binary-safe
 * argument: XADD KEY MAXLEN ~ N * data PAYLOAD (mode=xadd, the default:
 * the stream keeps about the last N entries) or PUBLISH KEY PAYLOAD
 * (mode=publish: only the subscribers of that moment get it). hiredis
 * (0.14) formats the commands and parses the replies; the non-blocking
 * socket is driven here: the commands are pipelined as the batch emits
 * them, and at the end of a poll (flush) the rest is written and the
 * replies are read, every wait through ts_wait_fd() and all the waits of
 * a poll within wait_ms.
 * A record counts as sent once the reply to its command came (an error
 * reply: dropped as "failed"); until then it is queued (st.queued).
 * Replies that are late stay owed on the same connection and are read at
 * the next flush: a server that pauses (SIGSTOP, a slow fork) costs a
 * poll at most wait_ms, and what it answers later is counted as sent, not
 * lost (dropping the connection instead would count records as lost that
 * the server then stores). What is owed is bounded by `buffer` bytes of
 * commands, hiredis's output buffer included (and buffer/128 commands): a
 * payload that does not fit within the poll's wait is dropped as "queue
 * full". After a connection error (EOF, an I/O or protocol error, AUTH
 * refused) the connection is dropped, the records it owed are counted as
 * dropped, and a new one is tried at a later flush, with a backoff
 * doubling from 100 ms to 5 s. The host is resolved once at startup; a
 * server that is down then is no startup failure: tcpscope says so and
 * delivers once it is back. AUTH, when the URL has a password, is the
 * first command of every connection, pipelined with the data.
 * SIGPIPE: hiredis writes with write(2); main() ignores SIGPIPE.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/stop.h"
#include "../util/timeutil.h"
#include "batch.h"
#include "resolve.h"
#include "sink.h"
#include "sink_url.h"

#define REDIS_MAX_BYTES	 (64u << 10) /* one entry */
#define REDIS_MAX_ROWS	 1000
#define REDIS_WAIT_MS	 1000
#define REDIS_BUFFER	 (4u << 20) /* bytes of commands owed */
#define REDIS_MAXLEN	 100000
#define REDIS_MAXLEN_MAX 1000000000u
#define REDIS_ARENA	 (512u << 10)
#define REDIS_MAXPL	 64
#define BACKOFF_MIN_NS	 (100ull * 1000000ull)
#define BACKOFF_MAX_NS	 (5000ull * 1000000ull)
#define CMD_AUTH	 UINT32_MAX /* rows of the AUTH command */
#define CMD_FRAME	 96 /* RESP framing of a command, its KEY aside */

/* What parse() keeps in sink_url.cfg. */
struct redis_cfg {
	char user[128], pass[256]; /* percent-decoded; pass "": no AUTH */
	char key[512];
	size_t keylen;
	uint32_t maxlen;
	int publish;
};
_Static_assert(sizeof(struct redis_cfg) <= SINK_URL_CFG_MAX, "cfg size");

/* Since the last flush, for its log line. */
struct rlog {
	uint64_t lost;	  /* connections that had answered */
	uint64_t failed;  /* connections that never answered */
	uint64_t refused; /* error replies */
	uint64_t nobody;  /* PUBLISH that reached no subscriber */
};

/* A pipelined command awaiting its reply. */
struct rcmd {
	uint32_t rows;	/* CMD_AUTH: the AUTH command */
	uint32_t len;	/* of the command, as written */
	uint32_t bytes; /* of the payload */
};

struct rsink {
	struct sink *s;
	struct redis_cfg cfg;
	struct sockaddr_storage sa; /* resolved once: reconnects do not */
	socklen_t salen;
	char maxlen[16];
	redisContext *c; /* NULL: not connected */
	int answered;	 /* this connection has given a reply */
	uint64_t budget_ns, waited_ns;
	uint64_t next_try_ns, backoff_ns;
	size_t buffer, owed; /* bytes of commands owed a reply: bound, now */
	struct rcmd *q;	     /* ring of the commands owed a reply */
	unsigned qcap, qfirst, qn;
	struct rlog log;
	char why[160];	   /* the last connection error */
	char refusal[160]; /* the last error reply */
	struct batch b;
	char rbuf[64 << 10];
};

/* --- URL --------------------------------------------------------------- */

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* [p, p + n) with %XX decoded into out[cap]; its length, or -1. */
static long pct_decode(const char *p, size_t n, char *out, size_t cap)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++, len++) {
		char ch = p[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval(p[i + 1]), lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			ch = (char)(hi << 4 | lo);
			i += 2;
		}
		if (len + 1 >= cap)
			return -1;
		out[len] = ch;
	}
	out[len] = '\0';
	return (long)len;
}

/* "//[[USER]:PASSWORD@]HOST:PORT/KEY": the credentials into c, and cut
 * out of u->target for sink_url_take_hostport(). */
static int take_userinfo(struct sink_url *u, struct redis_cfg *c, char *err,
			 size_t errlen)
{
	char *a = u->target + 2, *at, *colon;
	size_t alen;

	if (strncmp(u->target, "//", 2) != 0)
		return 0; /* sink_url_take_hostport() says what is expected */
	alen = strcspn(a, "/");
	at = memrchr(a, '@', alen);
	if (!at)
		return 0;
	colon = memchr(a, ':', (size_t)(at - a));
	if (!colon)
		return sink_url_fail(u, err, errlen,
				     "credentials are [USER]:PASSWORD@");
	if (pct_decode(a, (size_t)(colon - a), c->user, sizeof(c->user)) < 0 ||
	    pct_decode(colon + 1, (size_t)(at - colon - 1), c->pass,
		       sizeof(c->pass)) <= 0)
		return sink_url_fail(u, err, errlen,
				     "bad or empty user or password (at most "
				     "127 and 255 bytes; %%XX escapes)");
	memmove(a, at + 1, strlen(at + 1) + 1);
	return 0;
}

/* mode=, maxlen=, and the limits every destination takes. */
static int take_options(struct sink_url *u, struct redis_cfg *c, char *err,
			size_t errlen)
{
	const char *mode = sink_url_take(u, "mode");
	uint32_t maxlen = 0;
	uint32_t buffer;

	if (mode && strcmp(mode, "publish") == 0)
		c->publish = 1;
	else if (mode && strcmp(mode, "xadd") != 0)
		return sink_url_fail(u, err, errlen,
				     "mode must be xadd or publish");
	if (sink_url_take_u32(u, "maxlen", 1, REDIS_MAXLEN_MAX, &maxlen, err,
			      errlen) < 0 ||
	    sink_url_take_limits(u, SINK_MAX_BYTES_LIMIT, err, errlen) < 0 ||
	    sink_url_take_u32(u, "buffer", 4096, SINK_MAX_BYTES_LIMIT,
			      &u->buffer, err, errlen) < 0)
		return -EINVAL;
	if (maxlen && c->publish)
		return sink_url_fail(u, err, errlen,
				     "maxlen is for mode=xadd (a channel keeps "
				     "nothing)");
	c->maxlen = maxlen ? maxlen : REDIS_MAXLEN;
	buffer = u->buffer ? u->buffer : REDIS_BUFFER;
	if ((u->max_bytes ? u->max_bytes : REDIS_MAX_BYTES) > buffer)
		return sink_url_fail(u, err, errlen,
				     "max_bytes exceeds buffer");
	return 0;
}

static int redis_parse(struct sink_url *u, char *err, size_t errlen)
{
	struct redis_cfg c = { 0 };
	const char *rest;
	long n;

	if (take_userinfo(u, &c, err, errlen) < 0)
		return -EINVAL;
	if (sink_url_take_hostport(u, &rest, err, errlen) < 0)
		return -EINVAL;
	if (*rest != '/' || !rest[1])
		return sink_url_fail(u, err, errlen,
				     "missing /KEY (the stream or channel)");
	n = pct_decode(rest + 1, strlen(rest + 1), c.key, sizeof(c.key));
	if (n < 0)
		return sink_url_fail(
			u, err, errlen,
			"bad KEY (at most 511 bytes; %%XX escapes)");
	c.keylen = (size_t)n;
	if (take_options(u, &c, err, errlen) < 0)
		return -EINVAL;
	memcpy(u->cfg, &c, sizeof(c));
	return 0;
}

/* --- the connection ---------------------------------------------------- */

static void schedule_retry(struct rsink *r)
{
	r->backoff_ns = r->backoff_ns ? r->backoff_ns * 2 : BACKOFF_MIN_NS;
	if (r->backoff_ns > BACKOFF_MAX_NS)
		r->backoff_ns = BACKOFF_MAX_NS;
	r->next_try_ns = ts_now_ns(CLOCK_MONOTONIC) + r->backoff_ns;
}

/* The oldest owed command is done: delivered (1), refused by the server
 * (0), or lost with -errno (counted by sink_drop_reason()). */
static void pop(struct rsink *r, int outcome)
{
	struct rcmd *q = &r->q[r->qfirst];
	struct sink *s = r->s;

	if (q->rows != CMD_AUTH) {
		s->st.queued -= q->rows;
		if (outcome > 0) {
			s->st.records += q->rows;
			s->st.bytes += q->bytes;
		} else {
			sink_drop(s,
				  outcome == 0 ? SINK_DROP_FAILED
					       : sink_drop_reason(-outcome),
				  q->rows);
		}
	}
	r->owed -= q->len;
	r->qfirst = (r->qfirst + 1) % r->qcap;
	r->qn--;
}

/* The connection is given up: what it owed is dropped; a new one is
 * tried after the backoff. why: NULL keeps r->why. */
static void lose(struct rsink *r, const char *why)
{
	if (why)
		snprintf(r->why, sizeof(r->why), "%s", why);
	if (r->answered)
		r->log.lost++;
	else
		r->log.failed++;
	r->s->st.errors++;
	redisFree(r->c);
	r->c = NULL;
	while (r->qn)
		pop(r, -EIO);
	schedule_retry(r);
}

/* Appends one command; 0, or -ENOMEM (nothing appended). */
static int append(struct rsink *r, int argc, const char **argv,
		  const size_t *argvlen, uint32_t rows, uint32_t bytes)
{
	size_t before = sdslen(r->c->obuf);

	if (redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK)
		return -ENOMEM;
	r->q[(r->qfirst + r->qn) % r->qcap] =
		(struct rcmd){ rows, (uint32_t)(sdslen(r->c->obuf) - before),
			       bytes };
	r->owed += r->q[(r->qfirst + r->qn) % r->qcap].len;
	r->qn++;
	return 0;
}

/* A non-blocking connect to the address resolved at startup, handed to
 * hiredis (redisConnectNonBlock() would look the host up again, and a
 * resolver may wait: the poll thread must not); NULL with r->why set. */
static redisContext *dial(struct rsink *r)
{
	int fd = socket(r->sa.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	redisContext *c;

	if (fd < 0 || (connect(fd, (struct sockaddr *)&r->sa, r->salen) < 0 &&
		       errno != EINPROGRESS)) {
		snprintf(r->why, sizeof(r->why), "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = redisConnectFd(fd);
	if (!c) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		close(fd);
		return NULL;
	}
	c->flags &= ~REDIS_BLOCK; /* EAGAIN means "later", not an error */
	return c;
}

/* Connects when not connected and a try is due (the connection completes
 * while the commands wait in hiredis's buffer); AUTH goes first. 0 when
 * connected (or connecting). */
static int ensure_connected(struct rsink *r)
{
	const char *argv[3] = { "AUTH" };
	size_t argvlen[3] = { 4 };
	int argc = 1;

	if (r->c)
		return 0;
	if (ts_now_ns(CLOCK_MONOTONIC) < r->next_try_ns)
		return -ENOTCONN;
	r->c = dial(r);
	r->answered = 0;
	if (!r->c) {
		lose(r, NULL);
		return -ENOTCONN;
	}
	if (!r->cfg.pass[0])
		return 0;
	if (r->cfg.user[0]) {
		argv[argc] = r->cfg.user;
		argvlen[argc++] = strlen(r->cfg.user);
	}
	argv[argc] = r->cfg.pass;
	argvlen[argc++] = strlen(r->cfg.pass);
	if (append(r, argc, argv, argvlen, CMD_AUTH, 0) < 0) {
		lose(r, "out of memory");
		return -ENOTCONN;
	}
	return 0;
}

/* One reply, for the oldest owed command; -1: the connection is no good
 * (AUTH refused, a reply nobody asked for). */
static int answer(struct rsink *r, const redisReply *y)
{
	int refused = y->type == REDIS_REPLY_ERROR;

	if (!r->qn) {
		snprintf(r->why, sizeof(r->why), "a reply nobody asked for");
		return -1;
	}
	if (r->q[r->qfirst].rows == CMD_AUTH && refused) {
		snprintf(r->why, sizeof(r->why),
			 "authentication refused: %.100s", y->str);
		pop(r, 0);
		return -1;
	}
	if (refused) {
		r->log.refused++;
		r->s->st.errors++;
		snprintf(r->refusal, sizeof(r->refusal), "%.150s", y->str);
	} else {
		r->backoff_ns = 0;
		r->log.nobody += r->cfg.publish &&
				 y->type == REDIS_REPLY_INTEGER &&
				 y->integer == 0;
	}
	r->answered = 1;
	pop(r, !refused);
	return 0;
}

/* The replies the reader holds; -1 with r->why set when the connection
 * is no good. */
static int take_replies(struct rsink *r)
{
	for (;;) {
		void *y = NULL;
		int rc;
		if (redisGetReplyFromReader(r->c, &y) != REDIS_OK) {
			snprintf(r->why, sizeof(r->why), "%s", r->c->errstr);
			return -1;
		}
		if (!y)
			return 0;
		rc = answer(r, y);
		freeReplyObject(y);
		if (rc < 0)
			return -1;
	}
}

/* Writes what hiredis holds and reads what came, without waiting. 0, or
 * -ENOTCONN: the connection was lost (and counted). */
static int pump(struct rsink *r)
{
	redisContext *c = r->c;

	while (sdslen(c->obuf)) {
		size_t before = sdslen(c->obuf);
		if (redisBufferWrite(c, NULL) != REDIS_OK) {
			lose(r, c->errstr);
			return -ENOTCONN;
		}
		if (sdslen(c->obuf) == before)
			break; /* the socket is full (or still connecting) */
	}
	for (;;) {
		ssize_t n = read(c->fd, r->rbuf, sizeof(r->rbuf));
		if (n > 0 && (redisReaderFeed(c->reader, r->rbuf, (size_t)n) !=
				      REDIS_OK ||
			      take_replies(r) < 0)) {
			lose(r, c->reader->err ? c->reader->errstr : NULL);
			return -ENOTCONN;
		}
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		lose(r, n == 0 ? "the server closed the connection"
			       : strerror(errno));
		return -ENOTCONN;
	}
}

static int fits(const struct rsink *r, size_t need)
{
	return r->owed + need <= r->buffer && r->qn + 1 < r->qcap;
}

/* Writes and reads, waiting within the poll's budget (ts_wait_fd: a stop
 * request cuts the wait, the exit deadline clips it), until `need` bytes
 * fit among the owed commands (SIZE_MAX: until nothing is owed). 0, or
 * why not: -ENOTCONN, -ETIMEDOUT, -ECANCELED, -errno. */
static int settle(struct rsink *r, size_t need)
{
	for (;;) {
		int rc;
		if (!r->c)
			return -ENOTCONN;
		rc = pump(r);
		if (rc < 0)
			return rc;
		if (need == SIZE_MAX ? r->qn == 0 : fits(r, need))
			return 0;
		rc = ts_wait_fd(r->c->fd,
				POLLIN | (sdslen(r->c->obuf) ? POLLOUT : 0),
				r->budget_ns, &r->waited_ns);
		if (rc < 0)
			return rc;
	}
}

/* --- the sink ---------------------------------------------------------- */

static void send_payload(struct rsink *r, const struct batch_payload *p)
{
	const struct redis_cfg *c = &r->cfg;
	const char *argv[8] = { "XADD",	   c->key, "MAXLEN", "~",
				r->maxlen, "*",	   "data" };
	size_t argvlen[8] = { 4, c->keylen, 6, 1, strlen(r->maxlen), 1, 4 };
	size_t need = p->len + c->keylen + CMD_FRAME;
	int argc = 8;

	if (c->publish) {
		argv[0] = "PUBLISH";
		argvlen[0] = 7;
		argc = 3;
	}
	argv[argc - 1] = (const char *)p->data;
	argvlen[argc - 1] = p->len;
	if (ensure_connected(r) < 0) {
		sink_drop(r->s, sink_drop_reason(ENOTCONN), p->rows);
		return;
	}
	if (!fits(r, need))
		(void)settle(r, need);
	if (!r->c)
		sink_drop(r->s, sink_drop_reason(ENOTCONN), p->rows);
	else if (!fits(r, need) ||
		 append(r, argc, argv, argvlen, p->rows, (uint32_t)p->len) < 0)
		sink_drop(r->s, SINK_DROP_QUEUE_FULL, p->rows);
	else
		r->s->st.queued += p->rows;
}

static void redis_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct rsink *r = ctx;

	for (unsigned i = 0; i < n; i++)
		send_payload(r, &p[i]);
	if (r->c)
		(void)pump(r);
}

/* The URL's host, resolved once (its first address). */
static int resolve(struct rsink *r, const struct sink_url *u, char *err,
		   size_t errlen)
{
	struct addrinfo *res;
	int rc = sink_resolve(u->host, u->port, SOCK_STREAM, &res, err, errlen);

	if (rc < 0)
		return rc;
	memcpy(&r->sa, res->ai_addr, res->ai_addrlen);
	r->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void rsink_free(struct rsink *r)
{
	redisFree(r->c);
	batch_release(&r->b);
	free(r->q);
	free(r);
}

static int redis_open(struct sink *s, const struct sink_url *u, char *err,
		      size_t errlen)
{
	struct rsink *r = calloc(1, sizeof(*r));
	uint32_t max_bytes = u->max_bytes ? u->max_bytes : REDIS_MAX_BYTES;
	size_t frame;
	int rc;

	if (!r)
		return -ENOMEM;
	r->s = s;
	memcpy(&r->cfg, u->cfg, sizeof(r->cfg));
	snprintf(r->maxlen, sizeof(r->maxlen), "%u", r->cfg.maxlen);
	r->buffer = u->buffer ? u->buffer : REDIS_BUFFER;
	r->qcap = (unsigned)(r->buffer / 128) + 16;
	r->budget_ns = (uint64_t)(u->wait_ms < 0 ? REDIS_WAIT_MS : u->wait_ms) *
		       1000000ull;
	/* a whole payload fits the bound, with its framing and an AUTH */
	frame = r->cfg.keylen + CMD_FRAME + strlen(r->cfg.user) +
		strlen(r->cfg.pass) + CMD_FRAME;
	if (max_bytes + frame > r->buffer)
		max_bytes = (uint32_t)(r->buffer - frame);
	r->q = calloc(r->qcap, sizeof(*r->q));
	rc = r->q ? resolve(r, u, err, errlen) : -ENOMEM;
	if (rc == 0)
		rc = batch_init(&r->b, s->format, max_bytes,
				u->max_rows ? u->max_rows : REDIS_MAX_ROWS,
				REDIS_ARENA, REDIS_MAXPL, redis_emit, r);
	if (rc < 0) {
		rsink_free(r);
		return rc;
	}
	s->priv = r;
	s->batch = &r->b;
	if (ensure_connected(r) < 0)
		/* startup, not the hot path: say once why nothing arrives */
		sink_log_limited(s, "not connected yet (%s); retrying", r->why);
	return 0;
}

/* One line about what went wrong since `b` (rate-limited). */
static void say(struct rsink *r, const struct rlog *b, uint64_t dropped)
{
	struct sink *s = r->s;
	const struct rlog *l = &r->log;

	if (l->refused != b->refused)
		sink_log_limited(s, "%llu entries refused by the server (%s)%s",
				 (unsigned long long)(l->refused - b->refused),
				 r->refusal,
				 l->lost != b->lost ? "; connection lost" : "");
	else if (l->lost != b->lost)
		sink_log_limited(s, "connection lost (%s); reconnecting",
				 r->why);
	else if (l->failed != b->failed)
		sink_log_limited(s, "cannot connect (%s); retrying", r->why);
	else if (s->st.dropped != dropped && !r->c)
		sink_log_limited(s, "records dropped: not connected (%s)",
				 r->why);
	else if (s->st.dropped != dropped)
		sink_log_limited(s,
				 "records dropped: the server has not "
				 "answered %u commands (%zu bytes, buffer=%zu)",
				 r->qn, r->owed, r->buffer);
	else if (r->qn)
		sink_log_limited(s,
				 "the server has not answered %u commands "
				 "within wait_ms; their records stay queued",
				 r->qn);
	else if (l->nobody != b->nobody)
		sink_log_limited(s,
				 "%llu messages published to no subscriber "
				 "(a channel keeps nothing)",
				 (unsigned long long)(l->nobody - b->nobody));
}

static int redis_flush(struct sink *s)
{
	struct rsink *r = s->priv;
	struct rlog before = r->log;
	uint64_t dropped = s->st.dropped;

	batch_flush(&r->b);
	if (r->c && r->qn)
		(void)settle(r, SIZE_MAX);
	r->waited_ns = 0;
	say(r, &before, dropped);
	return s->st.dropped != dropped ? -EIO : 0;
}

/* At exit: the owed replies have until the one exit deadline
 * (ts_stop_exit_begin) instead of wait_ms; what is owed then is dropped
 * (the server may still store it). */
static int redis_finish(struct sink *s)
{
	struct rsink *r = s->priv;
	uint64_t budget = r->budget_ns;

	r->budget_ns = (uint64_t)SINK_EXIT_MAX_MS * 1000000ull;
	r->waited_ns = 0;
	batch_flush(&r->b);
	if (r->c && r->qn)
		(void)settle(r, SIZE_MAX);
	while (r->qn)
		pop(r, -ETIMEDOUT);
	r->budget_ns = budget;
	r->waited_ns = 0;
	return 0;
}

static void redis_release(struct sink *s)
{
	struct rsink *r = s->priv;

	if (!r)
		return;
	/* no waits: finish() had its chance; what is left is counted */
	r->budget_ns = 0;
	batch_flush(&r->b);
	while (r->qn)
		pop(r, -ETIMEDOUT);
	rsink_free(r);
}

/* Valkey speaks the same protocol: one destination, two schemes. */
#define REDIS_OPS(SCHEME)                                                      \
	{                                                                      \
		.scheme = SCHEME, .form = SCHEME "://HOST:PORT/KEY",           \
		.options = "mode, maxlen, max_bytes, max_rows, wait_ms, "      \
			   "buffer",                                           \
		.default_format = SINK_FMT_PROTOBUF_LIST,                      \
		.flags = SINK_F_OWN_IO, .parse = redis_parse,                  \
		.open = redis_open, .flush = redis_flush,                      \
		.finish = redis_finish, .release = redis_release,              \
	}

const struct sink_ops sink_redis_ops = REDIS_OPS("redis");
const struct sink_ops sink_valkey_ops = REDIS_OPS("valkey");
