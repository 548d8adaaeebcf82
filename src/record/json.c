/* json.c - JSON-lines marshaller (see json.h). Hand-rolled number and
 * address formatting: printf per field would dominate the poll's CPU. */
#include "json.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "fields.h"

struct out {
	char *p;
	char *end;
};

static int put(struct out *o, const char *s, size_t n)
{
	if ((size_t)(o->end - o->p) < n)
		return -1;
	memcpy(o->p, s, n);
	o->p += n;
	return 0;
}

static int put_key(struct out *o, const struct ts_field *f)
{
	if ((size_t)(o->end - o->p) < TS_JSON_KEY_PAD)
		return put(o, f->json_key, f->json_key_len);
	memcpy(o->p, f->json_key, TS_JSON_KEY_PAD);
	o->p += f->json_key_len;
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

/* Two digits per division: most values are small, but counters and the
 * timestamp are 10-20 digits long. */
static int put_u64(struct out *o, uint64_t v)
{
	char tmp[20];
	char *p = tmp + sizeof(tmp);

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;
		v /= 100;
		*--p = digits2[d + 1];
		*--p = digits2[d];
	}
	if (v >= 10) {
		*--p = digits2[v * 2 + 1];
		*--p = digits2[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	return put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

static int put_str(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (put(o, "\"", 1))
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		int rc;
		if (c == '"' || c == '\\') {
			char two[2] = { '\\', (char)c };
			rc = put(o, two, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			/* Non-ASCII bytes are escaped one by one: kernel
			 * strings are not guaranteed to be valid UTF-8. */
			rc = put(o, esc, 6);
		} else {
			rc = put(o, (const char *)&c, 1);
		}
		if (rc)
			return -1;
	}
	return put(o, "\"", 1);
}

size_t json_string(char *out, size_t cap, const char *s)
{
	struct out o = { out, out + cap };

	return put_str(&o, s) ? 0 : (size_t)(o.p - out);
}

/* IPv4 by hand: glibc's inet_ntop formats it through sprintf. IPv6 keeps
 * inet_ntop, whose RFC 5952 zero compression is worth not rewriting. */
static int put_addr(struct out *o, const struct ts_record *r,
		    const unsigned char *a)
{
	char txt[INET6_ADDRSTRLEN + 2], *p = txt;

	*p++ = '"';
	if (r->family != AF_INET6) {
		for (int i = 0; i < 4; i++) {
			unsigned v = a[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : '"';
		}
	} else {
		if (!inet_ntop(AF_INET6, a, p, INET6_ADDRSTRLEN))
			return -1;
		p += strlen(p);
		*p++ = '"';
	}
	return put(o, txt, (size_t)(p - txt));
}

static int put_value(struct out *o, const struct ts_field *f,
		     const struct ts_record *r)
{
	const unsigned char *p = (const unsigned char *)r + f->offset;
	const char *s;

	switch (f->kind) {
	case TS_FK_ADDR:
		return put_addr(o, r, p);
	case TS_FK_STR:
		return put_str(o, (const char *)p);
	case TS_FK_STRPTR:
		memcpy(&s, p, sizeof(s));
		return put_str(o, s);
	case TS_FK_STATE_NAME:
		return put_str(o, ts_tcp_state_name(*p));
	default:
		return put_u64(o, ts_field_uint(f, r));
	}
}

size_t json_record(char *out, size_t cap, const struct ts_record *r)
{
	return json_record_fields(out, cap, r, NULL);
}

size_t json_record_fields(char *out, size_t cap, const struct ts_record *r,
			  const struct ts_field_set *fs)
{
	struct out o = { out, out + cap };
	char sep = '{';

	for (size_t i = 0; i < ts_nfields; i++) {
		const struct ts_field *f = &ts_fields[i];
		if (!ts_field_set_has(fs, i) || !ts_field_present(f, r))
			continue;
		if (put(&o, &sep, 1) || put_key(&o, f) || put_value(&o, f, r))
			return 0;
		sep = ',';
	}
	if (sep == '{' && put(&o, "{", 1))
		return 0;
	if (put(&o, "}\n", 2))
		return 0;
	return (size_t)(o.p - out);
}
