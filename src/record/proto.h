/*
 * proto.h - protobuf marshaller for struct ts_record (XtcpFlatRecord).
 *
 * Contract: proto_record() writes one XtcpFlatRecord message (no length
 * prefix) into the caller's buffer, walking ts_fields[]: the same field
 * numbers and wire types as proto/xtcp_flat_record.proto, so protobuf-c and
 * `protoc --decode` read it. Like proto3, fields whose value is zero or
 * empty are omitted, and so are fields whose attribute was absent (decoders
 * see 0 either way). Addresses are bytes: 16 for AF_INET6, else 4 (as json.c).
 * No allocation, no I/O: the hot path of every protobuf sink.
 * Thread-safety: reentrant.
 */
#ifndef TS_PROTO_H
#define TS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/* A buffer this large always fits a record whose hostname and netns are
 * shorter than 1 KiB each (every field: <= 3 bytes tag + 10 value). */
#define PROTO_RECORD_MAX 8192

/* Envelope { repeated XtcpFlatRecord row = 10; }: tag of one row. */
#define PROTO_ENVELOPE_ROW_TAG 0x52 /* (10 << 3) | 2 */

/* 0 and *len_out (bytes written; 0 is a valid, empty message), or
 * -EMSGSIZE when `cap` is too small (buffer contents undefined then). */
int proto_record(uint8_t *out, size_t cap, const struct ts_record *r,
		 size_t *len_out);

/* The fields of a selection, compiled (--fields, fields=). */
struct proto_plan;
struct ts_field_set;
/* NULL when out of memory; fs NULL: every field. */
struct proto_plan *proto_plan_new(const struct ts_field_set *fs);
void proto_plan_free(struct proto_plan *p);
/* proto_record() with only the plan's fields (plan NULL: every field). */
int proto_record_plan(uint8_t *out, size_t cap, const struct ts_record *r,
		      const struct proto_plan *plan, size_t *len_out);

/* Bytes of the varint encoding of v (1..10). */
static inline size_t proto_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v as a varint at p; returns the bytes written. */
static inline size_t proto_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

#endif
