/*
 * sink_kafka.c - kafka://HOST:PORT[,HOST:PORT...]/TOPIC destination, a
 * librdkafka producer.
 *
 * One Kafka message per payload of the batch, with no header of ours:
 * protobuf-list: exactly one varint(len) + Envelope (ClickHouse's
 * ProtobufList, as xtcp2 sends it), at most max_rows records and max_bytes
 * bytes; protobuf: one varint-prefixed record; json: one JSON object (the
 * line without its newline). Payloads are copied into librdkafka's queue
 * (RD_KAFKA_MSG_F_COPY), its row count riding along as the message's
 * opaque, so the delivery report tells how many records it settles.
 * Counts: st.queued while librdkafka holds a message; then st.records
 * when the broker acknowledged it, or a drop: "failed" (its message
 * timeout ran out, or the broker refused it), "oversize" (too large for
 * the broker), "exit" (purged at exit); one that failed while in flight
 * may still have reached the broker (Kafka cannot tell): it is counted as
 * dropped, and the line said names how many were. A message the queue cannot
 * take (queue.buffering.max.kbytes, from queue_bytes) is dropped at once as
 * "queue full", after one serving of the delivery reports (which frees the
 * room of the messages settled): the poll thread never blocks and never
 * retries in a loop. Reports and librdkafka's errors are served on the
 * calling thread (rd_kafka_poll(0)) after every emit and at every flush,
 * so each summary line is current within one poll; errors are said at
 * most every 10 s (sink_log_limited). librdkafka's own log is off unless
 * kafka.log_level= or kafka.debug= ask for it.
 * A broker that is down at startup is not an error: librdkafka connects
 * in its own threads and the messages wait in the bounded queue.
 * key=hostname|netns: the record's hostname, or "HOSTNAME/NETNS_INODE"
 * (stable while the namespace lives, even when its name changes); for
 * netns the batch is flushed when the namespace changes, so a message
 * never mixes namespaces.
 * At exit (finish): what is queued has until the one exit deadline
 * (ts_stop_exit_left_ms; a second stop request cuts it), flushed in
 * slices of 100 ms; the rest is purged and counted as "exit", and what
 * was not said yet is said then, whatever the rate limit.
 * Thread-safety: one thread at a time (the fanout's lock); librdkafka's
 * callbacks run inside rd_kafka_poll/flush on that thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "../util/stop.h"
#include "../util/timeutil.h"
#include "batch.h"
#include "sink.h"
#include "sink_url.h"

/* below the broker's default 1,000,000-byte message limit */
#define KAFKA_MAX_BYTES	  900000u
#define KAFKA_MAX_ROWS	  10000u
#define KAFKA_QUEUE_BYTES (64u << 20) /* librdkafka's own default: 1 GiB */
#define KAFKA_QUEUE_MIN	  (64u << 10)
#define KAFKA_QUEUE_MAX	  (1u << 31)
#define KAFKA_TIMEOUT_MS  30000u /* librdkafka's 5 minutes hide an outage */
#define KAFKA_TIMEOUT_MIN 100u
#define KAFKA_TIMEOUT_MAX 3600000u
/* room for the key and the record's framing under message.max.bytes */
#define KAFKA_MSG_ROOM 1024u
/* the queue's message bound: queue_bytes / this, so that librdkafka's
 * per-message overhead stays a fraction of queue_bytes */
#define KAFKA_BYTES_PER_MSG 512u
#define KAFKA_ARENA	    (256u << 10)
#define KAFKA_MAXPL	    1024
#define KAFKA_KEY_MAX	    300
#define KAFKA_BROKERS_MAX   1024
#define KAFKA_TOPIC_MAX	    249
#define KAFKA_SLICE_MS	    100

enum kafka_key { KEY_NONE, KEY_HOSTNAME, KEY_NETNS };

/* What parse() keeps in u->cfg (0 or "": not given). */
struct kafka_cfg {
	char brokers[KAFKA_BROKERS_MAX]; /* "HOST:PORT,[V6]:PORT" */
	char topic[KAFKA_TOPIC_MAX + 1];
	char compression[8];
	char acks[8];
	enum kafka_key key;
	uint32_t max_bytes; /* resolved by conf_build() */
	uint32_t max_rows;
	uint32_t queue_bytes;
	uint32_t timeout_ms;
};
_Static_assert(sizeof(struct kafka_cfg) <= SINK_URL_CFG_MAX,
	       "kafka_cfg does not fit sink_url.cfg");

