/*
 * sink_url.h - destination URL and query parsing (pure: no I/O).
 *
 * Contract: sink_url_parse() splits "SCHEME[:TARGET][?k=v&k=v]" into a
 * struct sink_url, checks what can be checked without touching the system
 * (scheme known, target shape, option names, ranges) and on failure writes
 * one human-readable reason to `err` and returns -EINVAL; *out is untouched
 * then. Accepted forms:
 *   stdout | null | file:PATH | unix:PATH | unixgram:PATH
 *   udp://HOST:PORT   (HOST: name, IPv4 literal or [IPv6 literal])
 * Options: format=json|protobuf|protobuf-list, max_bytes=N (payload bytes
 * per datagram/frame, framing included), max_rows=N (records per payload),
 * buffer=N (unix stream output buffer), wait_ms=N (how long a flush may
 * wait for a slow destination), and for file: only mode=OCTAL (permissions
 * of a file tcpscope creates, 0..0777) and follow=0|1 (follow a symbolic
 * link in the path's last component). Unset options are 0 (format: AUTO,
 * wait_ms and mode: -1). Paths run to the first '?'.
 * Thread-safety: reentrant.
 */
#ifndef TS_SINK_URL_H
#define TS_SINK_URL_H

#include <stddef.h>
#include <stdint.h>

#include "sink.h"

#define SINK_URL_TARGET_MAX  108 /* sizeof(sun_path); hosts fit as well */
#define SINK_UDP_MAX_BYTES   65507
#define SINK_MAX_BYTES_LIMIT (64u << 20)
#define SINK_MAX_ROWS_LIMIT  1000000u
#define SINK_WAIT_MS_LIMIT   10000
#define SINK_FILE_MODE	     0600 /* what a created file: gets */

enum sink_kind {
	SINK_KIND_STDOUT,
	SINK_KIND_FILE,
	SINK_KIND_NULL,
	SINK_KIND_UDP,
	SINK_KIND_UNIX,
	SINK_KIND_UNIXGRAM,
};

struct sink_url {
	enum sink_kind kind;
	char path[4096];	 /* file:, unix:, unixgram: */
	char host[256];		 /* udp: without brackets */
	char port[6];		 /* udp: decimal 1..65535 */
	enum sink_format format; /* SINK_FMT_AUTO when unset */
	uint32_t max_bytes;	 /* 0 = destination default */
	uint32_t max_rows;	 /* 0 = destination default */
	uint32_t buffer;	 /* 0 = destination default */
	int32_t wait_ms;	 /* -1 = destination default */
	int32_t mode;		 /* file: -1 = SINK_FILE_MODE */
	uint8_t follow;		 /* file: 1 = follow a final symlink */
};

int sink_url_parse(const char *url, struct sink_url *out, char *err,
		   size_t errlen);

#endif
