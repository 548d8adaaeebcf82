/* json.c - JSON-lines marshaller (see json.h).
 *
 * Speed: ts_fields[] is compiled once, at load time, into a plan in table
 * order (the key order of the output): per field its ts_field_access (one
 * load, shift and mask; presence as two compares) and its key with the
 * separator in front (",\"name\":", NUL-padded to TS_JSON_KEY_PAD), so an
 * integer field is one fixed-size key copy and digits written in place.
 * Fields that share their presence rule form runs (ts_field_runs): one
 * presence test per run, and one room check for a whole run of integers.
 * The record's first ',' becomes its '{'.
 * Near the end of the buffer every write is checked exactly instead, so
 * a record that does not fit never writes past `cap`. Walking ts_fields[]
 * with a switch per field and a memcpy call per value cost 13,764
 * instructions per record of the 20k capture (callgrind, bench/
 * parse_bench); this 6,792 (docs/benchmarks.md, "The last gap").
 */
#include "json.h"

#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "fields.h"

struct out {
	char *p;
	char *end;
};

struct jplan {
	struct ts_field_access a;
	uint16_t index; /* in ts_fields[]: the selection's bit */
	uint8_t keylen; /* with the ',' */
	char key[TS_JSON_KEY_PAD];
};

/* A key's pad and a u64's 20 digits: what the unchecked path may write. */
#define INT_ROOM (TS_JSON_KEY_PAD + 20)
/* A key's pad and a quoted address. */
#define ADDR_ROOM (TS_JSON_KEY_PAD + TS_ADDR_TEXT_MAX + 2)

static struct jplan plan[TS_FIELDS_MAX];
static struct ts_field_run runs[TS_FIELDS_MAX];
static size_t nruns;

/* test_fields checks that every key leaves a byte of its pad for the ','
 * (fields.c asserts that the table fits TS_FIELDS_MAX). */
__attribute__((constructor)) static void plan_init(void)
{
	for (size_t i = 0; i < ts_nfields; i++) {
		const struct ts_field *f = &ts_fields[i];
		struct jplan *e = &plan[i];

		ts_field_access_init(&e->a, f);
		e->index = (uint16_t)i;
		e->key[0] = ',';
		memcpy(e->key + 1, f->json_key, TS_JSON_KEY_PAD - 1);
		e->keylen = (uint8_t)(f->json_key_len + 1);
	}
	nruns = ts_field_runs(plan, sizeof(plan[0]), ts_nfields, runs);
}

static int put(struct out *o, const char *s, size_t n)
{
	if ((size_t)(o->end - o->p) < n)
		return -1;
	memcpy(o->p, s, n);
	o->p += n;
	return 0;
}

static int put_key(struct out *o, const struct jplan *e)
{
	if ((size_t)(o->end - o->p) < TS_JSON_KEY_PAD)
		return put(o, e->key, e->keylen);
	memcpy(o->p, e->key, TS_JSON_KEY_PAD);
	o->p += e->keylen;
	return 0;
}

static const char digits2[] = "00010203040506070809"
			      "10111213141516171819"
			      "20212223242526272829"
			      "30313233343536373839"
			      "40414243444546474849"
			      "50515253545556575859"
			      "60616263646566676869"
			      "70717273747576777879"
			      "80818283848586878889"
			      "90919293949596979899";

static const uint64_t pow10_u64[20] = {
	1ull,
	10ull,
	100ull,
	1000ull,
	10000ull,
	100000ull,
	1000000ull,
	10000000ull,
	100000000ull,
	1000000000ull,
	10000000000ull,
	100000000000ull,
	1000000000000ull,
	10000000000000ull,
	100000000000000ull,
	1000000000000000ull,
	10000000000000000ull,
	100000000000000000ull,
	1000000000000000000ull,
	10000000000000000000ull,
};

/* Decimal digits of v >= 1: log10 from the bit length (1233 / 4096 is
 * just above log10(2)), corrected by one compare. */
static inline unsigned dec_len(uint64_t v)
{
	unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;

	return t + 1 - (v < pow10_u64[t]);
}

/* v in decimal at p, two digits per step from the end (most values fit
 * 32 bits, whose divisions are cheaper); returns the end. */
static inline char *put_dec(char *p, uint64_t v)
{
	char *q;

	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	q = p + dec_len(v);
	p = q;
	for (; v > UINT32_MAX; v /= 100) {
		q -= 2;
		memcpy(q, digits2 + 2 * (v % 100), 2);
	}
	uint32_t w = (uint32_t)v;
	for (; w >= 100; w /= 100) {
		q -= 2;
		memcpy(q, digits2 + 2 * (w % 100), 2);
	}
	if (w >= 10)
		memcpy(q - 2, digits2 + 2 * w, 2);
	else
		q[-1] = (char)('0' + w);
	return p;
}

/* Near the end of the buffer: built aside, copied only if it all fits. */
__attribute__((noinline)) static int
put_int_exact(struct out *o, const struct jplan *e, uint64_t v)
{
	char tmp[INT_ROOM];

	memcpy(tmp, e->key, TS_JSON_KEY_PAD);
	char *end = put_dec(tmp + e->keylen, v);
	return put(o, tmp, (size_t)(end - tmp));
}

static inline int put_int(struct out *o, const struct jplan *e, uint64_t v)
{
	if ((size_t)(o->end - o->p) < INT_ROOM)
		return put_int_exact(o, e, v);
	memcpy(o->p, e->key, TS_JSON_KEY_PAD);
	o->p = put_dec(o->p + e->keylen, v);
	return 0;
}

