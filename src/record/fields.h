/*
 * fields.h - one descriptor table for every field of struct ts_record.
 *
 * Contract: ts_fields[] names each record member with its xtcp2 wire name,
 * protobuf field number and type, where it lives in struct ts_record and
 * which INET_DIAG attribute must be present for it to mean anything. Every
 * marshaller (JSON, protobuf) walks this one table, so a field added here
 * appears in every format at once. Numbers from the reference table are
 * kept exactly; our additions use numbers from 3000 up.
 * The table is constant; thread-safe to read.
 */
#ifndef TS_FIELDS_H
#define TS_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"

enum ts_field_kind {
	TS_FK_U8,
	TS_FK_U16,
	TS_FK_U32,
	TS_FK_U64,
	TS_FK_BITS,	  /* u8 at offset, (v >> shift) & ((1 << width) - 1) */
	TS_FK_ADDR,	  /* 16 bytes, 4 used when family is AF_INET */
	TS_FK_STR,	  /* inline NUL-terminated char[] */
	TS_FK_STRPTR,	  /* const char * (may be NULL: field omitted) */
	TS_FK_STATE_NAME, /* name of the u8 TCP state at offset */
};

enum ts_proto_type {
	TS_PT_UINT32,
	TS_PT_UINT64,
	TS_PT_INT64,
	TS_PT_STRING,
	TS_PT_BYTES,
	TS_PT_ENUM,
};

#define TS_JSON_KEY_PAD 48

/* group: the INET_DIAG_* type that must be present, or TS_GROUP_ALWAYS. */
#define TS_GROUP_ALWAYS 0

struct ts_field {
	const char *name;
	/* "\"name\":" padded with NULs to a fixed size, so marshallers copy
	 * it with one constant-size move and advance by json_key_len. */
	char json_key[TS_JSON_KEY_PAD];
	uint8_t json_key_len;
	uint32_t proto_num;
	uint8_t proto_type; /* enum ts_proto_type */
	uint8_t kind;	    /* enum ts_field_kind */
	uint8_t group;
	uint8_t bit_shift;
	uint8_t bit_width;
	uint16_t offset; /* offsetof(struct ts_record, member) */
	uint16_t end;	 /* for INFO: offset within tcp_info + size, so
			    fields past tcp_info_size are known absent */
};

/* A bound on the table, for those that size a copy of it (proto.c's
 * plan): fields.c asserts at compile time that the table fits. */
#define TS_FIELDS_MAX 256

extern const struct ts_field ts_fields[];
extern const size_t ts_nfields;

/* A selection of fields (--fields, a destination's fields=): one bit per
 * ts_fields[] entry. Everywhere, NULL means every field. */
struct ts_field_set {
	uint64_t w[TS_FIELDS_MAX / 64];
};

static inline int ts_field_set_has(const struct ts_field_set *s, size_t i)
{
	return !s || ((s->w[i >> 6] >> (i & 63)) & 1);
}

/* "name,name,group...": field names as the records spell them, or the
 * groups tcp_info, skmem, meminfo, bbr, dctcp, vegas, socket,
 * congestion. 0 and *out; -EINVAL with a reason naming the closest known
 * names in `err` (*out untouched). */
int ts_field_set_parse(const char *list, struct ts_field_set *out, char *err,
		       size_t errlen);

/* True when the field carries data in this record: its attribute was sent
 * and, for tcp_info fields, the kernel's struct was long enough. Inline:
 * marshallers call it for every field of every record. */
static inline int ts_field_present(const struct ts_field *f,
				   const struct ts_record *r)
{
	if (f->group != TS_GROUP_ALWAYS && !(r->present & (1u << f->group)))
		return 0;
	if (f->end && f->end > r->tcp_info_size)
		return 0;
	if (f->kind == TS_FK_STRPTR) {
		const char *s;
		memcpy(&s, (const char *)r + f->offset, sizeof(s));
		return s != NULL;
	}
	return 1;
}

/* A field as the marshallers' hot loops read it, compiled once from its
 * ts_fields[] entry by ts_field_access_init(): the value is one 8-byte
 * load, a shift and a mask (no switch on the kind), and presence is
 * ts_field_present()'s rule as two compares (a STRPTR's NULL test is the
 * marshaller's). */
struct ts_field_access {
	uint64_t vmask;	 /* value bits after the shift (0: not an integer) */
	uint32_t mask;	 /* present bits required (0: always) */
	uint16_t load;	 /* offset of the 8-byte load in struct ts_record */
	uint16_t end;	 /* tcp_info bytes needed (0: not a tcp_info field) */
	uint16_t offset; /* of the member itself */
	uint8_t shift;	 /* bits from the load to the value */
	uint8_t kind;	 /* enum ts_field_kind */
};

void ts_field_access_init(struct ts_field_access *a, const struct ts_field *f);

static inline int ts_access_present(const struct ts_field_access *a,
				    uint32_t present, uint16_t info_size)
{
	return (present & a->mask) == a->mask && a->end <= info_size;
}

/* An integer-kind field's value (0 for other kinds). */
static inline uint64_t ts_access_uint(const struct ts_field_access *a,
				      const struct ts_record *r)
{
	uint64_t v;

	memcpy(&v, (const unsigned char *)r + a->load, sizeof(v));
	return (v >> a->shift) & a->vmask;
}

/* Consecutive entries of a marshaller's plan that one test finds present:
 * the same `mask`, ends that never decrease (so the entries a short
 * tcp_info leaves out are a tail), and integer kinds only or none. A
 * marshaller tests a run's presence once, and its room once for the
 * integer ones, instead of each field's. */
struct ts_field_run {
	uint32_t mask;
	uint16_t first; /* index of its first entry */
	uint16_t n;	/* entries */
	uint16_t end;	/* its last (largest) end */
	uint8_t ints;	/* every entry of an integer kind (U8..BITS) */
};

/* entries: n plan entries `stride` bytes apart, each starting with its
 * struct ts_field_access. Writes the runs to runs[] (room for n) and
 * returns their count. */
size_t ts_field_runs(const void *entries, size_t stride, size_t n,
		     struct ts_field_run *runs);

/* How many of the run's entries a record with `info_size` bytes of
 * tcp_info has: all unless its tcp_info is short (an older kernel's, on
 * every record then), when a binary search finds where the tail starts. */
static inline size_t ts_run_visible(const struct ts_field_run *run,
				    const void *entries, size_t stride,
				    uint16_t info_size)
{
	const char *first = (const char *)entries + run->first * stride;
	size_t lo = 0, hi = run->n;

	if (run->end <= info_size)
		return run->n;
	while (lo < hi) { /* ends never decrease within a run */
		size_t mid = (lo + hi) / 2;
		const struct ts_field_access *a =
			(const void *)(first + mid * stride);
		if (a->end <= info_size)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Integer value of an integer-kind field (U8..BITS); 0 for other kinds. */
static inline uint64_t ts_field_uint(const struct ts_field *f,
				     const struct ts_record *r)
{
	const unsigned char *p = (const unsigned char *)r + f->offset;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (f->kind) {
	case TS_FK_U8:
	case TS_FK_STATE_NAME:
		return *p;
	case TS_FK_U16:
		memcpy(&v16, p, sizeof(v16));
		return v16;
	case TS_FK_U32:
		memcpy(&v32, p, sizeof(v32));
		return v32;
	case TS_FK_U64:
		memcpy(&v64, p, sizeof(v64));
		return v64;
	case TS_FK_BITS:
		return (*p >> f->bit_shift) & ((1u << f->bit_width) - 1);
	default:
		return 0;
	}
}

#endif
