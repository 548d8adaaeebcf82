/*
 * test_addr.c - ts_addr_text() gives inet_ntop()'s text byte for byte:
 * IPv6 with every one of the 256 patterns of zero groups, each under
 * several fillings (1-4 hex digits, ffff in group 5 for the IPv4-mapped
 * form, tails that look like IPv4), random addresses, and IPv4 with every
 * octet value in every position.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "record/addr.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(void)
{
	return (unsigned)(check_rand(&rng) >> 16);
}

static int mismatches;

static void same(int family, const unsigned char *a)
{
	char want[INET6_ADDRSTRLEN], got[TS_ADDR_TEXT_MAX + 8];
	size_t n;

	memset(got, 'Z', sizeof(got));
	if (!inet_ntop(family, a, want, sizeof(want))) {
		CHECK(!"inet_ntop failed");
		return;
	}
	n = ts_addr_text(got, family, a);
	/* never past TS_ADDR_TEXT_MAX, and nothing after the text */
	CHECK(n < TS_ADDR_TEXT_MAX);
	CHECK(got[n] == 'Z');
	if (n != strlen(want) || memcmp(got, want, n) != 0) {
		if (mismatches++ < 20)
			fprintf(stderr, "want %s got %.*s\n", want, (int)n,
				got);
		check_failures++;
	}
}

/* A group value of 1..4 hex digits (never 0), or ffff. */
static unsigned group_value(unsigned how)
{
	switch (how % 6) {
	case 0:
		return 1 + rnd() % 0xf;
	case 1:
		return 0x10 + rnd() % 0xf0;
	case 2:
		return 0x100 + rnd() % 0xf00;
	case 3:
		return 0x1000 + rnd() % 0xf000;
	case 4:
		return 0xffff;
	default:
		return 1 + rnd() % 0xffff;
	}
}

static void put_group(unsigned char *a, int i, unsigned v)
{
	a[2 * i] = (unsigned char)(v >> 8);
	a[2 * i + 1] = (unsigned char)v;
}

static void test_zero_patterns(void)
{
	unsigned char a[16];

	for (unsigned mask = 0; mask < 256; mask++)
		for (unsigned fill = 0; fill < 60; fill++) {
			for (int i = 0; i < 8; i++)
				put_group(a, i,
					  mask >> i & 1 ? group_value(fill + i)
							: 0);
			same(AF_INET6, a);
			/* group 5 ffff: the IPv4-mapped form where the rest
			 * of the head is zero */
			if (!(mask & 0x1f)) {
				put_group(a, 5, 0xffff);
				same(AF_INET6, a);
			}
			/* tails of IPv4 shape, with zero octets */
			a[12 + rnd() % 4] = 0;
			same(AF_INET6, a);
		}
}

static void test_named(void)
{
	static const char *const texts[] = {
		"::",
		"::1",
		"::2",
		"1::",
		"::ffff:0.0.0.0",
		"::ffff:127.0.0.1",
		"::1.2.3.4",
		"::0.0.1.0",
		"::ffff:0:1.2.3.4",
		"1:0:0:1::1",
		"1::1:0:0:1",
		"fe80::1",
		"2001:db8::ff00:42:8329",
		"2001:db8:0:0:1:0:0:1",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"0:0:1:0:0:0:1:0",
		"1:0:1:0:1:0:1:0",
		"::ffff:1:2",
		"::fffe:1.2.3.4",
	};
	unsigned char a[16];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK(inet_pton(AF_INET6, texts[i], a) == 1);
		same(AF_INET6, a);
	}
}

static void test_random(void)
{
	unsigned char a[16];

	for (int k = 0; k < 200000; k++) {
		for (int i = 0; i < 16; i++)
			a[i] = (unsigned char)rnd();
		/* zero about a third of the groups */
		for (int i = 0; i < 8; i++)
			if (rnd() % 3 == 0)
				put_group(a, i, 0);
		same(AF_INET6, a);
		same(AF_INET, a);
	}
}

static void test_v4_octets(void)
{
	unsigned char a[16] = { 0 };

	for (int pos = 0; pos < 4; pos++)
		for (unsigned v = 0; v < 256; v++) {
			memset(a, (int)(rnd() & 0xff), 4);
			a[pos] = (unsigned char)v;
			same(AF_INET, a);
		}
	memset(a, 0, 4);
	same(AF_INET, a);
	/* anything but AF_INET6 reads four bytes, as the records say */
	char out[TS_ADDR_TEXT_MAX];
	a[0] = 10;
	a[3] = 7;
	size_t n = ts_addr_text(out, 0, a);
	CHECK(n == 8 && memcmp(out, "10.0.0.7", 8) == 0);
}

int main(void)
{
	test_named();
	test_zero_patterns();
	test_random();
	test_v4_octets();
	return check_exit();
}
