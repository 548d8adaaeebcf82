/*
 * sink_stream.c - stdout, file:PATH and null destinations.
 *
 * Records are packed by a batch (batch.h) into one fixed arena and written
 * with writev(2) when it fills and at the end of each poll, so a poll of
 * 100k sockets costs a few dozen syscalls. How a write may wait depends on
 * what the descriptor is (the promises are in sink.h):
 *   regular file: blocking writes. After a short write (ENOSPC, EFBIG,
 *     EIO) the file is cut back to its last whole record, so the next
 *     record never lands glued to half of one.
 *   pipe, FIFO, terminal: non-blocking writes on an open file description
 *     of our own (stdout: /proc/self/fd/1 reopened, the same pipe; setting
 *     O_NONBLOCK on the inherited fd 1 would change it for the shell and
 *     every process sharing it); on EAGAIN, ts_wait_fd() for POLLOUT.
 *   socket (stdout only): send(MSG_DONTWAIT), then the same waits.
 *   stdout that cannot be reopened (a pipe or terminal of another user):
 *     blocking writes on fd 1, the last resort.
 * A wait that times out (wait_ms) or is cut by a stop request drops the
 * payloads not yet started; the rest of the one the reader got part of is
 * kept and written first, so a reader only ever sees whole records.
 * A failed write drops (and counts) exactly the records that did not land.
 * null counts records; with an explicit format= it also marshals them and
 * throws the bytes away (to measure a format's cost alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../util/stop.h"
#include "batch.h"
#include "sink.h"
#include "sink_url.h"

#define STREAM_ARENA	 (256 * 1024)
#define STREAM_MAX_BYTES (256 * 1024)
#define STREAM_MAX_ROWS	 1000
#define STREAM_MAXPL	 256

enum stream_kind {
	STREAM_NULL,	 /* null: nothing is written */
	STREAM_REGULAR,	 /* blocking; cut back after a short write */
	STREAM_NONBLOCK, /* an O_NONBLOCK description of our own */
	STREAM_SOCKET,	 /* send(MSG_DONTWAIT) */
	STREAM_BLOCKING, /* fd 1 that could not be reopened */
};

struct stream {
	int fd;
	int own_fd;
	enum stream_kind kind;
	int encode; /* null: marshal or just count */
	int is_stdout;
	char *path; /* file: */
	int follow;
	mode_t mode;
	uint64_t budget_ns; /* per poll (wait_ms); UINT64_MAX: none */
	uint64_t waited_ns; /* in this poll */
	int last_err;	    /* of the last failed write */
	int wait_err;	    /* ETIMEDOUT or ECANCELED: why a wait ended */
	int cut_err;	    /* a partial record could not be cut off */
	int gone_logged;
	struct sink *s;
	/* the rest of the payload a slow reader got part of, from the start
	 * of the record cut in two (bounded by max_bytes) */
	uint8_t *pend;
	size_t pend_len, pend_off; /* bytes; of them already written */
	uint32_t pend_rows;
	struct batch b;
};

static int waited_out(int err)
{
	return err == ETIMEDOUT || err == ECANCELED;
}

/* One writev (send for a socket); bytes or -errno. */
static ssize_t put(const struct stream *st, struct iovec *iov, unsigned n)
{
	ssize_t w;

	if (st->kind == STREAM_SOCKET) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
		w = sendmsg(st->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		w = writev(st->fd, iov, (int)n);
	}
	return w < 0 ? -errno : w;
}

/* Writes payloads [0, n) in order, waiting for POLLOUT on EAGAIN within
 * the poll's budget. Returns how many were written whole; *skip: bytes of
 * the next one written; *err: 0 or why it stopped there. */
