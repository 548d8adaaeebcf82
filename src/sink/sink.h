/*
 * sink.h - destinations of records, behind one ops table.
 *
 * Contract: sink_new() parses a destination URL (see sink_url.h: stdout,
 * file:PATH, null, udp://HOST:PORT, unix:PATH, unixgram:PATH, each with an
 * optional ?format=..&max_bytes=..&max_rows=.. query) and returns an owned
 * sink; sink_free() releases it (NULL is fine). sink_write() is the
 * per-record hot path: it must not allocate or log, and a record it cannot
 * deliver is counted in st.dropped, never silently lost. sink_flush() runs
 * at the end of every poll: it sends what is batched, never blocks beyond
 * the destination's bound (wait_ms), and logs (rate-limited, naming the
 * errno) what went wrong since the last flush. Every buffer a sink owns
 * has a fixed bound.
 * stdout and file: are written as what they are: a regular file blocking
 * (no record lost while the disk is slow; wait_ms= is refused, a write to
 * it cannot be bounded), cut back to its last whole record after a short
 * write, so it never holds a partial one; a pipe, FIFO, terminal or
 * socket without blocking (a private non-blocking open of the same pipe,
 * or send(MSG_DONTWAIT)), waiting for it through ts_wait_fd(): without
 * wait_ms for as long as the reader needs, with wait_ms at most that much
 * per poll; either way a stop request ends the wait at once, and what was
 * not written is dropped and counted. A record the reader got part of is
 * completed first at the next write, so a reader only sees whole records.
 * Opening a file: never blocks (a FIFO without a reader is refused), does
 * not follow a symbolic link in the last component unless follow=1, and
 * creates the file with mode= (default 0600, less the umask).
 * Thread-safety: a sink is used by one thread at a time.
 */
#ifndef TS_SINK_H
#define TS_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "../record/record.h"

enum sink_format {
	SINK_FMT_JSON,		/* JSON lines */
	SINK_FMT_PROTOBUF,	/* varint(len) + XtcpFlatRecord, per record */
	SINK_FMT_PROTOBUF_LIST, /* varint(len) + Envelope of many records */
	SINK_FMT_AUTO,		/* per destination: json for stdout/file,
				   protobuf-list otherwise */
};

/* The bound of --exit-timeout, and of sink_finish() without an exit
 * phase. */
#define SINK_EXIT_MAX_MS 60000

/* Why a record was not delivered: every drop has exactly one. */
enum sink_drop {
	SINK_DROP_OVERSIZE,   /* larger than max_bytes alone */
	SINK_DROP_SLOW,	      /* the peer did not take it within wait_ms,
				 or a stop request cut the wait */
	SINK_DROP_SEND_ERROR, /* refused: the write or send failed, or the
				 peer went away with it */
	SINK_DROP_QUEUE_FULL, /* the destination's bounded queue was full */
	SINK_DROP_FAILED,     /* queued, then not delivered: the broker
				 refused it or its message timeout ran out */
	SINK_DROP_EXIT,	      /* still held when the exit's bound ran out */
	SINK_DROP_COUNT
};

struct sink_stats {
	uint64_t records; /* delivered: written, sent, or acknowledged */
	uint64_t bytes;	  /* bytes delivered */
	uint64_t dropped; /* records not delivered: the sum of drop[] */
	uint64_t errors;  /* failed writes / sends / connects / deliveries */
	uint64_t queued;  /* handed to the destination's own queue (a
			     library's), not yet delivered or dropped */
	uint64_t drop[SINK_DROP_COUNT]; /* dropped, by reason */
};

struct sink;
struct sink_url;
struct batch;
struct ring;
struct ts_field_set;
struct proto_plan;

enum {
	/* the destination's library owns its sockets: the calling
	 * thread's io_uring does not drive it */
	SINK_F_OWN_IO = 1,
};