struct kafka {
	struct sink *s;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	struct batch b;
	enum kafka_key key_mode;
	char key[KAFKA_KEY_MAX];
	size_t keylen;
	const char *key_host; /* the records' hostname the key was made of */
	uint64_t key_ns;
	int strip_nl; /* json: the message is the object, not the line */
	int closing;  /* release: payloads are dropped, not produced */
	/* for the log line */
	char last_error[256];
	int new_error;
	rd_kafka_resp_err_t last_failure; /* of a delivery or a produce */
	enum sink_drop last_reason;	  /* what it was counted as */
	struct sink_stats logged;	  /* the counters at the last line */
	/* of the records dropped since: in flight when they failed, so the
	 * broker may have them after all (said, not counted as sent) */
	uint64_t maybe_persisted;
};

static const char *const compressions[] = { "none", "gzip", "snappy",
					    "lz4",  "zstd", NULL };
static const char *const keys[] = { "none", "hostname", "netns", NULL };

/* Option `key` among names[]: its index into *out (absent: untouched). */
static int take_enum(struct sink_url *u, const char *key,
		     const char *const *names, int *out, char *err,
		     size_t errlen)
{
	const char *v = sink_url_take(u, key);

	if (!v)
		return 0;
	for (int i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return sink_url_fail(u, err, errlen, "%s '%.40s' (expected %s)", key, v,
			     names == keys ? "none, hostname or netns"
					   : "none, gzip, snappy, lz4 or zstd");
}

/* One HOST:PORT of the list (as sink_url_take_hostport checks it) onto
 * c->brokers. */
static int add_broker(struct sink_url *u, const char *p, size_t n,
		      struct kafka_cfg *c, char *err, size_t errlen)
{
	size_t len = strlen(c->brokers);
	int rc;

	snprintf(u->target, sizeof(u->target), "//%.*s", (int)n, p);
	rc = sink_url_take_hostport(u, NULL, err, errlen);
	if (rc < 0)
		return rc;
	rc = snprintf(c->brokers + len, sizeof(c->brokers) - len,
		      strchr(u->host, ':') ? "%s[%s]:%s" : "%s%s:%s",
		      len ? "," : "", u->host, u->port);
	if ((size_t)rc >= sizeof(c->brokers) - len)
		return sink_url_fail(u, err, errlen, "broker list too long");
	return 0;
}

/* The target: //HOST:PORT[,HOST:PORT...]/TOPIC. */
static int parse_target(struct sink_url *u, struct kafka_cfg *c, char *err,
			size_t errlen)
{
	char target[sizeof(u->target)];
	const char *p, *end, *topic;
	int rc = 0;

	if (strncmp(u->target, "//", 2) != 0 || !strchr(u->target + 2, '/'))
		return sink_url_fail(u, err, errlen,
				     "expected kafka://HOST:PORT[,HOST:PORT"
				     "...]/TOPIC");
	memcpy(target, u->target, sizeof(target));
	end = strchr(target + 2, '/');
	if (memchr(target, '@', (size_t)(end - target)))
		return sink_url_fail(u, err, errlen,
				     "credentials go in kafka.sasl.username= "
				     "and kafka.sasl.password=");
	for (p = target + 2; rc == 0; p++) {
		size_t n = strcspn(p, ",/");
		rc = add_broker(u, p, n, c, err, errlen);
		p += n;
		if (*p != ',')
			break;
	}
	memcpy(u->target, target, sizeof(target));
	topic = end + 1;
	if (rc == 0 &&
	    (!*topic || strlen(topic) > KAFKA_TOPIC_MAX ||
	     strspn(topic, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
		     strlen(topic)))
		rc = sink_url_fail(u, err, errlen,
				   "topic '%.40s': 1 to 249 of a-z A-Z 0-9 . _ "
				   "-",
				   topic);
	if (rc == 0)
		memcpy(c->topic, topic, strlen(topic) + 1);
	return rc;
}

/* rd_kafka_conf_set(), librdkafka's own message on failure. */
static int conf_set(const struct sink_url *u, rd_kafka_conf_t *conf,
		    const char *name, const char *val, char *err, size_t errlen)
{
	char why[256];

	if (rd_kafka_conf_set(conf, name, val, why, sizeof(why)) ==
	    RD_KAFKA_CONF_OK)
		return 0;
	return sink_url_fail(u, err, errlen, "kafka.%s: %s", name, why);
}

/* Our defaults, then the kafka.* properties in the order given, then the
 * options named in the URL (they win over both). */
static int conf_props(const struct sink_url *u, const struct kafka_cfg *c,
		      rd_kafka_conf_t *conf, char *err, size_t errlen)
{
	uint32_t q = c->queue_bytes ? c->queue_bytes : KAFKA_QUEUE_BYTES;
	char kb[16], msgs[16], tmo[16];
	int rc = 0;

	snprintf(kb, sizeof(kb), "%u", (q + 1023) / 1024);
	snprintf(msgs, sizeof(msgs), "%u", q / KAFKA_BYTES_PER_MSG);
	snprintf(tmo, sizeof(tmo), "%u",
		 c->timeout_ms ? c->timeout_ms : KAFKA_TIMEOUT_MS);
	const char *const defaults[][2] = {
		{ "bootstrap.servers", c->brokers },
		{ "client.id", "tcpscope" },
		/* errors come through error_cb, rate-limited */
		{ "log_level", "0" },
		{ "compression.codec", "lz4" },
		{ "message.timeout.ms", tmo },
		{ "queue.buffering.max.kbytes", kb },
		{ "queue.buffering.max.messages", msgs },
	};
	const char *const named[][2] = {
		{ "compression.codec", c->compression },
		{ "acks", c->acks },
		{ "message.timeout.ms", c->timeout_ms ? tmo : "" },
		{ "queue.buffering.max.kbytes", c->queue_bytes ? kb : "" },
		{ "queue.buffering.max.messages", c->queue_bytes ? msgs : "" },
	};

	for (size_t i = 0; rc == 0 && i < sizeof(defaults) / sizeof(*defaults);
	     i++)
		rc = conf_set(u, conf, defaults[i][0], defaults[i][1], err,
			      errlen);
	for (unsigned i = 0; rc == 0 && i < u->nopt; i++)
		if (strncmp(u->opt[i].key, "kafka.", 6) == 0)
			rc = conf_set(u, conf, u->opt[i].key + 6, u->opt[i].val,
				      err, errlen);
	for (size_t i = 0; rc == 0 && i < sizeof(named) / sizeof(*named); i++)
		if (named[i][1][0])
			rc = conf_set(u, conf, named[i][0], named[i][1], err,
				      errlen);
	return rc;
}

/* The producer's configuration from the URL (pure: nothing connects);
 * resolves c->max_bytes against message.max.bytes. */
static int conf_build(const struct sink_url *u, struct kafka_cfg *c,
		      rd_kafka_conf_t **out, char *err, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char v[32] = "0";
	size_t vlen = sizeof(v);
	unsigned long limit;
	int rc;

	if (!conf)
		return -ENOMEM;
	rc = conf_props(u, c, conf, err, errlen);
	if (rc == 0)
		(void)rd_kafka_conf_get(conf, "message.max.bytes", v, &vlen);
	limit = strtoul(v, NULL, 10);
	limit = limit > KAFKA_MSG_ROOM + 64 ? limit - KAFKA_MSG_ROOM : 0;
	if (rc == 0 && !limit)
		rc = sink_url_fail(u, err, errlen,
				   "kafka.message.max.bytes %s leaves no room "
				   "for a message",
				   v);
	if (rc == 0) {
		if (!c->max_bytes)
			c->max_bytes = KAFKA_MAX_BYTES < limit
					       ? KAFKA_MAX_BYTES
					       : (uint32_t)limit;
		else if (c->max_bytes > limit)
			rc = sink_url_fail(u, err, errlen,
					   "max_bytes %u does not fit "
					   "kafka.message.max.bytes %s with "
					   "the key and framing (at most %lu)",
					   c->max_bytes, v, limit);
	}
	if (rc == 0 && c->max_bytes > (c->queue_bytes ? c->queue_bytes
						      : KAFKA_QUEUE_BYTES))
		rc = sink_url_fail(u, err, errlen,
				   "queue_bytes must hold one message of "
				   "max_bytes %u",
				   c->max_bytes);
	if (rc < 0) {
		rd_kafka_conf_destroy(conf);
		return rc;
	}
	*out = conf;
	return 0;
}

static int kafka_parse(struct sink_url *u, char *err, size_t errlen)
{
	struct kafka_cfg *c = (struct kafka_cfg *)u->cfg;
	int comp = -1, key = KEY_NONE, rc;
	const char *acks;
	rd_kafka_conf_t *conf;

	memset(c, 0, sizeof(*c));
	rc = parse_target(u, c, err, errlen);
	if (rc == 0)
		rc = take_enum(u, "compression", compressions, &comp, err,
			       errlen);
	if (rc == 0)
		rc = take_enum(u, "key", keys, &key, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "max_bytes", 64, SINK_MAX_BYTES_LIMIT,
				       &c->max_bytes, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "max_rows", 1, SINK_MAX_ROWS_LIMIT,
				       &c->max_rows, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "queue_bytes", KAFKA_QUEUE_MIN,
				       KAFKA_QUEUE_MAX, &c->queue_bytes, err,
				       errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "timeout_ms", KAFKA_TIMEOUT_MIN,
				       KAFKA_TIMEOUT_MAX, &c->timeout_ms, err,
				       errlen);
	if (rc < 0)
		return rc;
	acks = sink_url_take(u, "acks");
	if (acks && strlen(acks) >= sizeof(c->acks))
		return sink_url_fail(u, err, errlen, "acks '%.40s'", acks);
	if (acks)
		memcpy(c->acks, acks, strlen(acks) + 1);
	if (comp >= 0)
		memcpy(c->compression, compressions[comp],
		       strlen(compressions[comp]) + 1);
	c->key = (enum kafka_key)key;
	for (unsigned i = 0; i < u->nopt; i++)
		if (strncmp(u->opt[i].key, "kafka.", 6) == 0)
			u->opt[i].used = 1;
	/* every property is checked now, by librdkafka itself */
	rc = conf_build(u, c, &conf, err, errlen);
	if (rc == 0)
		rd_kafka_conf_destroy(conf);
	return rc;
}

/* --- delivery ------------------------------------------------------- */

/* Served inside rd_kafka_poll/flush, on the sink's thread. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
			void *opaque)
{
	struct kafka *k = opaque;
	struct sink *s = k->s;
	uint32_t rows = (uint32_t)(uintptr_t)m->_private;

	(void)rk;
	s->st.queued -= rows;
	if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		s->st.records += rows;
		s->st.bytes += m->len;
		return;
	}
	if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
		sink_drop(s, SINK_DROP_EXIT, rows);
		return;
	}
	s->st.errors++;
	k->last_failure = m->err;
	if (rd_kafka_message_status(m) ==
	    RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
		k->maybe_persisted += rows;
	k->last_reason = m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
				 ? SINK_DROP_OVERSIZE
				 : SINK_DROP_FAILED;
	sink_drop(s, k->last_reason, rows);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka *k = opaque;

	/* "all brokers down" sums up the connect errors already counted */
	if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		k->s->st.errors++;
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[200];
		rd_kafka_fatal_error(rk, why, sizeof(why));
		snprintf(k->last_error, sizeof(k->last_error),
			 "fatal error, the producer stops: %s", why);
	} else {
		snprintf(k->last_error, sizeof(k->last_error), "%s", reason);
	}
	k->new_error = 1;
}

