/*
 * test_parse_num.c - ts_parse_u64() and ts_parse_duration_ms(): the one
 * parser of numbers the command line and destination URLs share.
 */
#include <errno.h>

#include "check.h"
#include "util/parse.h"

static void test_u64(void)
{
	uint64_t v = 42;

	CHECK_EQ(ts_parse_u64("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(ts_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK_EQ(v, UINT64_MAX);
	v = 42;
	/* rejected, and the output left alone */
	const char *bad[] = { "",   "-1", "+1",	  " 1",
			      "1 ", "1x", "0x10", "18446744073709551616",
			      "abc" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(ts_parse_u64(bad[i], 0, UINT64_MAX, &v),
			 (uint64_t)-EINVAL);
	CHECK_EQ(ts_parse_u64("5", 6, 10, &v), (uint64_t)-EINVAL);
	CHECK_EQ(ts_parse_u64("11", 6, 10, &v), (uint64_t)-EINVAL);
	CHECK_EQ(v, 42);
	CHECK_EQ(ts_parse_u64("6", 6, 10, &v), 0);
	CHECK_EQ(v, 6);
}

#define DAY_MS (24ull * 3600 * 1000)

static int dur(const char *s, uint64_t *ms)
{
	return ts_parse_duration_ms(s, 0, UINT64_MAX, ms);
}

static void test_duration(void)
{
	uint64_t ms = 7;

	CHECK_EQ(dur("250ms", &ms), 0);
	CHECK_EQ(ms, 250);
	CHECK_EQ(dur("10s", &ms), 0);
	CHECK_EQ(ms, 10000);
	CHECK_EQ(dur("3", &ms), 0);
	CHECK_EQ(ms, 3000);
	CHECK_EQ(dur("2m", &ms), 0);
	CHECK_EQ(ms, 120000);
	CHECK_EQ(dur("24h", &ms), 0);
	CHECK_EQ(ms, 86400000);
	CHECK_EQ(dur("18446744073709551615ms", &ms), 0);
	CHECK_EQ(ms, UINT64_MAX);
	ms = 7;
	const char *bad[] = { "", "s", "5x", "5 s", "-5s", "5sec", "1d",
			      "18446744073709551615s", /* overflows in ms */
			      /* products that would wrap to 8384 ms, 384 ms */
			      "307445734561826m", "18446744073709552s" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(dur(bad[i], &ms), (uint64_t)-EINVAL);
	CHECK_EQ(ms, 7);
}

/* The bounds are inclusive, checked in milliseconds whatever the unit; a
 * product that would wrap into the range is refused, not wrapped. */
static void test_duration_bounds(void)
{
	uint64_t ms = 7;
	const char *in[] = { "1ms", "86400000ms", "86400s", "86400", "1440m" };
	const char *out[] = { "0",
			      "0ms",
			      "86400001ms",
			      "86401s",
			      "1441m",
			      "288230376151711744ms",
			      "18446744073709551615ms",
			      "307445734m",
			      "307445734561826m" };

	for (unsigned i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		ms = 7;
		CHECK_EQ(ts_parse_duration_ms(in[i], 1, DAY_MS, &ms), 0);
		CHECK(ms >= 1 && ms <= DAY_MS);
	}
	ms = 7;
	for (unsigned i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		CHECK_EQ(ts_parse_duration_ms(out[i], 1, DAY_MS, &ms),
			 (uint64_t)-EINVAL);
	CHECK_EQ(ms, 7);
}

int main(void)
{
	test_u64();
	test_duration();
	test_duration_bounds();
	return check_exit();
}
