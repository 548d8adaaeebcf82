/* opt_table.c - every option of tcpscope, once (see opt_table.h). */
#include "opt_table.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../engine/close_set.h"
#include "../engine/poller.h"
#include "../engine/ring.h"
#include "../netlink/nl_request.h"
#include "../netns/ns_table.h"
#include "../util/list.h"
#include "../util/parse.h"
#include "../daemon/changes.h"

/* A default written once: the constant's own text */
#define STR(x)	#x
#define XSTR(x) STR(x)
#define FIELD(f)                                                               \
	offsetof(struct ts_options, f), sizeof(((struct ts_options *)0)->f)

void ts_opt_fmt_duration(uint64_t ms, char *buf, size_t n)
{
	if (ms && ms % 3600000 == 0)
		snprintf(buf, n, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && ms % 60000 == 0)
		snprintf(buf, n, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && ms % 1000 == 0)
		snprintf(buf, n, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, n, "%llums", (unsigned long long)ms);
}

static void *field(const struct ts_opt *d, struct ts_options *o)
{
	return (char *)o + d->off;
}

static void store_uint(const struct ts_opt *d, struct ts_options *o, uint64_t v)
{
	if (d->size == sizeof(uint64_t))
		*(uint64_t *)field(d, o) = v;
	else
		*(unsigned *)field(d, o) = (unsigned)v;
}

static int set_flag(const struct ts_opt *d, const char *val,
		    struct ts_options *o, char *why, size_t n)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(val, yes[i]) == 0 || strcmp(val, no[i]) == 0) {
			*(int *)field(d, o) = strcmp(val, yes[i]) == 0;
			return 0;
		}
	}
	snprintf(why, n, "expected true or false");
	return -EINVAL;
}

static int set_uint(const struct ts_opt *d, const char *val,
		    struct ts_options *o, char *why, size_t n)
{
	uint64_t v;

	if (ts_parse_u64(val, d->lo, d->hi, &v) < 0) {
		snprintf(why, n, "expected a number from %llu to %llu",
			 (unsigned long long)d->lo, (unsigned long long)d->hi);
		return -EINVAL;
	}
	store_uint(d, o, v);
	return 0;
}

static int set_duration(const struct ts_opt *d, const char *val,
			struct ts_options *o, char *why, size_t n)
{
	uint64_t v;

	if (ts_parse_duration_ms(val, d->lo, d->hi, &v) < 0) {
		char lo[32], hi[32];
		ts_opt_fmt_duration(d->lo, lo, sizeof(lo));
		ts_opt_fmt_duration(d->hi, hi, sizeof(hi));
		snprintf(why, n,
			 "expected a duration N[ms|s|m|h] from %s to %s", lo,
			 hi);
		return -EINVAL;
	}
	store_uint(d, o, v);
	return 0;
}

static int set_enum(const struct ts_opt *d, const char *val,
		    struct ts_options *o, char *why, size_t n)
{
	size_t len = 0;

	for (unsigned i = 0; d->names[i]; i++) {
		if (strcmp(val, d->names[i]) == 0) {
			*(int *)field(d, o) = d->values ? d->values[i] : (int)i;
			return 0;
		}
	}
	len = (size_t)snprintf(why, n, "expected");
	for (unsigned i = 0; d->names[i] && len < n; i++)
		len += (size_t)snprintf(why + len, n - len, "%s %s",
					i == 0		  ? ""
					: d->names[i + 1] ? ","
							  : " or",
					d->names[i]);
	return -EINVAL;
}

static int set_string(const struct ts_opt *d, const char *val,
		      struct ts_options *o, char *why, size_t n)
{
	if (!*val) {
		snprintf(why, n, "expected a non-empty value");
		return -EINVAL;
	}
	*(const char **)field(d, o) = val;
	return 0;
}

static int set_dest(const struct ts_opt *d, const char *val,
		    struct ts_options *o, char *why, size_t n)
{
	if (o->ndests == d->hi) {
		snprintf(why, n, "too many destinations (at most %llu)",
			 (unsigned long long)d->hi);
		return -EINVAL;
	}
	char full[512];

	if (!*val) {
		snprintf(why, n, "expected a URL");
		return -EINVAL;
	}
	/* checked here, as written (pure: nothing is opened), so that a
	 * config file's bad URL is named with its line */
	if (sink_check(val, full, sizeof(full)) < 0) {
		const char *r = strstr(full, "': ");
		snprintf(why, n, "%s", r ? r + 3 : full);
		return -EINVAL;
	}
	o->dests[o->ndests++] = val;
	return 0;
}

