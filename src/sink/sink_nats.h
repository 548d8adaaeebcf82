/*
 * sink_nats.h - the inside of the nats:// destination, shared by its
 * three files: nats_url.c (its URL), nats_pub.c (publishing, and what
 * the library's threads report), sink_nats.c (the connection and the
 * ops; its comment says how the destination behaves).
 *
 * Contract: tsnats_parse() is the ops' parse(): it takes
 * //[USER:PASS@]HOST:PORT/SUBJECT (USER and PASS %-decoded) and the
 * options jetstream=0|1, max_pending=N (with jetstream=1 only),
 * reconnect_buf=N and the common limits, leaving a struct nats_cfg in
 * u->cfg; tsnats_mask() copies a text with every occurrence of a secret
 * replaced by "***" (always NUL-terminated); both pure and reentrant.
 * The rest runs on the publishing (poll) thread, except the callbacks
 * nats_pub.c gives the library, which run on the library's threads and
 * touch only struct nats_shared, under its mutex.
 */
#ifndef TS_SINK_NATS_H
#define TS_SINK_NATS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "batch.h"
#include "sink_url.h"

#define NATS_MAX_PENDING       64
#define NATS_PENDING_LIMIT     65536
#define NATS_RECONNECT_BUF     (8u << 20) /* the library's default */
#define NATS_RECONNECT_BUF_MIN 4096
#define NATS_RECONNECT_BUF_MAX (1u << 30)
/* reconnects: after 100 ms, doubling to 5 s */
#define NATS_BACKOFF_MIN_MS 100
#define NATS_BACKOFF_MAX_MS 5000

struct nats_cfg {
	char user[256], pass[256]; /* empty user: no credentials */
	char subject[256];
	uint32_t max_pending, reconnect_buf;
	uint8_t jetstream;
};
_Static_assert(sizeof(struct nats_cfg) <= SINK_URL_CFG_MAX,
	       "nats options do not fit sink_url.cfg");

int tsnats_parse(struct sink_url *u, char *err, size_t errlen);
void tsnats_mask(const char *secret, const char *text, char *out, size_t cap);

/* What the library's threads report, under mu; the publishing thread
 * takes it in tsnats_fold(). */
struct nats_shared {
	pthread_mutex_t mu;
	int efd;      /* readable: an ack, or the connection came back */
	int waiting;  /* the publishing thread waits on efd */
	int final;    /* counted already: late acks change nothing */
	uint64_t gen; /* the connection whose callbacks count */
	int seen;     /* callbacks of that connection so far */
	int up, closed;
	uint64_t done_msgs, acked_rows, acked_bytes, failed_rows;
	uint64_t errors;
	char err[160]; /* the library's last complaint, masked */
};

/* The closure of one connection's callbacks: a connection given up
 * (gen below sh.gen) may still call back after it is destroyed, and is
 * not heard. The links are reused round-robin: a callback late by
 * NATS_LINKS connections made anew would be misread. */
#define NATS_LINKS 8
struct nats_link {
	struct nats *n;
	uint64_t gen;
};

struct nats {
	struct sink *s;
	struct nats_link link[NATS_LINKS];
	struct nats_cfg cfg;
	enum sink_format fmt;
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	jsPubOptions po;
	struct batch b;
	uint32_t max_bytes; /* the configured bound; the batch may use less */
	uint64_t budget_ns, waited_ns;
	int closing; /* release: nothing is published any more */
	int up, closed;
	/* payloads held while not connected: [hhead, htail) of hold */
	uint8_t *hold;
	size_t hcap, hhead, htail;
	uint64_t hrows;
	/* jetstream: published, answered (acked or failed), given up */
	uint64_t pub_msgs, pub_rows, done_msgs, done_rows, gone_msgs, gone_rows;
	uint64_t conn_pubs;		      /* published on this connection */
	uint64_t failed_seen;		      /* for the log */
	uint64_t next_revive_ns, revive_wait; /* a closed connection */
	int said_payload;
	const char *why; /* why records were last dropped, for the log */
	struct nats_shared sh;
	struct nats *next_dead; /* freed once the library has stopped */
};

enum {
	FOLD_WAIT = 1,	/* the next ack or reconnect wakes efd */
	FOLD_FINAL = 2, /* the last: what the library reports later is
			   counted already (as dropped at exit) */
};

/* nats_pub.c */
/* The callbacks of the next connection (l: its link) and the reconnect
 * backoff, into n->opts. */
natsStatus tsnats_callbacks(struct nats *n, struct nats_link *l);
/* The ack handler, into a JetStream context's options. */
void tsnats_acks(struct nats_link *l, jsOptions *jo);
/* Takes what the library's threads counted, and the connection's state
 * (n->up, n->closed); s->st.queued follows. */
void tsnats_fold(struct nats *n, unsigned flags);
/* Records awaiting acks. */
uint64_t tsnats_outstanding(const struct nats *n);
/* Waits for an ack or a reconnect within the budget: 0 or -errno. */
int tsnats_wait(struct nats *n);
/* The batch's emit(). */
void tsnats_emit(void *ctx, const struct batch_payload *p, unsigned np);
/* What is held goes out, while connected and within the budget. */
void tsnats_drain(struct nats *n);
/* Drops everything held, for `why`. */
void tsnats_hold_drop(struct nats *n, enum sink_drop why);

#endif
