/*
 * proto.c - XtcpFlatRecord encoder (see proto.h).
 *
 * Our own encoder rather than protobuf-c's pack(): that needs a filled C
 * struct per record (another copy of every field) and walks descriptors
 * with per-field indirections; this one reads struct ts_record directly
 * and writes tags and varints into the caller's buffer.
 * Speed: ts_fields[] is compiled once, at load time, into a plan: integer
 * fields first, each as (8-byte load offset, shift, mask, presence mask,
 * ready-made tag bytes), so the hot loop has no switch on the field kind.
 * Walking ts_fields[] with ts_field_present()/ts_field_uint() per field
 * cost ~0.4 us per record on loopback sockets, mostly mispredicted
 * indirect jumps; this costs ~0.2 us (a fully branchless variant with a
 * shift-based varint writer measured slower). Field order on the wire
 * does not matter to protobuf decoders, so strings and addresses go last.
 * The integers are cut into runs that share their presence rule
 * (ts_field_runs), tested once per run with the room for the whole run:
 * the inner loop is load, shift, mask, and the tag and varint of what is
 * not zero (3,540 -> 3,360 instructions per record of the 20k capture).
 * The presence rules are ts_field_present()'s (test_fields checks
 * ts_field_access against it); tests/sink/test_proto_encode.c checks
 * every field against the JSON marshaller on random records.
 */
#include "proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fields.h"

enum { WT_VARINT = 0, WT_LEN = 2 };

/* Room for one tag (field numbers < 2^25: 4 bytes) and one varint. */
#define SCALAR_ROOM 16

struct plan {
	struct ts_field_access a;
	uint8_t taglen;
	uint8_t tag[4]; /* varint tag, wire type of the kind */
};

struct proto_plan {
	struct plan e[TS_FIELDS_MAX];
	size_t nints, n; /* integer entries first, then the others */
	struct ts_field_run runs[TS_FIELDS_MAX]; /* of the integer entries */
	size_t nruns;
};

/* ts_fields[] is a constant table: compiling it at load time keeps the
 * encoder free of locks and of a first-call branch. fields.c asserts at
 * compile time that the table fits. A selection gets its own plan. */
static struct proto_plan all;

static int is_len_kind(unsigned kind)
{
	return kind == TS_FK_ADDR || kind == TS_FK_STR ||
	       kind == TS_FK_STRPTR || kind == TS_FK_STATE_NAME;
}

static void plan_one(struct plan *e, const struct ts_field *f)
{
	ts_field_access_init(&e->a, f);
	e->taglen = (uint8_t)proto_varint_put(
		e->tag, ((uint64_t)f->proto_num << 3) |
				(is_len_kind(f->kind) ? WT_LEN : WT_VARINT));
}

static void plan_build(struct proto_plan *p, const struct ts_field_set *fs)
{
	p->n = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < ts_nfields; i++)
			if (is_len_kind(ts_fields[i].kind) == pass &&
			    ts_field_set_has(fs, i))
				plan_one(&p->e[p->n++], &ts_fields[i]);
	for (p->nints = 0;
	     p->nints < p->n && !is_len_kind(p->e[p->nints].a.kind); p->nints++)
		;
	p->nruns = ts_field_runs(p->e, sizeof(p->e[0]), p->nints, p->runs);
}

__attribute__((constructor)) static void plan_init(void)
{
	plan_build(&all, NULL);
}

struct proto_plan *proto_plan_new(const struct ts_field_set *fs)
{
	struct proto_plan *p = malloc(sizeof(*p));

	if (p)
		plan_build(p, fs);
	return p;
}

void proto_plan_free(struct proto_plan *p)
{
	free(p);
}

/* Length-delimited field; NULL when it does not fit. */
static uint8_t *put_len(uint8_t *p, const uint8_t *end, const struct plan *e,
			const void *data, size_t n)
{
	if ((size_t)(end - p) < SCALAR_ROOM + n)
		return NULL;
	memcpy(p, e->tag, sizeof(e->tag));
	p += e->taglen;
	p += proto_varint_put(p, n);
	memcpy(p, data, n);
	return p + n;
}

