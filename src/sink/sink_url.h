/*
 * sink_url.h - destination URLs: the shared split, and the helpers each
 * destination's parse() uses for its own target and options (pure: no
 * I/O).
 *
 * Contract: sink_url_parse() finds the destination by its scheme in the
 * registry (sink.c), splits "SCHEME[:TARGET][?k=v&k=v]", parses format=
 * (every destination takes it), then hands the target and the other
 * options to that destination's ops->parse(), which takes what it knows
 * with sink_url_take*(); an option nobody took is refused, naming what
 * the destination accepts. On failure one human-readable reason goes to
 * `err`, the result is -EINVAL, and *out is untouched. Unset numeric
 * options are 0 (wait_ms, mode: -1; format: AUTO). What parse() keeps in
 * cfg[] must be copied there (the struct is copied out at the end, so no
 * pointer into it stays valid).
 * Thread-safety: reentrant.
 */
#ifndef TS_SINK_URL_H
#define TS_SINK_URL_H

#include <stddef.h>
#include <stdint.h>

#include "../record/fields.h"
#include "sink.h"

#define SINK_URL_TARGET_MAX  108 /* sizeof(sun_path); hosts fit as well */
#define SINK_URL_MAX_OPTS    32
#define SINK_URL_QUERY_MAX   2048
#define SINK_UDP_MAX_BYTES   65507
#define SINK_MAX_BYTES_LIMIT (64u << 20)
#define SINK_MAX_ROWS_LIMIT  1000000u
#define SINK_WAIT_MS_LIMIT   10000
#define SINK_FILE_MODE	     0600 /* what a created file: gets */
#define SINK_URL_CFG_MAX     8192 /* a destination's own parsed options */

struct sink_url_opt {
	const char *key, *val; /* into query[] */
	int used;
};

struct sink_url {
	const struct sink_ops *ops; /* the destination, by its scheme */
	const char *url;	    /* the whole URL, for messages */
	char target[4096];	    /* after "SCHEME:", up to '?' */
	char query[SINK_URL_QUERY_MAX];
	struct sink_url_opt opt[SINK_URL_MAX_OPTS];
	unsigned nopt;
	enum sink_format format;    /* SINK_FMT_AUTO when unset */
	struct ts_field_set fields; /* fields= (every destination takes it) */
	int has_fields;
	/* what the socket and file destinations' parse() fill */
	char path[4096];    /* file:, unix:, unixgram: */
	char host[256];	    /* udp: without brackets */
	char port[6];	    /* udp: decimal 1..65535 */
	uint32_t max_bytes; /* 0 = destination default */
	uint32_t max_rows;  /* 0 = destination default */
	uint32_t buffer;    /* 0 = destination default */
	int32_t wait_ms;    /* -1 = destination default */
	int32_t mode;	    /* file: -1 = SINK_FILE_MODE */
	uint8_t follow;	    /* file: 1 = follow a final symlink */
	/* a library destination's own options (ops->cfg_size bytes) */
	_Alignas(8) unsigned char cfg[SINK_URL_CFG_MAX];
};

int sink_url_parse(const char *url, struct sink_url *out, char *err,
		   size_t errlen);

/* For parse(): "invalid destination 'URL': why"; returns -EINVAL. */
int sink_url_fail(const struct sink_url *u, char *err, size_t errlen,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The value of option `key` (marked taken), or NULL. */
const char *sink_url_take(struct sink_url *u, const char *key);
/* Option `key` as a number in [lo, hi]: 0 (absent: *out untouched, or
 * parsed), or -EINVAL with the reason. */
int sink_url_take_u32(struct sink_url *u, const char *key, uint32_t lo,
		      uint32_t hi, uint32_t *out, char *err, size_t errlen);
/* max_bytes (64..max_bytes_hi), max_rows and wait_ms, as most
 * destinations take them. */
int sink_url_take_limits(struct sink_url *u, uint32_t max_bytes_hi, char *err,
			 size_t errlen);
/* The target as a path shorter than `max` bytes, into u->path. */
int sink_url_take_path(struct sink_url *u, size_t max, char *err,
		       size_t errlen);
/* The target as //HOST:PORT ([IPV6]:PORT), into u->host and u->port; with
 * rest != NULL what follows the port ("/topic") goes there. */
int sink_url_take_hostport(struct sink_url *u, const char **rest, char *err,
			   size_t errlen);

#endif
