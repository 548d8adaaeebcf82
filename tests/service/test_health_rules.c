/*
 * test_health_rules - /healthz and /readyz's rules, from snapshots at
 * chosen times: not alive before any poll started, alive while the last
 * poll started within three intervals (the interval in force), not after;
 * not ready before a poll completed, nor with every namespace failed, nor
 * when a destination dropped records (but for oversize ones), had errors
 * or delivered none of the records in the last poll (unless a queue of
 * its own holds them), nor when not alive; ready otherwise.
 */
#include <string.h>

#include "check.h"
#include "metrics/health.h"

#define S 1000000000ull

static struct ts_metrics_dest dests[2] = { { "null", 0 },
					   { "unix:/run/x.sock", 0 } };

static void polled(struct ts_counters *now, struct ts_counters *before,
		   uint64_t start)
{
	memset(before, 0, sizeof(*before));
	memset(now, 0, sizeof(*now));
	now->g[TS_G_INTERVAL_MS] = 2000;
	now->g[TS_G_LAST_POLL_MONO] = start;
	now->g[TS_G_LAST_DONE_MONO] = start + S / 10;
	now->g[TS_G_NAMESPACES] = 3;
	now->g[TS_G_NS_FAILED] = 2;
	now->nsinks = before->nsinks = 2;
	before->sinks[1].dropped = before->sinks[1].drop[SINK_DROP_SLOW] = 9;
	now->sinks[1] = before->sinks[1]; /* old drops: not this poll's */
	now->c[TS_C_RECORDS] = 10;
	now->sinks[0].records = 10;
	now->sinks[1].records = 10;
}

static int ready(const struct ts_counters *now,
		 const struct ts_counters *before, uint64_t pubs, uint64_t t,
		 char *why)
{
	return ts_health_ready(now, before, pubs, dests, t, why, 256);
}

int main(void)
{
	struct ts_counters now, before;
	char why[256];
	uint64_t t0 = 1000 * S;

	memset(&now, 0, sizeof(now));
	now.g[TS_G_INTERVAL_MS] = 2000;
	CHECK(!ts_health_live(&now, t0, why, sizeof(why)));
	CHECK(strcmp(why, "no poll has started yet") == 0);
	CHECK(!ready(&now, &now, 0, t0, why));
	CHECK(strcmp(why, "no poll has completed yet") == 0);
	/* the first poll under way: alive, not ready */
	now.g[TS_G_LAST_POLL_MONO] = t0;
	CHECK(ts_health_live(&now, t0 + S, why, sizeof(why)));
	CHECK(!ready(&now, &now, 0, t0 + S, why));

	polled(&now, &before, t0);
	CHECK(ts_health_live(&now, t0 + 5 * S, why, sizeof(why)));
	CHECK(ready(&now, &before, 1, t0 + 5 * S, why));
	CHECK(strcmp(why, "ready") == 0);
	/* three intervals of 2 s: 6 s */
	CHECK(ts_health_live(&now, t0 + 6 * S, why, sizeof(why)));
	CHECK(!ts_health_live(&now, t0 + 6 * S + 1, why, sizeof(why)));
	CHECK(strstr(why, "the last poll started 6.0 s ago") != NULL);
	CHECK(!ready(&now, &before, 1, t0 + 7 * S, why));
	CHECK(strstr(why, "the last poll started") != NULL);
	/* a longer interval in force (PUT /interval) counts */
	now.g[TS_G_INTERVAL_MS] = 10000;
	CHECK(ts_health_live(&now, t0 + 29 * S, why, sizeof(why)));
	now.g[TS_G_INTERVAL_MS] = 2000;

	/* every namespace failed */
	now.g[TS_G_NS_FAILED] = 3;
	CHECK(!ready(&now, &before, 1, t0 + S, why));
	CHECK(strcmp(why, "no namespace could be opened in the last poll "
			  "(3 failed)") == 0);
	now.g[TS_G_NS_FAILED] = 2;

	/* a destination that dropped records in the last poll */
	now.sinks[1].dropped += 4;
	now.sinks[1].drop[SINK_DROP_SEND_ERROR] += 4;
	now.sinks[1].errors = 1;
	CHECK(!ready(&now, &before, 2, t0 + S, why));
	CHECK(strcmp(why, "destination unix:/run/x.sock cannot accept "
			  "records: in the last poll 4 dropped (4 send error), "
			  "1 errors") == 0);
	/* errors alone */
	now.sinks[1] = before.sinks[1];
	now.sinks[1].errors = 2;
	CHECK(!ready(&now, &before, 2, t0 + S, why));
	CHECK(strstr(why, "unix:/run/x.sock") && strstr(why, "2 errors"));
	/* oversize records are the records' fault, not the destination's */
	now.sinks[1] = before.sinks[1];
	now.sinks[1].records = 10;
	now.sinks[0].dropped = now.sinks[0].drop[SINK_DROP_OVERSIZE] = 3;
	CHECK(ready(&now, &before, 2, t0 + S, why));
	/* a stream buffering while disconnected: nothing delivered */
	now.sinks[1].records = 0;
	CHECK(!ready(&now, &before, 2, t0 + S, why));
	CHECK(strcmp(why,
		     "destination unix:/run/x.sock cannot accept "
		     "records: none of the last poll's 10 delivered") == 0);
	/* ... unless its own queue holds them (acknowledged later) */
	dests[1].queue = 1;
	CHECK(ready(&now, &before, 2, t0 + S, why));
	dests[1].queue = 0;
	/* a poll without records proves nothing either way */
	now.c[TS_C_RECORDS] = 0;
	CHECK(ready(&now, &before, 2, t0 + S, why));
	return check_exit();
}
