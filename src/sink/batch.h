/*
 * batch.h - packs records into payloads (datagrams / stream frames).
 *
 * Contract: a batch owns one fixed arena and a fixed table of payloads.
 * batch_add() marshals a record (JSON line, length-prefixed XtcpFlatRecord,
 * or a row of the current Envelope) straight into the arena; a payload is
 * closed when the next record would pass max_bytes (framing included) or
 * max_rows, so a record is never split and a payload never exceeds
 * max_bytes. When the arena or the table is full, and at batch_flush(),
 * the closed payloads are handed to the owner's emit() and the arena is
 * reused. Payload bytes are the same for every transport:
 *   json           lines, each ending '\n'
 *   protobuf       varint(len) + XtcpFlatRecord, repeated
 *   protobuf-list  varint(len(Envelope)) + Envelope (ProtobufList framing)
 * A record that cannot fit max_bytes alone is not added: -EMSGSIZE, and the
 * caller counts it. No allocation or logging after batch_init().
 * Thread-safety: one thread at a time.
 */
#ifndef TS_BATCH_H
#define TS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "sink.h"

struct batch_payload {
	const uint8_t *data;
	size_t len;
	uint32_t rows;
};

/* Receives every closed payload; must account for each payload's rows
 * (delivered or dropped). The bytes are valid only during the call. */
typedef void (*batch_emit_fn)(void *ctx, const struct batch_payload *p,
			      unsigned n);

struct batch {
	enum sink_format fmt;
	uint32_t max_bytes;
	uint32_t max_rows;
	size_t room;   /* arena space kept free for the next record */
	size_t prefix; /* bytes reserved before an Envelope for its length */
	uint8_t *buf;
	size_t cap;
	size_t used;
	size_t cur; /* offset of the open payload (its prefix reserve) */
	uint32_t cur_rows;
	struct batch_payload *pl;
	unsigned npl;
	unsigned maxpl;
	batch_emit_fn emit;
	void *ctx;
	/* the fields marshalled (NULL: every one): set by the sink's owner
	 * (sink_new) after init, with the plan protobuf formats need */
	const struct ts_field_set *fields;
	const struct proto_plan *plan;
};

/* arena: at least this many bytes (raised to fit one full payload plus a
 * record); maxpl: payloads per emit() call. 0 or -errno. */
int batch_init(struct batch *b, enum sink_format fmt, uint32_t max_bytes,
	       uint32_t max_rows, size_t arena, unsigned maxpl,
	       batch_emit_fn emit, void *ctx);
/* 0, or -EMSGSIZE: the record alone exceeds max_bytes (not added). */
int batch_add(struct batch *b, const struct ts_record *r);
/* Closes the open payload and emits everything. */
void batch_flush(struct batch *b);
/* Of a payload of format fmt cut after its first n bytes (a short write),
 * or whole (n = its length: its rows, for a destination told of each
 * payload's fate by bytes alone): the bytes at its start that are whole
 * records, and *rows their count (an Envelope is whole only when all of it
 * is there). */
size_t batch_whole(enum sink_format fmt, const uint8_t *p, size_t n,
		   uint32_t *rows);
/* Frees the arena; does not emit. NULL or a zeroed batch is fine. */
void batch_release(struct batch *b);

#endif