static unsigned put_all(struct stream *st, const struct batch_payload *p,
			unsigned n, size_t *skip, int *err)
{
	struct iovec iov[64];
	unsigned i = 0;

	*skip = 0;
	*err = 0;
	while (i < n) {
		unsigned k = 0;
		for (; k < 64 && i + k < n; k++) {
			iov[k].iov_base =
				(void *)(p[i + k].data + (k ? 0 : *skip));
			iov[k].iov_len = p[i + k].len - (k ? 0 : *skip);
		}
		ssize_t w = put(st, iov, k);
		if (w == -EINTR)
			continue;
		if (w == -EAGAIN) {
			int rc = ts_wait_fd(st->fd, POLLOUT, st->budget_ns,
					    &st->waited_ns);
			if (rc == 0)
				continue;
			*err = -rc;
			return i;
		}
		if (w <= 0) {
			*err = w < 0 ? (int)-w : EIO;
			return i;
		}
		while (i < n && (size_t)w >= p[i].len - *skip) {
			w -= (ssize_t)(p[i].len - *skip);
			*skip = 0;
			i++;
		}
		*skip += (size_t)w;
	}
	return i;
}

static void note_error(struct stream *st, int err)
{
	if (waited_out(err)) {
		st->wait_err = err;
		return;
	}
	st->s->st.errors++;
	st->last_err = err;
	if (st->is_stdout && (err == EPIPE || err == ECONNRESET))
		st->s->reader_gone = 1;
}

/* A short write left `cut` bytes of a record at the end of a regular
 * file: cut them off (and move the offset back: stdout may be a file
 * opened without O_APPEND), so the next record starts a line of its own.
 * Only at the file's end: what lies past the offset is not ours. */
static void cut_back(struct stream *st, size_t cut)
{
	off_t end = lseek(st->fd, 0, SEEK_CUR);
	struct stat sb;

	if (end < 0 || fstat(st->fd, &sb) < 0)
		st->cut_err = errno;
	else if (end < (off_t)cut || sb.st_size != end)
		st->cut_err = -1;
	else if (ftruncate(st->fd, end - (off_t)cut) < 0 ||
		 lseek(st->fd, end - (off_t)cut, SEEK_SET) < 0)
		st->cut_err = errno;
}

/* The pending records will never be written: of what was written, the
 * whole records count as delivered, the rest as dropped. */
static void drop_pending(struct stream *st)
{
	struct sink *s = st->s;
	uint32_t rows;
	size_t whole;

	if (!st->pend_len)
		return;
	whole = batch_whole(s->format, st->pend, st->pend_off, &rows);
	s->st.records += rows;
	s->st.bytes += whole;
	sink_drop(s, sink_drop_reason(EAGAIN), st->pend_rows - rows);
	st->pend_len = st->pend_off = 0;
}

/* Writes the rest of the record(s) a slow reader got part of. 0 when
 * nothing is pending any more, else why not (still pending after a wait
 * ran out; dropped after a failed write). */
static int put_pending(struct stream *st)
{
	struct batch_payload v;
	size_t skip;
	int err;

	if (!st->pend_len)
		return 0;
	v = (struct batch_payload){ st->pend + st->pend_off,
				    st->pend_len - st->pend_off,
				    st->pend_rows };
	if (put_all(st, &v, 1, &skip, &err) == 1) {
		st->s->st.records += st->pend_rows;
		st->s->st.bytes += st->pend_len;
		st->pend_len = st->pend_off = 0;
		return 0;
	}
	st->pend_off += skip;
	if (!waited_out(err))
		drop_pending(st);
	note_error(st, err);
	return err;
}

/* Payload p was cut after `skip` bytes (err: why). Its whole records
 * count as delivered; the rest of it is kept for a slow reader (the
 * record cut in two must be completed), else dropped, and a regular file
 * loses the part written so that it never holds a partial record. */
