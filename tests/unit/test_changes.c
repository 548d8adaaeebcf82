/*
 * test_changes.c - --emit changes' per-socket state (ts_changes): a new
 * socket is "open", an unchanged one emits nothing, a changed one is
 * "change"; a socket missing from the last poll is "open" again (the
 * tables are not cleared between polls: slots two polls old are free);
 * the poll numbers wrap safely; a full table sends and counts.
 */
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "daemon/changes.h"

static const char *see(struct ts_changes *c, uint64_t cookie, uint32_t acked)
{
	struct ts_record r;

	memset(&r, 0, sizeof(r));
	r.cookie = cookie;
	r.state = TCP_ESTABLISHED;
	r.tcp_info_size = sizeof(r.info);
	r.info.bytes_acked = acked;
	return ts_changes_event(c, &r);
}

static int is(const char *got, const char *want)
{
	return got == want || (got && want && strcmp(got, want) == 0);
}

int main(void)
{
	static struct ts_changes c;
	uint64_t seq = 1;

	CHECK_EQ(ts_changes_init(&c, 4, 0), 0);
	ts_changes_poll_begin(&c, seq++);
	CHECK(is(see(&c, 1, 10), "open"));
	CHECK(is(see(&c, 2, 20), "open"));
	ts_changes_poll_begin(&c, seq++);
	CHECK(is(see(&c, 1, 10), NULL)); /* unchanged: not emitted */
	CHECK(is(see(&c, 2, 21), "change"));
	CHECK_EQ(c.unchanged, 1);

	/* 1 missing from a poll: new again in the next one */
	ts_changes_poll_begin(&c, seq++);
	CHECK(is(see(&c, 2, 21), NULL));
	ts_changes_poll_begin(&c, seq++);
	CHECK(is(see(&c, 1, 10), "open"));
	CHECK(is(see(&c, 2, 21), NULL));

	/* the poll numbers wrap: both tables cleared, counting goes on */
	c.gen = UINT32_MAX - 1;
	ts_changes_poll_begin(&c, seq++);
	CHECK(is(see(&c, 3, 30), "open"));
	ts_changes_poll_begin(&c, seq++); /* wraps: 3 is new again */
	CHECK(is(see(&c, 3, 30), "open"));
	ts_changes_poll_begin(&c, seq++);
	CHECK(is(see(&c, 3, 30), NULL));
	CHECK(is(see(&c, 4, 40), "open"));

	/* full (max sockets a poll): the rest is sent as changed, counted */
	ts_changes_poll_begin(&c, seq++);
	for (uint64_t k = 100; k < 100 + c.max; k++)
		see(&c, k, 0);
	CHECK(is(see(&c, 999, 0), "change"));
	CHECK_EQ(c.overflow, 1);
	ts_changes_release(&c);
	ts_changes_release(NULL);
	return check_failures ? 1 : 0;
}
