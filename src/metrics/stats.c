/* stats.c - a poll's delta as JSON, for GET /stats (see render.h). */
#include "render.h"

#include "../record/json.h"

static void str(struct ts_sb *b, const char *s)
{
	size_t room;
	char *p = ts_sb_room(b, &room);

	ts_sb_advance(b, json_string(p, room, s));
}

static void drops(struct ts_sb *b, const struct sink_stats *s)
{
	ts_sb_put(b, "{", 1);
	for (unsigned r = 0; r < SINK_DROP_COUNT; r++) {
		char why[32];
		ts_drop_label(r, why, sizeof(why));
		ts_sb_printf(b, "%s\"%s\":%llu", r ? "," : "", why,
			     (unsigned long long)s->drop[r]);
	}
	ts_sb_put(b, "}", 1);
}

void ts_render_stats(struct ts_sb *b, const struct ts_counters *d,
		     const struct ts_metrics_dest *dests)
{
	ts_sb_printf(b, "{\"poll\":%llu,\"counters\":{",
		     (unsigned long long)d->g[TS_G_POLL_SEQ]);
	for (unsigned i = 0; i < TS_C_COUNT; i++)
		ts_sb_printf(b, "%s\"%s\":%llu", i ? "," : "",
			     ts_counter_name(i), (unsigned long long)d->c[i]);
	ts_sb_printf(b, "},\"gauges\":{");
	for (unsigned i = 0; i < TS_G_COUNT; i++)
		ts_sb_printf(b, "%s\"%s\":%llu", i ? "," : "", ts_gauge_name(i),
			     (unsigned long long)d->g[i]);
	ts_sb_printf(b, "},\"destinations\":[");
	for (unsigned i = 0; i < d->nsinks; i++) {
		const struct sink_stats *s = &d->sinks[i];
		ts_sb_printf(b, "%s{\"destination\":", i ? "," : "");
		str(b, dests[i].name ? dests[i].name : "?");
		ts_sb_printf(
			b,
			",\"records\":%llu,\"bytes\":%llu,\"dropped\":%llu,"
			"\"errors\":%llu,\"queued\":%llu,\"drops\":",
			(unsigned long long)s->records,
			(unsigned long long)s->bytes,
			(unsigned long long)s->dropped,
			(unsigned long long)s->errors,
			(unsigned long long)s->queued);
		drops(b, s);
		ts_sb_put(b, "}", 1);
	}
	ts_sb_printf(b, "]}\n");
}
