/*
 * json_check.h - a strict RFC 8259 validator for the JSON-lines output,
 * kept independent of src/record/json.c so that it can judge it. It also
 * collects the top-level keys (rejecting duplicates) so tests can look at
 * single values.
 */
#ifndef TS_JSON_CHECK_H
#define TS_JSON_CHECK_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define JC_MAX_KEYS 512

struct jc_kv {
	const char *key; /* raw text between the quotes */
	size_t klen;
	const char *val; /* raw value text */
	size_t vlen;
};

struct jc_obj {
	struct jc_kv kv[JC_MAX_KEYS];
	size_t n;
	const char *err; /* what was wrong */
	size_t errpos;	 /* where */
};

struct jc_p {
	const char *s, *beg, *end;
	int depth;
	struct jc_obj *top;
};

static int jc_fail(struct jc_p *p, const char *why)
{
	if (!p->top->err) {
		p->top->err = why;
		p->top->errpos = (size_t)(p->s - p->beg);
	}
	return -1;
}

static void jc_ws(struct jc_p *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' ||
				 *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static int jc_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence starting with byte c >= 0x80 (no overlongs,
 * no surrogates, <= U+10FFFF). */
static int jc_utf8(struct jc_p *p)
{
	const unsigned char *u = (const unsigned char *)p->s;
	size_t left = (size_t)(p->end - p->s), n;
	unsigned cp;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2, cp = u[0] & 0x1fu;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3, cp = u[0] & 0x0fu;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4, cp = u[0] & 0x07u;
	else
		return jc_fail(p, "invalid UTF-8 lead byte");
	if (left < n)
		return jc_fail(p, "truncated UTF-8");
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return jc_fail(p, "invalid UTF-8 continuation");
		cp = cp << 6 | (u[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return jc_fail(p, "overlong or invalid code point");
	p->s += n;
	return 0;
}

static int jc_string(struct jc_p *p)
{
	if (p->s >= p->end || *p->s != '"')
		return jc_fail(p, "expected '\"'");
	p->s++;
	while (p->s < p->end) {
		unsigned char c = (unsigned char)*p->s;
		if (c == '"') {
			p->s++;
			return 0;
		}
		if (c < 0x20)
			return jc_fail(p, "raw control character in string");
		if (c >= 0x80) {
			if (jc_utf8(p))
				return -1;
			continue;
		}
		if (c != '\\') {
			p->s++;
			continue;
		}
		if (++p->s >= p->end)
			break;
		if (*p->s == 'u') {
			for (int i = 1; i <= 4; i++)
				if (p->s + i >= p->end || !jc_hex(p->s[i]))
					return jc_fail(p, "bad \\u escape");
			p->s += 5;
		} else if (*p->s && strchr("\"\\/bfnrt", *p->s)) {
			p->s++;
		} else {
			return jc_fail(p, "bad escape");
		}
	}
	return jc_fail(p, "unterminated string");
}

static int jc_digits(struct jc_p *p)
{
	const char *b = p->s;
	while (p->s < p->end && *p->s >= '0' && *p->s <= '9')
		p->s++;
	return p->s > b ? 0 : jc_fail(p, "expected digit");
}

static int jc_number(struct jc_p *p)
{
	if (p->s < p->end && *p->s == '-')
		p->s++;
	if (p->s < p->end && *p->s == '0')
		p->s++;
	else if (jc_digits(p))
		return -1;
	if (p->s < p->end && *p->s == '.') {
		p->s++;
		if (jc_digits(p))
			return -1;
	}
	if (p->s < p->end && (*p->s == 'e' || *p->s == 'E')) {
		p->s++;
		if (p->s < p->end && (*p->s == '+' || *p->s == '-'))
			p->s++;
		if (jc_digits(p))
			return -1;
	}
	return 0;
}

static int jc_value(struct jc_p *p);

static int jc_word(struct jc_p *p, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(p->end - p->s) < n || memcmp(p->s, w, n) != 0)
		return jc_fail(p, "unexpected character");
	p->s += n;
	return 0;
}

static int jc_add_key(struct jc_p *p, const char *k, size_t klen)
{
	struct jc_obj *o = p->top;
	for (size_t i = 0; i < o->n; i++)
		if (o->kv[i].klen == klen && !memcmp(o->kv[i].key, k, klen))
			return jc_fail(p, "duplicate key");
	if (o->n == JC_MAX_KEYS)
		return jc_fail(p, "too many keys");
	o->kv[o->n].key = k;
	o->kv[o->n].klen = klen;
	o->n++;
	return 0;
}

/* Object or array; `top` records the keys of the outermost object. */
static int jc_container(struct jc_p *p, int top)
{
	char close = *p->s == '{' ? '}' : ']';
	int first = 1;

	if (++p->depth > 64)
		return jc_fail(p, "too deep");
	p->s++;
	for (;;) {
		jc_ws(p);
		if (p->s < p->end && *p->s == close && first)
			break;
		if (!first) {
			if (p->s < p->end && *p->s == close)
				break;
			if (p->s >= p->end || *p->s != ',')
				return jc_fail(p, "expected ',' or end");
			p->s++;
			jc_ws(p);
		}
		first = 0;
		if (close == '}') {
			const char *k = p->s + 1;
			if (jc_string(p))
				return -1;
			if (top && jc_add_key(p, k, (size_t)(p->s - 1 - k)))
				return -1;
			jc_ws(p);
			if (p->s >= p->end || *p->s != ':')
				return jc_fail(p, "expected ':'");
			p->s++;
			jc_ws(p);
		}
		const char *v = p->s;
		if (jc_value(p))
			return -1;
		if (top && close == '}') {
			p->top->kv[p->top->n - 1].val = v;
			p->top->kv[p->top->n - 1].vlen = (size_t)(p->s - v);
		}
	}
	p->s++;
	p->depth--;
	return 0;
}

static int jc_value(struct jc_p *p)
{
	if (p->s >= p->end)
		return jc_fail(p, "expected a value");
	switch (*p->s) {
	case '{':
	case '[':
		return jc_container(p, 0);
	case '"':
		return jc_string(p);
	case 't':
		return jc_word(p, "true");
	case 'f':
		return jc_word(p, "false");
	case 'n':
		return jc_word(p, "null");
	default:
		if (*p->s == '-' || (*p->s >= '0' && *p->s <= '9'))
			return jc_number(p);
		return jc_fail(p, "unexpected character");
	}
}

/*
 * s[0..len) must be exactly one JSON object (no whitespace around, as
 * json_record writes it) and one '\n'. Returns 0, or -1 with o->err set.
 */
static inline int jc_line(const char *s, size_t len, struct jc_obj *o)
{
	struct jc_p p = { s, s, s + len, 0, o };

	memset(o, 0, sizeof(*o));
	if (len < 3 || s[len - 1] != '\n') {
		o->err = "not terminated by a newline";
		return -1;
	}
	p.end--;
	if (*p.s != '{')
		return jc_fail(&p, "not an object");
	if (jc_container(&p, 1))
		return -1;
	if (p.s != p.end)
		return jc_fail(&p, "trailing bytes after the object");
	return 0;
}

/* Raw text of the value of top-level `key`, or NULL. */
static inline const char *jc_get(const struct jc_obj *o, const char *key,
				 size_t *vlen)
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < o->n; i++)
		if (o->kv[i].klen == kl && !memcmp(o->kv[i].key, key, kl)) {
			*vlen = o->kv[i].vlen;
			return o->kv[i].val;
		}
	return NULL;
}

/* True when top-level `key` has exactly the raw value text `raw`. */
static inline int jc_is(const struct jc_obj *o, const char *key,
			const char *raw)
{
	size_t vl;
	const char *v = jc_get(o, key, &vl);
	if (!v || vl != strlen(raw) || memcmp(v, raw, vl) != 0) {
		fprintf(stderr, "%s: got %.*s, want %s\n", key, v ? (int)vl : 6,
			v ? v : "absent", raw);
		return 0;
	}
	return 1;
}

static inline int jc_has(const struct jc_obj *o, const char *key)
{
	size_t vl;
	return jc_get(o, key, &vl) != NULL;
}

#endif