static void cut_payload(struct stream *st, const struct batch_payload *p,
			size_t skip, int err)
{
	struct sink *s = st->s;
	uint32_t rows;
	size_t whole = batch_whole(s->format, p->data, skip, &rows);

	s->st.records += rows;
	s->st.bytes += whole;
	if (skip > whole && waited_out(err) && st->pend) {
		st->pend_len = p->len - whole;
		st->pend_off = skip - whole;
		st->pend_rows = p->rows - rows;
		memcpy(st->pend, p->data + whole, st->pend_len);
		return;
	}
	if (skip > whole && st->kind == STREAM_REGULAR)
		cut_back(st, skip - whole);
	sink_drop(s, sink_drop_reason(err), p->rows - rows);
}

static void stream_emit(void *ctx, const struct batch_payload *p, unsigned n)
{
	struct stream *st = ctx;
	struct sink *s = st->s;
	unsigned done = 0;
	size_t skip = 0;
	int err;

	if (st->kind == STREAM_NULL) {
		for (unsigned i = 0; i < n; i++) {
			s->st.records += p[i].rows;
			s->st.bytes += p[i].len; /* thrown away */
		}
		return;
	}
	err = put_pending(st);
	if (err == 0) {
		done = put_all(st, p, n, &skip, &err);
		if (err)
			note_error(st, err);
	}
	for (unsigned i = 0; i < done; i++) {
		s->st.records += p[i].rows;
		s->st.bytes += p[i].len;
	}
	if (done < n && skip)
		cut_payload(st, &p[done++], skip, err);
	for (unsigned i = done; i < n; i++)
		sink_drop(s, sink_drop_reason(err), p[i].rows);
}

/* Why a file of mode m is refused, in a message about it. */
static const char *refused(mode_t m)
{
	return S_ISSOCK(m)  ? "a socket (unix:PATH or unixgram:PATH write to "
			      "one)"
	       : S_ISBLK(m) ? "a block device, not a regular file, FIFO or "
			      "character device"
			    : "not a regular file, FIFO or character device";
}

static mode_t file_mode(const struct sink_url *u)
{
	return (mode_t)(u->mode < 0 ? SINK_FILE_MODE : u->mode);
}

/* Why a file destination could not be opened, in `why`; -errno, or
 * -EINVAL when the path names what tcpscope will not write to. */
static int open_failed(const char *path, int follow, char *why, size_t len)
{
	int e = errno;
	struct stat sb;

	if (e == ELOOP && !follow && lstat(path, &sb) == 0 &&
	    S_ISLNK(sb.st_mode)) {
		snprintf(why, len,
			 "a symbolic link, not followed (follow=1 writes "
			 "where it points)");
		return -EINVAL;
	}
	if (e == ENXIO && stat(path, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
		snprintf(why, len, "a FIFO without a reader");
		return -e;
	}
	if (e == ENXIO && stat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
		snprintf(why, len, "%s", refused(sb.st_mode));
		return -EINVAL;
	}
	snprintf(why, len, "%s", strerror(e));
	return -e;
}

/* Opens a file destination without ever blocking: O_NONBLOCK (a FIFO
 * without a reader fails at once instead of waiting for one), no symlink
 * followed in the last component unless `follow` (another user's symlink
 * in a shared directory must not choose where records go). 0 and *out,
 * *kind, or -errno with a reason in `why`. */
static int open_path(const char *path, int follow, mode_t mode, int *out,
		     enum stream_kind *kind, char *why, size_t len)
{
	int fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
			      O_NONBLOCK | (follow ? 0 : O_NOFOLLOW),
		      mode);
	struct stat sb;

	if (fd < 0)
		return open_failed(path, follow, why, len);
	if (fstat(fd, &sb) < 0 ||
	    !(S_ISREG(sb.st_mode) || S_ISFIFO(sb.st_mode) ||
	      S_ISCHR(sb.st_mode))) {
		int e = errno;
		snprintf(why, len, "%s", e ? strerror(e) : refused(sb.st_mode));
		close(fd);
		return e ? -e : -EINVAL;
	}
	*kind = STREAM_NONBLOCK;
	if (S_ISREG(sb.st_mode)) {
		/* a file is written blocking: nothing lost while the disk
		 * is slow (O_NONBLOCK was for the open only) */
		(void)fcntl(fd, F_SETFL, O_APPEND);
		*kind = STREAM_REGULAR;
	}
	*out = fd;
	return 0;
}