static rd_kafka_resp_err_t produce(struct kafka *k,
				   const struct batch_payload *p)
{
	return rd_kafka_producev(
		k->rk, RD_KAFKA_V_RKT(k->rkt),
		RD_KAFKA_V_VALUE((void *)p->data, p->len - (size_t)k->strip_nl),
		RD_KAFKA_V_KEY(k->keylen ? k->key : NULL, k->keylen),
		RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
		RD_KAFKA_V_OPAQUE((void *)(uintptr_t)p->rows), RD_KAFKA_V_END);
}

/* One payload, one message; refused at once: counted. */
static void produce_one(struct kafka *k, const struct batch_payload *p)
{
	struct sink *s = k->s;
	rd_kafka_resp_err_t e;

	if (k->closing) {
		sink_drop(s, SINK_DROP_EXIT, p->rows);
		return;
	}
	e = produce(k, p);
	if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		/* once: the reports served free the room of what they
		 * settle; never a loop, never a wait */
		rd_kafka_poll(k->rk, 0);
		e = produce(k, p);
	}
	switch (e) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		s->st.queued += p->rows;
		return;
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
		sink_drop(s, SINK_DROP_QUEUE_FULL, p->rows);
		return;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		k->last_reason = SINK_DROP_OVERSIZE;
		break;
	default:
		k->last_reason = SINK_DROP_SEND_ERROR;
		break;
	}
	sink_drop(s, k->last_reason, p->rows);
	s->st.errors++;
	k->last_failure = e;
}

