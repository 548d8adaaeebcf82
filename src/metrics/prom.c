/* prom.c - the Prometheus text format of the registry (see render.h). */
#include "render.h"

#include <string.h>

#include "../engine/poller.h"

struct prom_counter {
	enum ts_counter c;
	const char *name, *help;
};

static const struct prom_counter counters[] = {
	{ TS_C_POLLS, "tcpscope_polls_total", "Polls run." },
	{ TS_C_POLLS_FAILED, "tcpscope_polls_failed_total",
	  "Polls with a failed dump or no namespace opened." },
	{ TS_C_POLL_OVERRUNS, "tcpscope_poll_overruns_total",
	  "Polls that took longer than the interval." },
	{ TS_C_TICKS_MISSED, "tcpscope_ticks_missed_total",
	  "Interval ticks skipped because a poll was still running." },
	{ TS_C_RECORDS, "tcpscope_records_total",
	  "Socket records dumped (one per socket per poll)." },
	{ TS_C_DATAGRAMS, "tcpscope_netlink_datagrams_total",
	  "Netlink datagrams received." },
	{ TS_C_BYTES, "tcpscope_netlink_received_bytes_total",
	  "Netlink bytes received." },
	{ TS_C_DUMPS, "tcpscope_dumps_total",
	  "sock_diag dumps run (one per namespace and address family)." },
	{ TS_C_DUMP_INTR, "tcpscope_dumps_inconsistent_total",
	  "Dumps the kernel marked inconsistent (NLM_F_DUMP_INTR)." },
	{ TS_C_UNKNOWN_ATTRS, "tcpscope_unknown_attributes_total",
	  "Netlink attributes the parser does not know." },
	{ TS_C_NS_ADDED, "tcpscope_namespaces_added_total",
	  "Network namespaces found." },
	{ TS_C_NS_REMOVED, "tcpscope_namespaces_removed_total",
	  "Network namespaces gone." },
	{ TS_C_NS_FAILED, "tcpscope_namespace_open_failures_total",
	  "Namespace opens that failed, counted at every reconcile." },
	{ TS_C_NS_REOPENED, "tcpscope_sockets_reopened_total",
	  "sock_diag sockets reopened after a failed dump." },
	{ TS_C_REQUESTS, "tcpscope_requests_total",
	  "Requests posted to the event loop (control socket)." },
	{ TS_C_RING_ENTERS, "tcpscope_uring_enters_total",
	  "io_uring_enter calls (io_uring engine)." },
	{ TS_C_RING_SQES, "tcpscope_uring_submissions_total",
	  "io_uring submissions." },
	{ TS_C_RING_CQES, "tcpscope_uring_completions_total",
	  "io_uring completions." },
	{ TS_C_RING_BUSY, "tcpscope_uring_busy_total",
	  "Submissions refused by a full in-flight table." },
	{ TS_C_RING_BAD_CQES, "tcpscope_uring_bad_completions_total",
	  "Completions whose user_data did not decode." },
};

static void head(struct ts_sb *b, const char *name, const char *type,
		 const char *help)
{
	ts_sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct ts_sb *b, const char *name, const char *type,
		const char *help, unsigned long long v)
{
	head(b, name, type, help);
	ts_sb_printf(b, "%s %llu\n", name, v);
}

/* A label value: backslash, double quote and newline escaped. */
static void label(struct ts_sb *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			ts_sb_printf(b, "\\%c", *v);
		else if (*v == '\n')
			ts_sb_put(b, "\\n", 2);
		else
			ts_sb_put(b, v, 1);
	}
}

static void hist(struct ts_sb *b, const char *name, const char *help,
		 const uint64_t *h, uint64_t sum_ns)
{
	unsigned long long n = 0;

	head(b, name, "histogram", help);
	for (unsigned i = 0; i < TS_HIST_BUCKETS; i++) {
		n += h[i];
		if (ts_hist_bounds_ns[i] == UINT64_MAX)
			ts_sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				     n);
		else
			ts_sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
				     (double)ts_hist_bounds_ns[i] / 1e9, n);
	}
	ts_sb_printf(b, "%s_sum %.9f\n%s_count %llu\n", name,
		     (double)sum_ns / 1e9, name, n);
}