/* Strings and addresses. */
static uint8_t *put_other(uint8_t *p, const uint8_t *end, const struct plan *e,
			  const struct ts_record *r)
{
	const unsigned char *src = (const unsigned char *)r + e->a.offset;
	const char *s = NULL;

	switch (e->a.kind) {
	case TS_FK_ADDR:
		return put_len(p, end, e, src, r->family == AF_INET6 ? 16 : 4);
	case TS_FK_STR:
		s = (const char *)src;
		break;
	case TS_FK_STRPTR:
		memcpy(&s, src, sizeof(s));
		break;
	case TS_FK_STATE_NAME:
		s = ts_tcp_state_name(*src);
		break;
	}
	/* proto3: an empty string is the default and is not sent; NULL is
	 * an absent field */
	return s && *s ? put_len(p, end, e, s, strlen(s)) : p;
}

int proto_record(uint8_t *out, size_t cap, const struct ts_record *r,
		 size_t *len_out)
{
	return proto_record_plan(out, cap, r, NULL, len_out);
}

/* The non-zero integers of [e, stop), with room for all of them. */
static inline __attribute__((always_inline)) uint8_t *
put_varints(uint8_t *p, const struct plan *e, const struct plan *stop,
	    const struct ts_record *r)
{
	for (; e < stop; e++) {
		uint64_t v = ts_access_uint(&e->a, r);

		/* proto3 zeros are not sent; which fields are zero repeats
		 * from socket to socket, so this branch is well predicted (a
		 * branchless variant measured slower) */
		if (v == 0)
			continue;
		memcpy(p, e->tag, sizeof(e->tag));
		p += e->taglen;
		if (v < 0x80)
			*p++ = (uint8_t)v;
		else
			p += proto_varint_put(p, v);
	}
	return p;
}

/* A run of integer fields: its presence tested once, and its room once
 * unless the buffer is nearly full. NULL when it does not fit. */
static uint8_t *put_run(uint8_t *p, const uint8_t *end,
			const struct proto_plan *pp,
			const struct ts_field_run *run,
			const struct ts_record *r)
{
	const struct plan *e = pp->e + run->first;
	const struct plan *stop =
		e +
		ts_run_visible(run, pp->e, sizeof(pp->e[0]), r->tcp_info_size);

	if ((size_t)(end - p) >= run->n * SCALAR_ROOM)
		return put_varints(p, e, stop, r);
	for (; e < stop; e++) {
		if ((size_t)(end - p) < SCALAR_ROOM)
			return NULL;
		p = put_varints(p, e, e + 1, r);
	}
	return p;
}

int proto_record_plan(uint8_t *out, size_t cap, const struct ts_record *r,
		      const struct proto_plan *pp, size_t *len_out)
{
	if (!pp)
		pp = &all;
	const struct plan *plan = pp->e;
	const size_t nints = pp->nints;
	const size_t nplan = pp->n;
	const uint32_t present = r->present;
	const uint16_t info_size = r->tcp_info_size;
	const uint8_t *end = out + cap;
	uint8_t *p = out;

	for (const struct ts_field_run *run = pp->runs;
	     run < pp->runs + pp->nruns; run++) {
		if ((present & run->mask) != run->mask)
			continue;
		p = put_run(p, end, pp, run, r);
		if (!p)
			return -EMSGSIZE;
	}
	for (const struct plan *e = plan + nints; e < plan + nplan; e++) {
		if (!ts_access_present(&e->a, present, info_size))
			continue;
		p = put_other(p, end, e, r);
		if (!p)
			return -EMSGSIZE;
	}
	/* may be 0: an all-default record is an empty message, still a row */
	*len_out = (size_t)(p - out);
	return 0;
}
