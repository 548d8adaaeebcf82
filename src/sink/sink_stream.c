/*
 * sink_stream.c - stdout, file:PATH and null destinations.
 *
 * Records are packed by a batch (batch.h) into one fixed arena and written
 * with writev(2) when it fills and at the end of each poll, so a poll of
 * 100k sockets costs a few dozen syscalls. Files and stdout are local and
 * written blocking, as before. A failed write drops (and counts) exactly
 * the records of the payloads that were not (completely) written.
 * null counts records; with an explicit format= it also marshals them and
 * throws the bytes away (to measure a format's cost alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "batch.h"
#include "sink.h"
#include "sink_url.h"

#define STREAM_ARENA	 (256 * 1024)
#define STREAM_MAX_BYTES (256 * 1024)
#define STREAM_MAX_ROWS	 1000
#define STREAM_MAXPL	 256

struct stream {
	int fd;
	int own_fd;
	int encode; /* null: marshal or just count */
	char *path;
	struct sink *s;
	struct batch b;
};

/* Writes payloads [i, n) fully; returns the index of the first payload
 * not completely written (n on success) and sets *err. */
static unsigned write_payloads(int fd, const struct batch_payload *p,
			       unsigned n, size_t *bytes, int *err)
{
	struct iovec iov[64];
	unsigned i = 0;
	size_t skip = 0; /* bytes of p[i] already written */

	*err = 0;
	while (i < n) {
		unsigned k = 0;
		for (; k < 64 && i + k < n; k++) {
			iov[k].iov_base =
				(void *)(p[i + k].data + (k ? 0 : skip));
			iov[k].iov_len = p[i + k].len - (k ? 0 : skip);
		}
		ssize_t w = writev(fd, iov, (int)k);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? errno : EIO;
			return i;
		}
		*bytes += (size_t)w;
		while (i < n && (size_t)w >= p[i].len - skip) {
			w -= (ssize_t)(p[i].len - skip);
			skip = 0;
			i++;
		}
		skip += (size_t)w;
	}
	return i;
}

static void stream_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct stream *st = ctx;
	struct sink *s = st->s;
	size_t bytes = 0;
	unsigned done;
	int err = 0;

	if (st->fd < 0) {
		done = n; /* null: bytes are thrown away */
		for (unsigned i = 0; i < n; i++)
			bytes += p[i].len;
	} else {
		done = write_payloads(st->fd, p, n, &bytes, &err);
	}
	for (unsigned i = 0; i < n; i++) {
		if (i < done)
			s->st.records += p[i].rows;
		else
			s->st.dropped += p[i].rows;
	}
	s->st.bytes += bytes;
	if (err)
		s->st.errors++;
}

static int stream_alloc(struct sink *s, const struct sink_url *u, int fd,
			int own, const char *path)
{
	struct stream *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->fd = fd;
	st->own_fd = own;
	st->s = s;
	st->encode = fd >= 0 || u->format != SINK_FMT_AUTO;
	st->path = path ? strdup(path) : NULL;
	rc = path && !st->path ? -ENOMEM : 0;
	if (rc == 0 && st->encode)
		rc = batch_init(&st->b, s->format,
				u->max_bytes ? u->max_bytes : STREAM_MAX_BYTES,
				u->max_rows ? u->max_rows : STREAM_MAX_ROWS,
				STREAM_ARENA, STREAM_MAXPL, stream_emit, st);
	if (rc < 0) {
		free(st->path);
		free(st);
		return rc;
	}
	s->priv = st;
	s->batch = st->encode ? &st->b : NULL;
	return 0;
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

static int stdout_open(struct sink *s, const struct sink_url *u, char *err,
		       size_t errlen)
{
	(void)err;
	(void)errlen;
	return stream_alloc(s, u, STDOUT_FILENO, 0, NULL);
}

static int file_open(struct sink *s, const struct sink_url *u, char *err,
		     size_t errlen)
{
	int fd, rc;

	(void)err;
	(void)errlen;
	fd = open_file(u->path);
	if (fd < 0)
		return fd;
	rc = stream_alloc(s, u, fd, 1, u->path);
	if (rc < 0)
		close(fd);
	return rc;
}

static int null_open(struct sink *s, const struct sink_url *u, char *err,
		     size_t errlen)
{
	(void)err;
	(void)errlen;
	return stream_alloc(s, u, -1, 0, NULL);
}

static int stream_flush(struct sink *s)
{
	struct stream *st = s->priv;
	uint64_t errors = s->st.errors;

	if (st->encode)
		batch_flush(&st->b);
	return s->st.errors != errors ? -EIO : 0;
}

static int file_reopen(struct sink *s)
{
	struct stream *st = s->priv;
	int fd;

	(void)stream_flush(s);
	fd = open_file(st->path);
	if (fd < 0)
		return fd;
	close(st->fd);
	st->fd = fd;
	return 0;
}

static void stream_release(struct sink *s)
{
	struct stream *st = s->priv;

	if (!st)
		return;
	(void)stream_flush(s);
	if (st->own_fd)
		close(st->fd);
	batch_release(&st->b);
	free(st->path);
	free(st);
}

const struct sink_ops sink_stdout_ops = {
	.scheme = "stdout",
	.default_format = SINK_FMT_JSON,
	.open = stdout_open,
	.flush = stream_flush,
	.release = stream_release,
};

const struct sink_ops sink_file_ops = {
	.scheme = "file",
	.default_format = SINK_FMT_JSON,
	.open = file_open,
	.flush = stream_flush,
	.reopen = file_reopen,
	.release = stream_release,
};

const struct sink_ops sink_null_ops = {
	.scheme = "null",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.open = null_open,
	.flush = stream_flush,
	.release = stream_release,
};
