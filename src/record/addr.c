/* addr.c - address text (see addr.h). inet_ntop() formats every IPv4
 * address and every IPv6 group through sprintf; this writes the same
 * bytes directly. */
#include "addr.h"

#include <stdint.h>
#include <sys/socket.h>

static char *put_octet(char *p, unsigned v)
{
	if (v >= 100) {
		*p++ = (char)('0' + v / 100);
		v %= 100;
		*p++ = (char)('0' + v / 10);
	} else if (v >= 10) {
		*p++ = (char)('0' + v / 10);
	}
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *put_v4(char *p, const unsigned char *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*p++ = '.';
		p = put_octet(p, a[i]);
	}
	return p;
}

/* One group in lowercase hex without leading zeros. */
static char *put_group(char *p, unsigned w)
{
	static const char hex[] = "0123456789abcdef";
	int shift = w >= 0x1000 ? 12 : w >= 0x100 ? 8 : w >= 0x10 ? 4 : 0;

	for (; shift >= 0; shift -= 4)
		*p++ = hex[(w >> shift) & 15];
	return p;
}

/* The longest run of zero groups (the first of equal length), when it is
 * at least two long: *base and *len, else *len = 0. */
static void zero_run(const unsigned *w, int *base, int *len)
{
	int cur = 0;

	*base = 0;
	*len = 0;
	for (int i = 0; i < 8; i++) {
		cur = w[i] ? 0 : cur + 1;
		if (cur > *len) {
			*len = cur;
			*base = i + 1 - cur;
		}
	}
	if (*len < 2)
		*len = 0;
}

static char *put_v6(char *p, const unsigned char *a)
{
	unsigned w[8];
	int base, len;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	zero_run(w, &base, &len);
	for (int i = 0; i < 8; i++) {
		if (len && i == base) {
			*p++ = ':';
			i += len - 1;
			if (i == 7)
				*p++ = ':'; /* the run ends the address */
			continue;
		}
		if (i)
			*p++ = ':';
		/* IPv4-compatible (::a.b.c.d) and IPv4-mapped
		 * (::ffff:a.b.c.d) addresses end in dotted form */
		if (i == 6 && len && base == 0 &&
		    (len == 6 || (len == 5 && w[5] == 0xffff)))
			return put_v4(p, a + 12);
		p = put_group(p, w[i]);
	}
	return p;
}

size_t ts_addr_text(char *out, int family, const unsigned char *a)
{
	char *end = family == AF_INET6 ? put_v6(out, a) : put_v4(out, a);

	return (size_t)(end - out);
}