static void kafka_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct kafka *k = ctx;

	for (unsigned i = 0; i < n; i++)
		produce_one(k, &p[i]);
	if (!k->closing)
		rd_kafka_poll(k->rk, 0); /* reports: counts current, room */
}

/* key=hostname|netns: the batch is flushed when the key changes, so each
 * message has one. Not per record: only when the key changes. */
static void rekey(struct kafka *k, const struct ts_record *r)
{
	const char *host = r->hostname ? r->hostname : "";
	int n;

	batch_flush(&k->b);
	k->key_host = r->hostname;
	k->key_ns = r->netns_inode;
	n = k->key_mode == KEY_NETNS
		    ? snprintf(k->key, sizeof(k->key), "%s/%llu", host,
			       (unsigned long long)r->netns_inode)
		    : snprintf(k->key, sizeof(k->key), "%s", host);
	k->keylen = n < 0			 ? 0
		    : (size_t)n < sizeof(k->key) ? (size_t)n
						 : sizeof(k->key) - 1;
}

/* Only with a key (without one, s->batch takes the records directly). */
static int kafka_write(struct sink *s, const struct ts_record *r)
{
	struct kafka *k = s->priv;

	if (r->hostname != k->key_host ||
	    (k->key_mode == KEY_NETNS && r->netns_inode != k->key_ns))
		rekey(k, r);
	if (batch_add(&k->b, r) < 0) {
		sink_drop(s, SINK_DROP_OVERSIZE, 1);
		return -EMSGSIZE;
	}
	return 0;
}