struct sink_ops {
	const char *scheme;  /* "udp" for udp://..., "file" for file:... */
	const char *form;    /* "udp://HOST:PORT", for messages */
	const char *options; /* the option keys it takes besides format= */
	enum sink_format default_format;
	unsigned flags; /* SINK_F_* */
	/* Pure (no I/O): the target and this destination's own options,
	 * taken from u with sink_url_take*() (sink_url.h). -EINVAL with a
	 * reason in `err`. */
	int (*parse)(struct sink_url *u, char *err, size_t errlen);
	/* u: the URL as parse() left it (format already resolved in
	 * s->format). `err` gets a reason on failure; -EINVAL means a bad
	 * URL/option (exit 2). */
	int (*open)(struct sink *s, const struct sink_url *u, char *err,
		    size_t errlen);
	/* Only for sinks without a batch; NULL: records are only counted. */
	int (*write)(struct sink *s, const struct ts_record *r);
	int (*flush)(struct sink *s);
	/* may be NULL; on failure `err` says why (the old file stays) */
	int (*reopen)(struct sink *s, char *err, size_t errlen);
	/* At exit, before release: deliver what can still be delivered
	 * by the exit deadline (see sink_finish). NULL: flush() is enough. */
	int (*finish)(struct sink *s);
	void (*release)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	char *url;  /* as given: what open() connects to */
	char *name; /* the URL with any password masked: every message
		       and summary names the destination by it */
	enum sink_format format;
	struct sink_stats st;
	void *priv;
	/* Set by open() when records are marshalled into a batch: then
	 * sink_write() adds to it and counts what does not fit, for every
	 * destination alike. */
	struct batch *batch;
	/* The calling thread's io_uring (uring engine) for the sends of the
	 * write or flush under way: sink_write() and sink_flush() set it
	 * from their argument; NULL: plain syscalls. */
	struct ring *ring;
	/* Set by the owner: this is the only destination, so a reader that
	 * went away ends the run (reader_gone), as it ends a filter, and is
	 * not logged. */
	int sole;
	/* Set by stdout when its reader went away (EPIPE, ECONNRESET). */
	int reader_gone;
	/* the fields it marshals (fields=, or --fields): NULL, every one */
	struct ts_field_set *fields;
	struct proto_plan *plan;
	/* rate limit of the flush-time log lines */
	uint64_t last_log_ns;
	uint64_t logged_oversize;
};

/* 0 and *out, or -EINVAL (bad URL; `err` says why) / other -errno.
 * `format` is the command line's default (SINK_FMT_AUTO: per destination);
 * a format= in the URL wins over it. */
int sink_new(const char *url, enum sink_format format, struct sink **out,
	     char *err, size_t errlen);
/* `ring`: the calling thread's io_uring, or NULL (sent by syscalls). */
int sink_write(struct sink *s, const struct ts_record *r, struct ring *ring);
int sink_flush(struct sink *s, struct ring *ring);
/* Checks a URL as sink_new() would, without opening anything (for
 * --check-config): 0, or -EINVAL with the reason. */
int sink_check(const char *url, char *err, size_t errlen);
/* At exit, after ts_stop_exit_begin() (util/stop.h): sends what is still
 * buffered, every wait ending at the one exit deadline shared by all
 * destinations (or at a further stop request; SINK_EXIT_MAX_MS without
 * an exit phase), and counts the rest as dropped. A unix stream whose
 * peer has not taken the whole of a started frame by then ends mid-frame:
 * that frame's records are dropped, the cut is counted as an error and
 * said on stderr. Returns 1 when that changed the counters, else 0. */
int sink_finish(struct sink *s);
/* Marshals only the fields of fs (a copy is kept), for the sinks whose
 * URL did not choose its own (fields=). 0 or -ENOMEM. */
int sink_set_fields(struct sink *s, const struct ts_field_set *fs);
/* Reopens files after log rotation (SIGHUP); a no-op for other sinks.
 * 0, or -errno with a reason in `err` (the file already open is kept). */
int sink_reopen(struct sink *s, char *err, size_t errlen);
void sink_free(struct sink *s);

/* Counts n records as dropped for `why`. Not on the per-record path
 * unless a record is being dropped. */
static inline void sink_drop(struct sink *s, enum sink_drop why, uint64_t n)
{
	s->st.dropped += n;
	s->st.drop[why] += n;
}
/* The reason for records not sent after errno `err` (0: none known):
 * at exit SINK_DROP_EXIT, a wait that ran out or was cut
 * SINK_DROP_SLOW, anything else SINK_DROP_SEND_ERROR. */
enum sink_drop sink_drop_reason(int err);
/* "oversize", "slow", "send error", "queue full", "failed", "exit". */
const char *sink_drop_name(enum sink_drop why);

/* "json", "protobuf", "protobuf-list" -> enum; -EINVAL otherwise. */
int sink_format_parse(const char *name, enum sink_format *out);
const char *sink_format_name(enum sink_format f);

/* For sinks: a log line on stderr at most every 10 s per sink (never on the
 * per-record path). Returns 1 when printed. */
int sink_log_limited(struct sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The registry: every destination's ops, found by scheme. *target
 * points past "SCHEME:" (or at the end of a bare "stdout"). NULL: no
 * destination has that scheme. */
const struct sink_ops *sink_registry_find(const char *url, const char **target);
/* "stdout, file:PATH, ..." from the registry's forms. */
void sink_registry_list(char *buf, size_t n);

/* ops tables, one per destination kind */
extern const struct sink_ops sink_stdout_ops;
extern const struct sink_ops sink_file_ops;
extern const struct sink_ops sink_null_ops;
extern const struct sink_ops sink_udp_ops;
extern const struct sink_ops sink_unix_ops;
extern const struct sink_ops sink_redis_ops;  /* redis:// */
extern const struct sink_ops sink_valkey_ops; /* valkey://, the same */
extern const struct sink_ops sink_unixgram_ops;
extern const struct sink_ops sink_kafka_ops;
extern const struct sink_ops sink_nats_ops;

#endif