static inline int must_escape(unsigned char c)
{
	/* Non-ASCII bytes are escaped one by one: kernel strings are not
	 * guaranteed to be valid UTF-8. */
	return c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
}

/* The escape of c at p; returns its end. */
static char *put_escape(char *p, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '\\';
	if (c == '"' || c == '\\') {
		*p++ = (char)c;
		return p;
	}
	memcpy(p, "u00", 3);
	p[3] = hex[c >> 4];
	p[4] = hex[c & 15];
	return p + 5;
}

/* Quoted and escaped; where the worst case (every byte escaped) might not
 * fit, byte by byte with a check each. */
static int put_str(struct out *o, const char *s)
{
	size_t n = strlen(s);
	char *p = o->p;

	if ((size_t)(o->end - p) >= 6 * n + 2) {
		*p++ = '"';
		for (const unsigned char *c = (const unsigned char *)s; *c; c++)
			if (must_escape(*c))
				p = put_escape(p, *c);
			else
				*p++ = (char)*c;
		*p++ = '"';
		o->p = p;
		return 0;
	}
	if (put(o, "\"", 1))
		return -1;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char esc[6];
		size_t len = must_escape(*c)
				     ? (size_t)(put_escape(esc, *c) - esc)
				     : (esc[0] = (char)*c, 1);
		if (put(o, esc, len))
			return -1;
	}
	return put(o, "\"", 1);
}

size_t json_string(char *out, size_t cap, const char *s)
{
	struct out o = { out, out + cap };

	return put_str(&o, s) ? 0 : (size_t)(o.p - out);
}

static int put_addr(struct out *o, const struct jplan *e,
		    const struct ts_record *r)
{
	const unsigned char *a = (const unsigned char *)r + e->a.offset;
	char tmp[ADDR_ROOM];
	int fast = (size_t)(o->end - o->p) >= ADDR_ROOM;
	char *p = fast ? o->p : tmp;

	memcpy(p, e->key, TS_JSON_KEY_PAD);
	p += e->keylen;
	*p++ = '"';
	p += ts_addr_text(p, r->family, a);
	*p++ = '"';
	if (fast) {
		o->p = p;
		return 0;
	}
	return put(o, tmp, (size_t)(p - tmp));
}

/* Strings and addresses: 0 (a NULL string pointer writes nothing, as an
 * absent field), -1 when it does not fit. */
static int put_text(struct out *o, const struct jplan *e,
		    const struct ts_record *r)
{
	const unsigned char *src = (const unsigned char *)r + e->a.offset;
	const char *s;

	switch (e->a.kind) {
	case TS_FK_ADDR:
		return put_addr(o, e, r);
	case TS_FK_STR:
		s = (const char *)src;
		break;
	case TS_FK_STRPTR:
		memcpy(&s, src, sizeof(s));
		if (!s)
			return 0;
		break;
	default: /* TS_FK_STATE_NAME */
		s = ts_tcp_state_name(*src);
		break;
	}
	return put_key(o, e) || put_str(o, s) ? -1 : 0;
}

size_t json_record(char *out, size_t cap, const struct ts_record *r)
{
	return json_record_fields(out, cap, r, NULL);
}

/* A run of integer fields [e, stop) with room for all of them: no check
 * per field. `sel`: the selection is tested (a constant where this is
 * inlined, so the loop without a selection does not test it). */
static inline __attribute__((always_inline)) char *
put_ints(char *p, const struct jplan *e, const struct jplan *stop,
	 const struct ts_record *r, const struct ts_field_set *fs, int sel)
{
	for (; e < stop; e++) {
		if (sel && !ts_field_set_has(fs, e->index))
			continue;
		memcpy(p, e->key, TS_JSON_KEY_PAD);
		p = put_dec(p + e->keylen, ts_access_uint(&e->a, r));
	}
	return p;
}

/* The run's fields that this record has; -1 when they do not fit. */
static int put_run(struct out *o, const struct ts_field_run *run,
		   const struct ts_record *r, const struct ts_field_set *fs)
{
	const struct jplan *e = plan + run->first;
	const struct jplan *stop =
		e +
		ts_run_visible(run, plan, sizeof(plan[0]), r->tcp_info_size);

	if (run->ints && (size_t)(o->end - o->p) >= run->n * INT_ROOM) {
		o->p = fs ? put_ints(o->p, e, stop, r, fs, 1)
			  : put_ints(o->p, e, stop, r, NULL, 0);
		return 0;
	}
	for (; e < stop; e++) {
		if (!ts_field_set_has(fs, e->index))
			continue;
		if (run->ints ? put_int(o, e, ts_access_uint(&e->a, r))
			      : put_text(o, e, r))
			return -1;
	}
	return 0;
}

size_t json_record_fields(char *out, size_t cap, const struct ts_record *r,
			  const struct ts_field_set *fs)
{
	struct out o = { out, out + cap };
	const uint32_t present = r->present;

	for (const struct ts_field_run *run = runs; run < runs + nruns; run++)
		if ((present & run->mask) == run->mask &&
		    put_run(&o, run, r, fs) < 0)
			return 0;
	if (o.p == out)
		return put(&o, "{}\n", 3) ? 0 : 3;
	out[0] = '{'; /* the first field's ',' */
	if (put(&o, "}\n", 2))
		return 0;
	return (size_t)(o.p - out);
}
