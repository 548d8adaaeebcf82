/*
 * batch.c - record packing (see batch.h).
 *
 * Records are marshalled in place, behind a reserve for their framing, so
 * the common case copies nothing: the row header (tag + varint length) is
 * written in front of the record once its length is known, and only when
 * the length needs fewer or more bytes than reserved is the record moved.
 * An Envelope's own length prefix is written when the payload closes, into
 * the reserve left in front of it, right-aligned.
 */
#include "batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../record/json.h"
#include "../record/proto.h"

/* Row header reserve: tag (list only) + a 2-byte varint (records < 16 KiB). */
#define ROW_RESERVE 3

int batch_init(struct batch *b, enum sink_format fmt, uint32_t max_bytes,
	       uint32_t max_rows, size_t arena, unsigned maxpl,
	       batch_emit_fn emit, void *ctx)
{
	struct batch n = { 0 };

	if (fmt == SINK_FMT_AUTO || max_bytes == 0 || max_rows == 0 || !maxpl)
		return -EINVAL;
	n.fmt = fmt;
	n.max_bytes = max_bytes;
	n.max_rows = max_rows;
	n.prefix =
		fmt == SINK_FMT_PROTOBUF_LIST ? proto_varint_len(max_bytes) : 0;
	n.room = (fmt == SINK_FMT_JSON ? JSON_RECORD_MAX : PROTO_RECORD_MAX) +
		 ROW_RESERVE + 8 + n.prefix;
	n.cap = arena;
	if (n.cap < (size_t)max_bytes + n.room)
		n.cap = (size_t)max_bytes + n.room;
	n.maxpl = maxpl;
	n.emit = emit;
	n.ctx = ctx;
	n.buf = malloc(n.cap);
	n.pl = calloc(maxpl, sizeof(*n.pl));
	if (!n.buf || !n.pl) {
		free(n.buf);
		free(n.pl);
		return -ENOMEM;
	}
	n.used = n.prefix;
	*b = n;
	return 0;
}

void batch_release(struct batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->pl);
	b->buf = NULL;
	b->pl = NULL;
}

/* Closes the open payload (if it has rows) and opens the next one at
 * `used`. Needs a free slot in pl[]. */
static void close_payload(struct batch *b)
{
	size_t body = b->cur + b->prefix;
	size_t len = b->used - body;
	uint8_t *start = b->buf + body;

	if (b->cur_rows == 0)
		return;
	if (b->fmt == SINK_FMT_PROTOBUF_LIST) {
		size_t vlen = proto_varint_len(len);
		start -= vlen;
		proto_varint_put(start, len);
		len += vlen;
	}
	b->pl[b->npl++] = (struct batch_payload){ start, len, b->cur_rows };
	b->cur = b->used;
	b->used += b->prefix;
	b->cur_rows = 0;
}

static void emit_all(struct batch *b)
{
	close_payload(b);
	if (b->npl)
		b->emit(b->ctx, b->pl, b->npl);
	b->npl = 0;
	b->cur = 0;
	b->used = b->prefix;
	b->cur_rows = 0;
}

/* Emits the closed payloads and moves the open one to the arena's start:
 * the arena fits max_bytes + room, so the next record fits after it.
 * Never closes the open payload early (that would send a short one). */
static void make_room(struct batch *b)
{
	size_t len = b->used - b->cur;

	if (b->npl)
		b->emit(b->ctx, b->pl, b->npl);
	b->npl = 0;
	if (b->cur)
		memmove(b->buf, b->buf + b->cur, len);
	b->cur = 0;
	b->used = len;
}

void batch_flush(struct batch *b)
{
	emit_all(b);
}

/* Marshals r at p (the arena has b->room free there) with its framing;
 * 0 and *len_out (framed bytes at p), or -EMSGSIZE. */
static int frame_record(struct batch *b, uint8_t *p, const struct ts_record *r,
			size_t *len_out)
{
	size_t hdr = 0, n;
	uint8_t head[16];

	if (b->fmt == SINK_FMT_JSON) {
		n = json_record_fields((char *)p, JSON_RECORD_MAX, r,
				       b->fields);
		if (n == 0)
			return -EMSGSIZE;
		*len_out = n;
		return 0;
	}
	if (proto_record_plan(p + ROW_RESERVE, PROTO_RECORD_MAX, r, b->plan,
			      &n) < 0)
		return -EMSGSIZE;
	if (b->fmt == SINK_FMT_PROTOBUF_LIST)
		head[hdr++] = PROTO_ENVELOPE_ROW_TAG;
	hdr += proto_varint_put(head + hdr, n);
	if (hdr != ROW_RESERVE)
		memmove(p + hdr, p + ROW_RESERVE, n);
	memcpy(p, head, hdr);
	*len_out = hdr + n;
	return 0;
}

int batch_add(struct batch *b, const struct ts_record *r)
{
	uint8_t *p;
	size_t n;

	/* keep a pl[] slot for the close this record may cause */
	if (b->cap - b->used < b->room || b->npl + 1 >= b->maxpl)
		make_room(b);
	p = b->buf + b->used;
	if (frame_record(b, p, r, &n) < 0 || n + b->prefix > b->max_bytes)
		return -EMSGSIZE;
	if (b->cur_rows && (b->cur_rows == b->max_rows ||
			    b->used + n - b->cur > b->max_bytes)) {
		close_payload(b);
		/* the record now opens the next payload, behind its reserve */
		if (b->prefix)
			memmove(b->buf + b->used, p, n);
	}
	b->used += n;
	b->cur_rows++;
	return 0;
}

/* A varint at p[*i] before n: 0 and *v (*i moved past it), or -1 when it
 * is cut. */
static int get_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
	*v = 0;
	for (unsigned sh = 0; *i < n && sh < 64; sh += 7) {
		*v |= (uint64_t)(p[*i] & 0x7f) << sh;
		if (!(p[(*i)++] & 0x80))
			return 0;
	}
	return -1;
}

size_t batch_whole(enum sink_format fmt, const uint8_t *p, size_t n,
		   uint32_t *rows)
{
	size_t whole = 0, i = 0, end;
	uint64_t len;

	*rows = 0;
	if (fmt == SINK_FMT_JSON) {
		/* lines: a record's text never holds a raw newline */
		const uint8_t *q = p, *nl;
		while ((nl = memchr(q, '\n', n - (size_t)(q - p)))) {
			q = nl + 1;
			++*rows;
		}
		return (size_t)(q - p);
	}
	if (fmt == SINK_FMT_PROTOBUF) {
		while (whole < n && get_varint(p, n, &i, &len) == 0 &&
		       len <= n - i) {
			whole = i = i + (size_t)len;
			++*rows;
		}
		return whole;
	}
	/* one Envelope, whole only when all of it is there; its rows are
	 * the frames behind the row tag */
	if (get_varint(p, n, &i, &len) < 0 || len > n - i)
		return 0;
	end = i + (size_t)len;
	while (i < end && p[i++] == PROTO_ENVELOPE_ROW_TAG &&
	       get_varint(p, end, &i, &len) == 0 && len <= end - i) {
		i += (size_t)len;
		++*rows;
	}
	return end;
}
