/*
 * test_close_pause - the pause before the next read of the close set
 * (close_pause_ns): the full pause while the buffer has room for it at the
 * rate seen, shorter as the rate grows, none past the point where even
 * 1 ms would fill a quarter of the buffer; no wrap on a long gap.
 */
#include <stdint.h>

#include "check.h"
#include "engine/close_set.h"

#define MS 1000000ull

int main(void)
{
	const unsigned buf = 4u << 20; /* 3,276 closes: a quarter is 819 */

	/* nothing read, or the first read: the whole pause */
	CHECK_EQ(close_pause_ns(buf, 0, 5 * MS, 10 * MS), 10 * MS);
	CHECK_EQ(close_pause_ns(buf, 100, 0, 10 * MS), 10 * MS);
	/* 1,000 a second: 819 closes take 819 ms, the pause stays 10 ms */
	CHECK_EQ(close_pause_ns(buf, 10, 10 * MS, 10 * MS), 10 * MS);
	/* 200,000 a second: a quarter in about 4 ms */
	uint64_t p = close_pause_ns(buf, 2000, 10 * MS, 10 * MS);
	CHECK(p > 4 * MS && p < 5 * MS);
	/* a 64 KiB buffer holds 51: at 20,000 a second, 12 take 0.6 ms */
	CHECK_EQ(close_pause_ns(64u << 10, 200, 10 * MS, 10 * MS), 0);
	/* a gap of a day (where room * gap would wrap to almost nothing)
	 * neither wraps nor exceeds the bound */
	uint64_t wrap = UINT64_MAX / ((1u << 30) / CLOSE_TRUESIZE / 4) + 1;
	CHECK_EQ(close_pause_ns(1u << 30, 1, wrap, 10 * MS), 10 * MS);
	CHECK_EQ(close_pause_ns(1u << 30, 1000, 3600000 * MS, 10 * MS),
		 10 * MS);
	return check_exit();
}