/* stdout as what it is (see the top): 0 and *fd, *own (ours to close),
 * *kind; *reopen_err: why fd 1 could not be reopened (BLOCKING). */
static int stdout_fd(int *fd, int *own, enum stream_kind *kind, int *reopen_err)
{
	struct stat sb;
	int nfd;

	if (fstat(STDOUT_FILENO, &sb) < 0)
		return -errno;
	*fd = STDOUT_FILENO;
	*own = 0;
	if (S_ISSOCK(sb.st_mode) ||
	    !(S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))) {
		*kind = S_ISSOCK(sb.st_mode) ? STREAM_SOCKET : STREAM_REGULAR;
		return 0;
	}
	nfd = open("/proc/self/fd/1",
		   O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (nfd < 0) {
		/* ENXIO: a pipe whose reader is gone already; writes to
		 * fd 1 fail at once then */
		*reopen_err = errno;
		*kind = STREAM_BLOCKING;
		return 0;
	}
	*fd = nfd;
	*own = 1;
	*kind = STREAM_NONBLOCK;
	return 0;
}

/* Sets the kind of a (re)opened descriptor; a kind that waits needs the
 * buffer of the record a slow reader got part of. 0 or -ENOMEM. */
static int set_kind(struct stream *st, enum stream_kind kind)
{
	if ((kind == STREAM_NONBLOCK || kind == STREAM_SOCKET) && !st->pend) {
		st->pend = malloc(st->b.max_bytes);
		if (!st->pend)
			return -ENOMEM;
	}
	st->kind = kind;
	return 0;
}

static int stream_alloc(struct sink *s, const struct sink_url *u, int fd,
			int own, enum stream_kind kind)
{
	struct stream *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->fd = fd;
	st->own_fd = own;
	st->s = s;
	st->encode = kind != STREAM_NULL || u->format != SINK_FMT_AUTO;
	st->budget_ns =
		u->wait_ms < 0 ? UINT64_MAX : (uint64_t)u->wait_ms * 1000000ull;
	st->follow = u->follow;
	st->mode = file_mode(u);
	st->path = u->ops == &sink_file_ops ? strdup(u->path) : NULL;
	rc = u->ops == &sink_file_ops && !st->path ? -ENOMEM : 0;
	if (rc == 0 && st->encode)
		rc = batch_init(&st->b, s->format,
				u->max_bytes ? u->max_bytes : STREAM_MAX_BYTES,
				u->max_rows ? u->max_rows : STREAM_MAX_ROWS,
				STREAM_ARENA, STREAM_MAXPL, stream_emit, st);
	if (rc == 0)
		rc = set_kind(st, kind);
	if (rc < 0) {
		batch_release(&st->b);
		free(st->path);
		free(st);
		return rc;
	}
	s->priv = st;
	s->batch = st->encode ? &st->b : NULL;
	return 0;
}

/* wait_ms= bounds the waits for a pipe, FIFO, terminal or socket; a write
 * to a regular file cannot be bounded, so there it is refused. */
static int check_wait(const struct sink_url *u, enum stream_kind kind,
		      int reopen_err, char *err, size_t errlen)
{
	if (u->wait_ms < 0 ||
	    (kind != STREAM_REGULAR && kind != STREAM_BLOCKING))
		return 0;
	if (kind == STREAM_REGULAR)
		snprintf(err, errlen,
			 "wait_ms= does not apply to a regular file (a write "
			 "to it cannot be bounded)");
	else
		snprintf(err, errlen,
			 "wait_ms= needs stdout reopened non-blocking, and "
			 "/proc/self/fd/1 cannot be opened: %s",
			 strerror(reopen_err));
	return -EINVAL;
}

static int no_target(struct sink_url *u, char *err, size_t errlen)
{
	return u->target[0] ? sink_url_fail(u, err, errlen,
					    "this destination takes no target")
			    : 0;
}