static int set_format(const struct ts_opt *d, const char *val,
		      struct ts_options *o, char *why, size_t n)
{
	(void)d;
	if (sink_format_parse(val, &o->format) < 0) {
		snprintf(why, n, "expected json, protobuf or protobuf-list");
		return -EINVAL;
	}
	return 0;
}

static int set_states(const struct ts_opt *d, const char *val,
		      struct ts_options *o, char *why, size_t n)
{
	(void)d;
	if (ts_states_parse(val, &o->states) < 0) {
		snprintf(why, n,
			 "expected TCP state names or all (see --help)");
		return -EINVAL;
	}
	return 0;
}

static int set_attrs(const struct ts_opt *d, const char *val,
		     struct ts_options *o, char *why, size_t n)
{
	(void)d;
	if (nl_ext_parse(val, &o->ext, NULL, NULL) < 0) {
		snprintf(why, n,
			 "expected info, cong, tos, tclass, skmeminfo, "
			 "vegasinfo, meminfo, default or all");
		return -EINVAL;
	}
	return 0;
}

static int set_filter(const struct ts_opt *d, const char *val,
		      struct ts_options *o, char *why, size_t n)
{
	(void)d;
	if (nl_filter_compile(val, o->filter_bc, sizeof(o->filter_bc),
			      &o->filter_len, why, n) < 0)
		return -EINVAL;
	o->filter = val;
	return 0;
}

static int set_fields(const struct ts_opt *d, const char *val,
		      struct ts_options *o, char *why, size_t n)
{
	(void)d;
	if (ts_field_set_parse(val, &o->field_set, why, n) < 0)
		return -EINVAL;
	o->fields = val;
	return 0;
}

static int any_item(const char *item, size_t len, void *ctx)
{
	(void)item;
	(void)len;
	(void)ctx;
	return 0;
}

static int set_netns(const struct ts_opt *d, const char *val,
		     struct ts_options *o, char *why, size_t n)
{
	(void)d;
	if (ts_list_each(val, any_item, NULL, NULL) < 0) {
		snprintf(why, n, "expected all, host or NAME[,NAME...]");
		return -EINVAL;
	}
	o->netns = val;
	return 0;
}

struct dirs_ctx {
	const struct ts_opt *d;
	struct ts_options *o;
	char *why;
	size_t n;
};