/* "N record(s) dropped (N queue full, N failed: WHY, ...)": what was
 * dropped since the last line, by reason; "" when nothing was. */
static void lost_since(const struct kafka *k, char *buf, size_t n)
{
	const struct sink_stats *st = &k->s->st, *l = &k->logged;
	size_t len;

	buf[0] = '\0';
	if (st->dropped == l->dropped)
		return;
	len = (size_t)snprintf(buf, n, "%llu record(s) dropped (",
			       (unsigned long long)(st->dropped - l->dropped));
	for (int r = 0, first = 1; r < SINK_DROP_COUNT && len < n; r++) {
		uint64_t d = st->drop[r] - l->drop[r];
		int why = k->last_failure && r == (int)k->last_reason;
		if (!d)
			continue;
		len += (size_t)snprintf(
			buf + len, n - len, "%s%llu %s%s%s", first ? "" : ", ",
			(unsigned long long)d,
			sink_drop_name((enum sink_drop)r), why ? ": " : "",
			why ? rd_kafka_err2str(k->last_failure) : "");
		first = 0;
	}
	if (len < n && k->maybe_persisted)
		len += (size_t)snprintf(buf + len, n - len,
					"; %llu of them were in flight: the "
					"broker may have them",
					(unsigned long long)k->maybe_persisted);
	if (len < n)
		snprintf(buf + len, n - len, ")");
}

/* At most every 10 s (final: at exit, whatever the limit, and only for
 * records dropped): the last error librdkafka reported, and what was
 * dropped since the last line. */
static void report(struct kafka *k, int final)
{
	struct sink *s = k->s;
	char lost[320];

	lost_since(k, lost, sizeof(lost));
	if (final && !lost[0])
		return;
	if (!lost[0] && !k->new_error)
		return;
	if (final)
		s->last_log_ns = 0;
	if (sink_log_limited(s, "%s%s%s; %llu record(s) queued",
			     k->new_error && !final ? k->last_error : "",
			     k->new_error && !final && lost[0] ? "; " : "",
			     lost, (unsigned long long)s->st.queued)) {
		k->logged = s->st;
		k->new_error = 0;
		k->last_failure = RD_KAFKA_RESP_ERR_NO_ERROR;
		k->maybe_persisted = 0;
	}
}

/* --- lifecycle ------------------------------------------------------ */