static int stdout_parse(struct sink_url *u, char *err, size_t errlen)
{
	int rc = no_target(u, err, errlen);

	return rc ? rc
		  : sink_url_take_limits(u, SINK_MAX_BYTES_LIMIT, err, errlen);
}

/* wait_ms is judged once the file is open (a FIFO takes it). */
static int file_parse(struct sink_url *u, char *err, size_t errlen)
{
	const char *mode, *follow;
	int rc = sink_url_take_path(u, sizeof(u->path), err, errlen);

	if (rc == 0)
		rc = sink_url_take_limits(u, SINK_MAX_BYTES_LIMIT, err, errlen);
	if (rc < 0)
		return rc;
	mode = sink_url_take(u, "mode");
	if (mode) {
		/* octal digits only: "0640", "640"; no setuid/sticky bits */
		size_t n = strlen(mode);
		if (!n || n > 4 || strspn(mode, "01234567") != n ||
		    strtoul(mode, NULL, 8) > 0777)
			return sink_url_fail(u, err, errlen,
					     "mode '%.40s' (expected octal "
					     "0..0777, e.g. 0640)",
					     mode);
		u->mode = (int32_t)strtoul(mode, NULL, 8);
	}
	follow = sink_url_take(u, "follow");
	if (follow) {
		if (strcmp(follow, "0") != 0 && strcmp(follow, "1") != 0)
			return sink_url_fail(u, err, errlen,
					     "follow '%.40s' (expected 0 or 1)",
					     follow);
		u->follow = follow[0] == '1';
	}
	return 0;
}

static int null_parse(struct sink_url *u, char *err, size_t errlen)
{
	int rc = no_target(u, err, errlen);

	if (rc == 0)
		rc = sink_url_take_u32(u, "max_bytes", 64, SINK_MAX_BYTES_LIMIT,
				       &u->max_bytes, err, errlen);
	if (rc == 0)
		rc = sink_url_take_u32(u, "max_rows", 1, SINK_MAX_ROWS_LIMIT,
				       &u->max_rows, err, errlen);
	return rc;
}

static int stdout_open(struct sink *s, const struct sink_url *u, char *err,
		       size_t errlen)
{
	enum stream_kind kind;
	int fd, own, reopen_err = 0;
	int rc = stdout_fd(&fd, &own, &kind, &reopen_err);

	if (rc < 0) {
		snprintf(err, errlen, "stdout: %s", strerror(-rc));
		return rc;
	}
	rc = check_wait(u, kind, reopen_err, err, errlen);
	if (rc == 0)
		rc = stream_alloc(s, u, fd, own, kind);
	if (rc == 0)
		((struct stream *)s->priv)->is_stdout = 1;
	if (rc < 0 && own)
		close(fd);
	return rc;
}

static int file_open(struct sink *s, const struct sink_url *u, char *err,
		     size_t errlen)
{
	enum stream_kind kind;
	int fd, rc = open_path(u->path, u->follow, file_mode(u), &fd, &kind,
			       err, errlen);

	if (rc < 0)
		return rc;
	rc = check_wait(u, kind, 0, err, errlen);
	if (rc == 0)
		rc = stream_alloc(s, u, fd, 1, kind);
	if (rc < 0)
		close(fd);
	return rc;
}

static int null_open(struct sink *s, const struct sink_url *u, char *err,
		     size_t errlen)
{
	(void)err;
	(void)errlen;
	return stream_alloc(s, u, -1, 0, STREAM_NULL);
}

/* Once per poll: what went wrong, naming the errno. A reader that went
 * away is told once (every write fails the same way until a FIFO gets a
 * new one), and not at all when that ends the run (sink.h: sole). */