static void poll_metrics(struct ts_sb *b, const struct ts_counters *c)
{
	const uint64_t *g = c->g;

	head(b, "tcpscope_build_info", "gauge",
	     "The version of tcpscope running (always 1).");
	ts_sb_printf(b, "tcpscope_build_info{version=\"%s\"} 1\n", TS_VERSION);
	for (unsigned i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		one(b, counters[i].name, "counter", counters[i].help,
		    c->c[counters[i].c]);
	head(b, "tcpscope_dump_failures_total", "counter",
	     "Dumps that failed, by reason.");
	for (unsigned i = 0; i < POLL_FAIL_COUNT; i++)
		ts_sb_printf(
			b,
			"tcpscope_dump_failures_total{reason=\"%s\"} "
			"%llu\n",
			poll_fail_name(i),
			(unsigned long long)c->c[TS_C_DUMP_FAIL_FIRST + i]);
	hist(b, "tcpscope_poll_duration_seconds",
	     "Time a poll's dumps took (reconcile and output excluded).",
	     c->h[TS_H_POLL], c->c[TS_C_POLL_NS]);
	hist(b, "tcpscope_reconcile_duration_seconds",
	     "Time a reconcile of the namespaces took.", c->h[TS_H_RECONCILE],
	     c->c[TS_C_RECONCILE_NS]);
	one(b, "tcpscope_sockets", "gauge", "Sockets seen in the last poll.",
	    g[TS_G_SOCKETS]);
	one(b, "tcpscope_namespaces", "gauge",
	    "Namespaces polled in the last poll.",
	    g[TS_G_NAMESPACES] - g[TS_G_NS_FAILED]);
	one(b, "tcpscope_namespaces_failed", "gauge",
	    "Namespaces that could not be opened in the last reconcile.",
	    g[TS_G_NS_FAILED]);
	one(b, "tcpscope_namespaces_skipped", "gauge",
	    "Discovery entries that could not be read in the last reconcile.",
	    g[TS_G_NS_SKIPPED]);
	one(b, "tcpscope_namespaces_over_max", "gauge",
	    "Namespaces not polled: over --netns-max.", g[TS_G_NS_CAPPED]);
	head(b, "tcpscope_poll_interval_seconds", "gauge",
	     "The interval between polls in force.");
	ts_sb_printf(b, "tcpscope_poll_interval_seconds %g\n",
		     (double)g[TS_G_INTERVAL_MS] / 1e3);
}

/* The destinations' counters of one value each, by offset in sink_stats */
static const struct prom_dest {
	const char *name, *help;
	size_t off;
} dest_counters[] = {
	{ "tcpscope_destination_records_total",
	  "Records delivered to the destination.",
	  offsetof(struct sink_stats, records) },
	{ "tcpscope_destination_bytes_total",
	  "Bytes delivered to the destination.",
	  offsetof(struct sink_stats, bytes) },
	{ "tcpscope_destination_errors_total",
	  "Failed writes, sends, connects or deliveries.",
	  offsetof(struct sink_stats, errors) },
};

/* name{destination="..."} with the label escaped, up to the value. */
static void dest_series(struct ts_sb *b, const char *name,
			const struct ts_metrics_dest *d)
{
	ts_sb_printf(b, "%s{destination=\"", name);
	label(b, d->name ? d->name : "?");
	ts_sb_put(b, "\"", 1);
}

static void dest_metrics(struct ts_sb *b, const struct ts_counters *c,
			 const struct ts_metrics_dest *dests)
{
	unsigned queues = 0;

	for (unsigned k = 0;
	     k < sizeof(dest_counters) / sizeof(dest_counters[0]); k++) {
		const struct prom_dest *p = &dest_counters[k];
		head(b, p->name, "counter", p->help);
		for (unsigned i = 0; i < c->nsinks; i++) {
			uint64_t v;
			memcpy(&v, (const char *)&c->sinks[i] + p->off,
			       sizeof(v));
			dest_series(b, p->name, &dests[i]);
			ts_sb_printf(b, "} %llu\n", (unsigned long long)v);
		}
	}
	head(b, "tcpscope_destination_dropped_records_total", "counter",
	     "Records not delivered, by reason.");
	for (unsigned i = 0; i < c->nsinks; i++) {
		for (unsigned r = 0; r < SINK_DROP_COUNT; r++) {
			char why[32];
			ts_drop_label(r, why, sizeof(why));
			dest_series(
				b, "tcpscope_destination_dropped_records_total",
				&dests[i]);
			ts_sb_printf(b, ",reason=\"%s\"} %llu\n", why,
				     (unsigned long long)c->sinks[i].drop[r]);
		}
		queues += dests[i].queue != 0;
	}
	if (!queues)
		return;
	head(b, "tcpscope_destination_queued_records", "gauge",
	     "Records in the destination's own queue, not yet delivered.");
	for (unsigned i = 0; i < c->nsinks; i++) {
		if (!dests[i].queue)
			continue;
		dest_series(b, "tcpscope_destination_queued_records",
			    &dests[i]);
		ts_sb_printf(b, "} %llu\n",
			     (unsigned long long)c->sinks[i].queued);
	}
}

static void proc_metrics(struct ts_sb *b, const struct ts_proc *p)
{
	head(b, "process_cpu_seconds_total", "counter",
	     "Total user and system CPU time spent in seconds.");
	ts_sb_printf(b, "process_cpu_seconds_total %.2f\n", p->cpu_seconds);
	one(b, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", p->rss_bytes);
	one(b, "process_virtual_memory_bytes", "gauge",
	    "Virtual memory size in bytes.", p->vsize_bytes);
	one(b, "process_open_fds", "gauge", "Number of open file descriptors.",
	    p->open_fds);
	one(b, "process_max_fds", "gauge",
	    "Maximum number of open file descriptors.", p->max_fds);
	head(b, "process_start_time_seconds", "gauge",
	     "Start time of the process since unix epoch in seconds.");
	ts_sb_printf(b, "process_start_time_seconds %.2f\n", p->start_time);
	one(b, "process_threads", "gauge", "Number of OS threads.", p->threads);
}

static const char *const state_names[TS_TCP_STATES] = {
	"unknown",	"established",	  "syn-sent",  "syn-recv",
	"fin-wait-1",	"fin-wait-2",	  "time-wait", "close",
	"close-wait",	"last-ack",	  "listen",    "closing",
	"new-syn-recv", "bound-inactive",
};

/* One histogram family over the states, scaled to its unit. */
static void tcp_hist(struct ts_sb *b, const struct ts_tcp_stats *t, int h,
		     const char *name, const char *help, const uint64_t *bounds,
		     double scale)
{
	head(b, name, "histogram", help);
	for (unsigned s = 0; s < TS_TCP_STATES; s++) {
		unsigned long long n = 0;
		if (!t->sockets[s])
			continue;
		for (unsigned i = 0; i < TS_TCP_BUCKETS; i++) {
			n += t->h[h][s][i];
			if (bounds[i] == UINT64_MAX)
				ts_sb_printf(
					b,
					"%s_bucket{state=\"%s\",le=\"+Inf\"}"
					" %llu\n",
					name, state_names[s], n);
			else
				ts_sb_printf(b,
					     "%s_bucket{state=\"%s\",le=\"%g\"}"
					     " %llu\n",
					     name, state_names[s],
					     (double)bounds[i] * scale, n);
		}
		ts_sb_printf(b, "%s_sum{state=\"%s\"} %.6f\n", name,
			     state_names[s], (double)t->sum[h][s] * scale);
		ts_sb_printf(b, "%s_count{state=\"%s\"} %llu\n", name,
			     state_names[s], n);
	}
}

static void tcp_by_state(struct ts_sb *b, const char *name, const char *type,
			 const char *help, const uint64_t *v)
{
	head(b, name, type, help);
	for (unsigned s = 0; s < TS_TCP_STATES; s++)
		if (v[s] || strcmp(type, "counter") == 0)
			ts_sb_printf(b, "%s{state=\"%s\"} %llu\n", name,
				     state_names[s], (unsigned long long)v[s]);
}

/* --metrics-tcp: the last poll's sockets, by state only. */
static void tcp_metrics(struct ts_sb *b, const struct ts_tcp_stats *t)
{
	tcp_by_state(b, "tcpscope_tcp_sockets", "gauge",
		     "Sockets of the last poll, by TCP state.", t->sockets);
	tcp_hist(b, t, TS_TCP_SRTT, "tcpscope_tcp_srtt_seconds",
		 "Smoothed RTT of the last poll's sockets.",
		 ts_tcp_rtt_bounds_us, 1e-6);
	tcp_hist(b, t, TS_TCP_MINRTT, "tcpscope_tcp_min_rtt_seconds",
		 "Minimum RTT of the last poll's sockets.",
		 ts_tcp_rtt_bounds_us, 1e-6);
	tcp_hist(b, t, TS_TCP_CWND, "tcpscope_tcp_cwnd_packets",
		 "Congestion window of the last poll's sockets.",
		 ts_tcp_cwnd_bounds, 1);
	tcp_by_state(b, "tcpscope_tcp_retransmitted_segments_total", "counter",
		     "Segments retransmitted, added up from each poll's change "
		     "for sockets seen in two polls.",
		     t->retrans_segs);
	tcp_by_state(b, "tcpscope_tcp_retransmitted_bytes_total", "counter",
		     "Bytes retransmitted, added up from each poll's change "
		     "for sockets seen in two polls.",
		     t->retrans_bytes);
}

void ts_render_prom(struct ts_sb *b, const struct ts_counters *c,
		    const struct ts_metrics_dest *dests,
		    const struct ts_proc *proc)
{
	poll_metrics(b, c);
	dest_metrics(b, c, dests);
	if (c->g[TS_G_METRICS_TCP])
		tcp_metrics(b, &c->tcp);
	if (proc)
		proc_metrics(b, proc);
}