static int kafka_open(struct sink *s, const struct sink_url *u, char *err,
		      size_t errlen)
{
	struct kafka_cfg c;
	struct kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf = NULL;
	int list = s->format == SINK_FMT_PROTOBUF_LIST, rc;

	if (!k)
		return -ENOMEM;
	k->s = s;
	memcpy(&c, u->cfg, sizeof(c));
	/* the format may come from --format, so this is checked here */
	if (c.max_rows > 1 && !list) {
		snprintf(err, errlen,
			 "max_rows needs format=protobuf-list (json and "
			 "protobuf: one record per message)");
		rc = -EINVAL;
	} else {
		rc = conf_build(u, &c, &conf, err, errlen);
	}
	if (rc == 0) {
		rd_kafka_conf_set_opaque(conf, k);
		rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
		rd_kafka_conf_set_error_cb(conf, on_error);
		/* on failure conf stays ours; on success the handle owns it */
		k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
		if (!k->rk) {
			rd_kafka_conf_destroy(conf);
			rc = -EINVAL; /* a combination librdkafka refuses */
		}
	}
	if (rc == 0 && !(k->rkt = rd_kafka_topic_new(k->rk, c.topic, NULL))) {
		snprintf(err, errlen, "topic %s: %s", c.topic,
			 rd_kafka_err2str(rd_kafka_last_error()));
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = batch_init(
			&k->b, s->format, c.max_bytes,
			list ? (c.max_rows ? c.max_rows : KAFKA_MAX_ROWS) : 1,
			KAFKA_ARENA, KAFKA_MAXPL, kafka_emit, k);
	if (rc < 0) {
		if (k->rkt)
			rd_kafka_topic_destroy(k->rkt);
		if (k->rk)
			rd_kafka_destroy(k->rk);
		free(k);
		return rc;
	}
	k->key_mode = c.key;
	k->strip_nl = s->format == SINK_FMT_JSON;
	s->priv = k;
	s->batch = c.key == KEY_NONE ? &k->b : NULL;
	return 0;
}

static int kafka_flush(struct sink *s)
{
	struct kafka *k = s->priv;
	uint64_t dropped = s->st.dropped;

	batch_flush(&k->b);
	rd_kafka_poll(k->rk, 0);
	report(k, 0);
	return s->st.dropped != dropped ? -EIO : 0;
}

static uint64_t now_ms(void)
{
	return ts_now_ns(CLOCK_MONOTONIC) / 1000000ull;
}

/* Purges what librdkafka still holds; its reports count it as "exit"
 * (what would not be reported within 100 ms stays counted as queued). */
static void purge_all(struct kafka *k)
{
	rd_kafka_purge(k->rk,
		       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	/* their reports are queued by now: served here (bounded) */
	for (int i = 0; i < 10 && k->s->st.queued; i++)
		rd_kafka_poll(k->rk, i ? 10 : 0);
}

/* At exit: what is queued has until the exit deadline (a second stop
 * request cuts it: ts_stop_exit_left_ms() is then 0), in slices, so that
 * signals are read between them; the rest is purged. */
static int kafka_finish(struct sink *s)
{
	struct kafka *k = s->priv;
	uint64_t end = now_ms() + SINK_EXIT_MAX_MS, left, now;

	batch_flush(&k->b);
	for (;;) {
		rd_kafka_poll(k->rk, 0);
		if (rd_kafka_outq_len(k->rk) == 0)
			break;
		ts_stop_read_signals();
		left = ts_stop_exit_left_ms();
		if (left == UINT64_MAX) /* no exit phase: the longest bound */
			left = (now = now_ms()) < end ? end - now : 0;
		if (left == 0)
			break;
		(void)rd_kafka_flush(k->rk, left < KAFKA_SLICE_MS
						    ? (int)left
						    : KAFKA_SLICE_MS);
	}
	purge_all(k);
	report(k, 1); /* the last chance: said whatever the limit */
	return 0;
}

static void kafka_release(struct sink *s)
{
	struct kafka *k = s->priv;

	if (!k)
		return;
	/* finish() had its chance: what is left is counted, not sent */
	k->closing = 1;
	batch_flush(&k->b);
	purge_all(k);
	rd_kafka_topic_destroy(k->rkt);
	rd_kafka_destroy(k->rk);
	batch_release(&k->b);
	free(k);
}

const struct sink_ops sink_kafka_ops = {
	.scheme = "kafka",
	.form = "kafka://HOST:PORT[,HOST:PORT...]/TOPIC",
	.options = "compression, key, acks, max_bytes, max_rows, "
		   "queue_bytes, timeout_ms, kafka.PROPERTY",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.flags = SINK_F_OWN_IO,
	.parse = kafka_parse,
	.open = kafka_open,
	.write = kafka_write,
	.flush = kafka_flush,
	.finish = kafka_finish,
	.release = kafka_release,
};