static void stream_log(struct stream *st, uint64_t errors, uint64_t dropped,
		       uint64_t records)
{
	struct sink *s = st->s;
	int gone = st->last_err == EPIPE || st->last_err == ECONNRESET;

	if (s->st.errors != errors && gone) {
		if (!st->gone_logged && !(s->sole && s->reader_gone))
			fprintf(stderr,
				"tcpscope: %s: the reader went away (%s); "
				"records for it are dropped\n",
				s->name, strerror(st->last_err));
		st->gone_logged = 1;
	} else if (s->st.errors != errors) {
		sink_log_limited(s, "write failed (%s); records dropped",
				 strerror(st->last_err));
	} else if (s->st.dropped != dropped) {
		sink_log_limited(s, "records dropped: %s",
				 st->wait_err == ECANCELED
					 ? "stop requested while the reader "
					   "was not reading"
					 : "the reader is not reading fast "
					   "enough (wait_ms)");
	} else if (s->st.records != records) {
		st->gone_logged = 0; /* a FIFO's new reader reads */
		s->reader_gone = 0;
	}
	if (st->cut_err &&
	    sink_log_limited(s, "cannot cut a partial record off (%s)",
			     st->cut_err > 0 ? strerror(st->cut_err)
					     : "the file goes on past it"))
		st->cut_err = 0;
}

static int stream_flush(struct sink *s)
{
	struct stream *st = s->priv;
	struct sink_stats before = s->st;

	if (st->encode)
		batch_flush(&st->b);
	/* a poll without records still owes a slow reader its record */
	(void)put_pending(st);
	st->waited_ns = 0;
	stream_log(st, before.errors, before.dropped, before.records);
	return s->st.errors != before.errors || s->st.dropped != before.dropped
		       ? -EIO
		       : 0;
}

/* At exit: what is held, and the rest of a record the reader got part
 * of, get what is left of the one exit deadline (every wait is clipped to
 * it, util/stop.h), whatever wait_ms is; then what is left is dropped. */
static int stream_finish(struct sink *s)
{
	struct stream *st = s->priv;

	st->budget_ns = UINT64_MAX;
	st->waited_ns = 0;
	(void)stream_flush(s);
	if (st->pend_len)
		(void)put_pending(st);
	drop_pending(st);
	return 0;
}

static int file_reopen(struct sink *s, char *err, size_t errlen)
{
	struct stream *st = s->priv;
	enum stream_kind kind;
	int fd, rc;

	(void)stream_flush(s);
	rc = open_path(st->path, st->follow, st->mode, &fd, &kind, err, errlen);
	if (rc < 0)
		return rc;
	rc = set_kind(st, kind);
	if (rc < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		close(fd);
		return rc;
	}
	drop_pending(st); /* the rest belonged to the old file */
	close(st->fd);
	st->fd = fd;
	return 0;
}

static void stream_release(struct sink *s)
{
	struct stream *st = s->priv;

	if (!st)
		return;
	stream_finish(s);
	if (st->own_fd)
		close(st->fd);
	batch_release(&st->b);
	free(st->pend);
	free(st->path);
	free(st);
}

const struct sink_ops sink_stdout_ops = {
	.scheme = "stdout",
	.form = "stdout",
	.options = "max_bytes, max_rows, wait_ms",
	.default_format = SINK_FMT_JSON,
	.parse = stdout_parse,
	.open = stdout_open,
	.flush = stream_flush,
	.finish = stream_finish,
	.release = stream_release,
};

const struct sink_ops sink_file_ops = {
	.scheme = "file",
	.form = "file:PATH",
	.options = "max_bytes, max_rows, wait_ms, mode, follow",
	.default_format = SINK_FMT_JSON,
	.parse = file_parse,
	.open = file_open,
	.flush = stream_flush,
	.reopen = file_reopen,
	.finish = stream_finish,
	.release = stream_release,
};

const struct sink_ops sink_null_ops = {
	.scheme = "null",
	.form = "null",
	.options = "max_bytes, max_rows",
	.default_format = SINK_FMT_PROTOBUF_LIST,
	.parse = null_parse,
	.open = null_open,
	.flush = stream_flush,
	.release = stream_release,
};
