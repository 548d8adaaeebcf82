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

static int put_u64(struct out *o, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put(o, tmp + sizeof(tmp) - n, n);
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

static int put_addr(struct out *o, const struct ts_record *r,
		    const unsigned char *a)
{
	char txt[INET6_ADDRSTRLEN];
	int af = r->family == AF_INET6 ? AF_INET6 : AF_INET;
	if (!inet_ntop(af, a, txt, sizeof(txt)))
		return -1;
	return put_str(o, txt);
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
	struct out o = { out, out + cap };
	char sep = '{';

	for (size_t i = 0; i < ts_nfields; i++) {
		const struct ts_field *f = &ts_fields[i];
		if (!ts_field_present(f, r))
			continue;
		size_t nlen = strlen(f->name);
		if (put(&o, &sep, 1) || put(&o, "\"", 1) ||
		    put(&o, f->name, nlen) || put(&o, "\":", 2) ||
		    put_value(&o, f, r))
			return 0;
		sep = ',';
	}
	if (sep == '{' && put(&o, "{", 1))
		return 0;
	if (put(&o, "}\n", 2))
		return 0;
	return (size_t)(o.p - out);
}