/* The items point into the option's own copy, cut at the commas. */
static int add_dir(const char *item, size_t len, void *arg)
{
	struct dirs_ctx *c = arg;

	if (c->o->nnetns_dirs == c->d->hi) {
		snprintf(c->why, c->n, "at most %llu directories",
			 (unsigned long long)c->d->hi);
		return -E2BIG;
	}
	if (len >= TS_PATH_MAX) {
		snprintf(c->why, c->n, "a directory is longer than %d bytes",
			 TS_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (item[0] != '/') {
		snprintf(c->why, c->n, "'%.*s' is not an absolute path",
			 (int)len, item);
		return -EINVAL;
	}
	c->o->netns_dirs[c->o->nnetns_dirs++] = item;
	return 0;
}

static int set_netns_dirs(const struct ts_opt *d, const char *val,
			  struct ts_options *o, char *why, size_t n)
{
	struct dirs_ctx c = { d, o, why, n };
	int rc;

	o->nnetns_dirs = 0;
	rc = ts_list_each(val, add_dir, &c, NULL);
	if (rc == -EINVAL && !why[0])
		snprintf(why, n, "expected DIR[,DIR...] (absolute paths)");
	if (rc < 0)
		return -EINVAL;
	/* val is the option's own copy: cut it into the items */
	for (char *p = (char *)val; (p = strchr(p, ',')); p++)
		*p = '\0';
	return 0;
}

static int set_listen(const struct ts_opt *d, const char *val,
		      struct ts_options *o, char *why, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (ts_parse_listen(val, &ss, &len) < 0) {
		snprintf(why, n,
			 "expected [ADDR:]PORT: PORT 1 to 65535, ADDR an IPv4 "
			 "address or [IPv6] (default 127.0.0.1)");
		return -EINVAL;
	}
	*(const char **)field(d, o) = val;
	return 0;
}

static int set_socket_path(const struct ts_opt *d, const char *val,
			   struct ts_options *o, char *why, size_t n)
{
	if (!*val || strlen(val) >= TS_SUN_PATH_MAX) {
		snprintf(why, n, "expected a path of 1 to %d bytes",
			 TS_SUN_PATH_MAX - 1);
		return -EINVAL;
	}
	*(const char **)field(d, o) = val;
	return 0;
}

static const char *const family_names[] = { "inet", "inet6", "all", NULL };
static const int family_values[] = { POLL_FAM_INET, POLL_FAM_INET6,
				     POLL_FAM_INET | POLL_FAM_INET6 };
static const char *const walk_names[] = { "auto", "one", "two", NULL };
static const char *const emit_names[] = { "all", "changes", NULL };
static const char *const engine_names[] = { "syscall", "uring", "auto", NULL };

const struct ts_opt ts_opt_table[] = {
	{ "once", NULL, set_flag, FIELD(once), 0, 0, NULL, NULL, "false",
	  "poll once and exit (same as --count 1)", "Polling", 0 },
	{ "interval", "DURATION", set_duration, FIELD(interval_ms), 1,
	  TS_INTERVAL_MAX_MS, NULL, NULL, "10s",
	  "time between polls: N[ms|s|m|h]", NULL, 0 },
	{ "count", "N", set_uint, FIELD(count), 1, TS_COUNT_MAX, NULL, NULL,
	  NULL, "stop after N polls (default: until SIGINT/SIGTERM)", NULL, 0 },
	{ "family", "F", set_enum, FIELD(families), 0, 0, family_names,
	  family_values, "all", "address families: inet, inet6 or all", NULL,
	  0 },
	{ "states", "LIST", set_states, FIELD(states), 0, 0, NULL, NULL, "all",
	  "comma-separated TCP states: established, syn-sent, "
	  "syn-recv, fin-wait-1, fin-wait-2, time-wait, close, "
	  "close-wait, last-ack, listen, closing, new-syn-recv, "
	  "bound-inactive, or all (every real state; bound-inactive "
	  "must be named: its dump walks the bind table)",
	  NULL, 0 },
	{ "attrs", "LIST", set_attrs, FIELD(ext), 0, 0, NULL, NULL, "default",
	  "attributes to ask for: info, cong, tos, tclass, skmeminfo, "
	  "vegasinfo (also brings dctcp and bbr info), meminfo; "
	  "default = all but meminfo. Fewer cost the kernel less.",
	  NULL, 0 },
	{ "filter", "EXPR", set_filter, FIELD(filter), 0, 0, NULL, NULL, NULL,
	  "only the sockets that match EXPR, in ss's filter syntax "
	  "(sport/dport with = != < > <= >=, src/dst ADDR[/PREFIX][:PORT], "
	  "and, or, not, parentheses); compiled to bytecode the kernel "
	  "runs, so unmatched sockets cost it little. Example: "
	  "'dport = :443 or sport = :443'",
	  NULL, 0 },
	{ "sample", "N", set_uint, FIELD(sample), 1, TS_SAMPLE_MAX, NULL, NULL,
	  "1",
	  "one socket in N, chosen by a hash of its cookie: the same "
	  "sockets poll after poll (the summary still counts them all)",
	  NULL, 0 },
	{ "walk", "HOW", set_enum, FIELD(walk), 0, 0, walk_names, NULL, "auto",
	  "with --family all: one (one legacy TCPDIAG_GETSOCK dump walks "
	  "the socket hash once for both families), two (one "
	  "SOCK_DIAG_BY_FAMILY dump per family), or auto (one where the "
	  "kernel serves it, probed at startup)",
	  NULL, 0 },
	{ "close-events", NULL, set_flag, FIELD(close_events), 0, 0, NULL, NULL,
	  "false",
	  "also the final record of every TCP socket that closes, event "
	  "close, sent within a second: the kernel's own message when it "
	  "frees the socket (tcp_info, addresses, ports; no congestion name "
	  "or skmeminfo), from one more socket per namespace; --filter and "
	  "--sample apply. Off by default: while anyone listens the kernel "
	  "builds that message for every socket it frees (see tcpscope(8))",
	  NULL, 0 },
	{ "close-buffer", "BYTES", set_uint, FIELD(close_buffer),
	  CLOSE_RCVBUF_MIN, CLOSE_RCVBUF_MAX, NULL, NULL,
	  XSTR(CLOSE_RCVBUF_DEFAULT),
	  "with --close-events: the receive buffer of each namespace's "
	  "close socket (about 1.3 KiB a close); what overflows it is lost, "
	  "counted and shown. Without CAP_NET_ADMIN net.core.rmem_max caps "
	  "it (said once)",
	  NULL, 0 },
	{ "netns", "SEL", set_netns, FIELD(netns), 0, 0, NULL, NULL, "all",
	  "all, host, or NAME[,NAME...]: bind-mount names, "
	  "pid:PID names, host",
	  "Namespaces", 0 },
	{ "netns-dirs", "LIST", set_netns_dirs, FIELD(netns_dirs), 1,
	  TS_MAX_NETNS_DIRS, NULL, NULL, "/run/netns,/run/docker/netns",
	  "bind-mount directories to scan", NULL, 0 },
	{ "netns-max", "N", set_uint, FIELD(netns_max), 1, NS_NETNS_MAX_LIMIT,
	  NULL, NULL, XSTR(NS_NETNS_MAX_DEFAULT),
	  "poll at most N namespaces: the host, bind mounts and "
	  "namespaces of tcpscope's user namespace first (the rest are "
	  "counted as over --netns-max)",
	  NULL, 0 },
	{ "workers", "N", set_uint, FIELD(workers), 1, NS_MAX_WORKERS, NULL,
	  NULL, "1", "poll threads sharing the namespaces", NULL, 0 },
	{ "io-engine", "E", set_enum, FIELD(io_engine), 0, 0, engine_names,
	  NULL, "syscall",
	  "syscall, uring, or auto (uring when the kernel allows "
	  "it, else syscall)",
	  "I/O engine", 0 },
	{ "uring-recv-batch", "N", set_uint, FIELD(uring_recv_batch), 1,
	  RING_BATCH_MAX, NULL, NULL, XSTR(RING_RECV_BATCH),
	  "netlink receive buffers of 32 KiB per ring", NULL, 0 },
	{ "uring-cqe-batch", "N", set_uint, FIELD(uring_cqe_batch), 1,
	  RING_BATCH_MAX, NULL, NULL, XSTR(RING_CQE_BATCH),
	  "completions reaped per batch", NULL, 0 },
	{ "format", "FMT", set_format, FIELD(format), 0, 0, NULL, NULL, NULL,
	  "json, protobuf or protobuf-list: the format of "
	  "destinations without format= (default: json for stdout "
	  "and file, protobuf-list otherwise)",
	  "Output", 0 },
	{ "dest", "URL", set_dest, FIELD(dests), 1, TS_MAX_DESTS, NULL, NULL,
	  NULL,
	  "destination, repeatable; every record goes to every "
	  "destination (default stdout):\n"
	  "  stdout, null (counts only),\n"
	  "  file:PATH (append; created 0600; reopened on SIGHUP),\n"
	  "  udp://HOST:PORT (HOST: name, IPv4, [IPv6]),\n"
	  "  unix:PATH (stream), unixgram:PATH (datagram)\n"
	  "  redis://[:PASS@]HOST:PORT/KEY, valkey://... (&mode=xadd|"
	  "publish&maxlen=N&buffer=N)\n"
	  "  kafka://HOST:PORT[,...]/TOPIC (librdkafka; &compression=, key=, "
	  "acks=, queue_bytes=, timeout_ms=, kafka.PROPERTY=)\n"
	  "  nats://[USER:PASS@]HOST:PORT/SUBJECT (NATS; "
	  "&jetstream=1&max_pending=N (64) acks outstanding, &reconnect_buf=N "
	  "(8 MiB) held while down)\n"
	  "options: URL?format=FMT&max_bytes=N&max_rows=N&wait_ms=N "
	  "(&buffer=N for unix:, &mode=0640&follow=1 for file:); "
	  "max_bytes bounds a datagram/frame (udp: 65507, unixgram: the "
	  "socket's limit, unix: 1 MiB, files: 256 KiB), max_rows its "
	  "records (1000), wait_ms what a slow peer may cost a poll "
	  "(udp/unixgram 100, unix 1000, a pipe: no bound; refused for a "
	  "regular file), buffer the unix: output buffer (4 MiB)",
	  NULL, TS_OPT_REPEAT | TS_OPT_SECRET },
	{ "emit", "WHAT", set_enum, FIELD(emit_changes), 0, 0, emit_names, NULL,
	  "all",
	  "all (every socket every poll, event poll) or changes: a socket "
	  "when it is new (event open), when its state or a counter changed "
	  "(change), and every socket once every --snapshot-every polls "
	  "(snapshot)",
	  NULL, 0 },
	{ "snapshot-every", "N", set_uint, FIELD(snapshot_every), 1,
	  TS_COUNT_MAX, NULL, NULL, "60",
	  "with --emit changes: every socket once every N polls", NULL, 0 },
	{ "emit-max", "N", set_uint, FIELD(emit_max), 1024,
	  TS_CHANGES_MAX_LIMIT, NULL, NULL, XSTR(TS_CHANGES_MAX_DEFAULT),
	  "with --emit changes: sockets remembered (12 bytes each, twice); "
	  "beyond, sockets are sent and counted, never lost",
	  NULL, 0 },
	{ "metrics-tcp", NULL, set_flag, FIELD(metrics_tcp), 0, 0, NULL, NULL,
	  "false",
	  "tcp_info aggregates in /metrics, by TCP state only: histograms "
	  "of smoothed RTT, min RTT and cwnd, sockets, and totals of "
	  "retransmitted segments and bytes",
	  NULL, 0 },
	{ "cgroup-path", NULL, set_flag, FIELD(cgroup_path), 0, 0, NULL, NULL,
	  "false",
	  "name the service owning each socket: the cgroup v2 path of its "
	  "cgroup id (field cgroup_path, from a cache of the cgroup2 mount)",
	  NULL, 0 },
	{ "fields", "LIST", set_fields, FIELD(fields), 0, 0, NULL, NULL, NULL,
	  "only these fields, in every format: record field names, or the "
	  "groups tcp_info, skmem, meminfo, bbr, dctcp, vegas, socket, "
	  "congestion (a destination's fields= wins)",
	  NULL, 0 },
	{ "quiet", NULL, set_flag, FIELD(quiet), 0, 0, NULL, NULL, "false",
	  "no per-poll summary line on stderr (a poll or an exit "
	  "that lost records is still reported)",
	  NULL, 0 },
	{ "exit-timeout", "DURATION", set_duration, FIELD(exit_timeout_ms), 0,
	  TS_EXIT_TIMEOUT_MAX_MS, NULL, NULL, "5s",
	  "the bound of the whole exit, after SIGINT/SIGTERM or the "
	  "last poll: what the destinations still hold is sent by then or "
	  "counted as dropped; a second signal ends it at once",
	  NULL, 0 },
	{ "metrics", "[ADDR:]PORT", set_listen, FIELD(metrics), 0, 0, NULL,
	  NULL, NULL,
	  "serve /metrics (Prometheus), /healthz and /readyz over HTTP on "
	  "ADDR:PORT (ADDR default 127.0.0.1; [::1] for IPv6), from one "
	  "thread shared with --control",
	  "Service", 0 },
	{ "control", "PATH", set_socket_path, FIELD(control), 0, 0, NULL, NULL,
	  NULL,
	  "serve the control API over HTTP on a unix socket created at PATH "
	  "(mode 0600): POST /poll, PUT /interval, GET /config, GET /stats "
	  "(curl --unix-socket PATH http://x/stats)",
	  NULL, 0 },
	{ "config", "FILE", set_string, FIELD(config), 0, 0, NULL, NULL, NULL,
	  "read options from FILE first (key = value, one long "
	  "option per line, # comments); the command line wins",
	  "Configuration", TS_OPT_CLI_ONLY },
	{ "check-config", NULL, set_flag, FIELD(check_config), 0, 0, NULL, NULL,
	  NULL,
	  "validate the options, print the effective configuration "
	  "(passwords masked) and exit",
	  NULL, TS_OPT_CLI_ONLY },
	{ "replay", "FILE", set_string, FIELD(replay), 0, 0, NULL, NULL, NULL,
	  "decode a netlink capture (pcap, link type 253, e.g. "
	  "recorded on an nlmon interface; - for stdin) instead of "
	  "polling",
	  "Other", 0 },
	{ "help", NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL, "this text", NULL,
	  TS_OPT_CLI_ONLY | TS_OPT_EXIT },
	{ "version", NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL,
	  "print the version", NULL, TS_OPT_CLI_ONLY | TS_OPT_EXIT },
};

const unsigned ts_opt_count = sizeof(ts_opt_table) / sizeof(ts_opt_table[0]);

_Static_assert(sizeof(ts_opt_table) / sizeof(ts_opt_table[0]) <= TS_MAX_OPTS,
	       "TS_MAX_OPTS must cover the option table");
