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

static void test_duration(void)
{
	uint64_t ms = 7;

	CHECK_EQ(ts_parse_duration_ms("250ms", &ms), 0);
	CHECK_EQ(ms, 250);
	CHECK_EQ(ts_parse_duration_ms("10s", &ms), 0);
	CHECK_EQ(ms, 10000);
	CHECK_EQ(ts_parse_duration_ms("3", &ms), 0);
	CHECK_EQ(ms, 3000);
	CHECK_EQ(ts_parse_duration_ms("2m", &ms), 0);
	CHECK_EQ(ms, 120000);
	CHECK_EQ(ts_parse_duration_ms("24h", &ms), 0);
	CHECK_EQ(ms, 86400000);
	ms = 7;
	const char *bad[] = { "",
			      "s",
			      "5x",
			      "5 s",
			      "-5s",
			      "5sec",
			      "1d",
			      "18446744073709551615s" /* overflows in ms */ };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(ts_parse_duration_ms(bad[i], &ms), (uint64_t)-EINVAL);
	CHECK_EQ(ms, 7);
}

int main(void)
{
	test_u64();
	test_duration();
	return check_exit();
}
