/* summary.c - stderr summary lines (see summary.h). */
#include "summary.h"

void ts_summary_sinks(FILE *f, struct sink *const *sinks,
		      const struct sink_stats *st, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const char *url = sinks[i]->name;
		fprintf(f,
			"; %s: %llu sent, %llu dropped (%llu oversize), "
			"%llu errors",
			url, (unsigned long long)st[i].records,
			(unsigned long long)st[i].dropped,
			(unsigned long long)st[i].drop[SINK_DROP_OVERSIZE],
			(unsigned long long)st[i].errors);
		/* a library's queue: what it holds, and every drop reason */
		if (sinks[i]->ops->flags & SINK_F_OWN_IO) {
			fprintf(f, ", %llu queued (dropped:",
				(unsigned long long)st[i].queued);
			for (int r = 0; r < SINK_DROP_COUNT; r++)
				fprintf(f, "%s %llu %s", r ? "," : "",
					(unsigned long long)st[i].drop[r],
					sink_drop_name((enum sink_drop)r));
			fputc(')', f);
		}
	}
	fputc('\n', f);
}

void ts_summary_close(FILE *f, const struct ts_counters *d)
{
	const uint64_t *c = d->c;

	fprintf(f,
		"; close events: %llu (%llu lost, %llu filtered out, %llu "
		"errors)",
		(unsigned long long)c[TS_C_CLOSE_EVENTS],
		(unsigned long long)c[TS_C_CLOSE_LOST],
		(unsigned long long)c[TS_C_CLOSE_FILTERED],
		(unsigned long long)c[TS_C_CLOSE_ERRORS]);
	if (d->g[TS_G_CLOSE_MISSING])
		fprintf(f, ", %llu namespaces without",
			(unsigned long long)d->g[TS_G_CLOSE_MISSING]);
}

void ts_summary_poll(FILE *f, const struct ts_counters *d,
		     const struct ts_counters *now, const char *const *notes,
		     unsigned nnotes, struct sink *const *sinks)
{
	const uint64_t *c = d->c, *g = d->g;

	fprintf(f,
		"tcpscope: poll %llu: %llu sockets in %.1f ms; namespaces %llu "
		"(+%llu -%llu, %llu failed, %llu skipped, %llu over "
		"--netns-max, reconcile %.1f ms); %llu dumps (%llu failed, "
		"%llu inconsistent), %llu datagrams, %llu unknown attributes",
		(unsigned long long)g[TS_G_POLL_SEQ],
		(unsigned long long)c[TS_C_RECORDS], g[TS_G_POLL_NS] / 1e6,
		(unsigned long long)g[TS_G_NAMESPACES],
		(unsigned long long)c[TS_C_NS_ADDED],
		(unsigned long long)c[TS_C_NS_REMOVED],
		(unsigned long long)c[TS_C_NS_FAILED],
		(unsigned long long)g[TS_G_NS_SKIPPED],
		(unsigned long long)g[TS_G_NS_CAPPED],
		g[TS_G_RECONCILE_NS] / 1e6, (unsigned long long)c[TS_C_DUMPS],
		(unsigned long long)c[TS_C_DUMPS_FAILED],
		(unsigned long long)c[TS_C_DUMP_INTR],
		(unsigned long long)c[TS_C_DATAGRAMS],
		(unsigned long long)c[TS_C_UNKNOWN_ATTRS]);
	if (g[TS_G_URING])
		fprintf(f,
			"; ring: %llu enters, %llu refused (full), %llu bad "
			"completions",
			(unsigned long long)c[TS_C_RING_ENTERS],
			(unsigned long long)c[TS_C_RING_BUSY],
			(unsigned long long)c[TS_C_RING_BAD_CQES]);
	if (g[TS_G_EMIT_CHANGES])
		fprintf(f, "; changes only: %llu unchanged not sent%s",
			(unsigned long long)c[TS_C_UNCHANGED],
			c[TS_C_CHANGES_OVERFLOW] ? " (table full: sent)" : "");
	if (g[TS_G_CLOSE_EVENTS])
		ts_summary_close(f, d);
	if (g[TS_G_SAMPLE] > 1)
		fprintf(f, "; sample 1 in %llu: %llu left out",
			(unsigned long long)g[TS_G_SAMPLE],
			(unsigned long long)c[TS_C_SAMPLED_OUT]);
	for (unsigned i = 0; i < nnotes; i++)
		if (notes[i] && *notes[i])
			fprintf(f, "; %s%s", i == 0 ? "error: " : "", notes[i]);
	ts_summary_sinks(f, sinks, now->sinks, now->nsinks);
}
