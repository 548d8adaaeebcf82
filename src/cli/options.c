/* options.c - command-line parsing (see options.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/poller.h"
#include "../netlink/nl_request.h"
#include "../netns/ns_table.h"
#include "../util/parse.h"

static const char usage[] =
	"Usage: tcpscope [OPTIONS]\n"
	"Stream the kernel's tcp_info for every TCP socket, polled through\n"
	"netlink sock_diag, as JSON lines or xtcp2-compatible protobuf.\n"
	"\n"
	"Polling:\n"
	"  --once                 poll once and exit (same as --count 1)\n"
	"  --interval DURATION    time between polls: N[ms|s|m] (default 10s)\n"
	"  --count N              stop after N polls (default: until "
	"SIGINT/TERM)\n"
	"  --family F             inet, inet6 or all (default all)\n"
	"  --states LIST          comma-separated TCP states: established,\n"
	"                         syn-sent, syn-recv, fin-wait-1, fin-wait-2,\n"
	"                         time-wait, close, close-wait, last-ack, "
	"listen,\n"
	"                         closing, new-syn-recv, bound-inactive, or "
	"all\n"
	"                         (default all = every real state; "
	"bound-inactive\n"
	"                         must be named: its dump walks the bind "
	"table)\n"
	"  --attrs LIST           attributes to ask for: info, cong, tos, "
	"tclass,\n"
	"                         skmeminfo, vegasinfo (also brings dctcp and "
	"bbr\n"
	"                         info), meminfo; default = all but meminfo.\n"
	"                         Fewer attributes cost the kernel less.\n"
	"\n"
	"Namespaces:\n"
	"  --netns SEL            all (default), host, or NAME[,NAME...]: "
	"bind-mount\n"
	"                         names, pid:PID names, host\n"
	"  --netns-dirs LIST      bind-mount directories to scan (default\n"
	"                         /run/netns,/run/docker/netns)\n"
	"  --workers N            poll threads sharing the namespaces (default "
	"1)\n"
	"\n"
	"I/O engine:\n"
	"  --io-engine E          syscall (default), uring, or auto (uring "
	"when\n"
	"                         the kernel allows it, else syscall)\n"
	"  --uring-recv-batch N   netlink receive buffers of 32 KiB per ring\n"
	"                         (default 64)\n"
	"  --uring-cqe-batch N    completions reaped per batch (default 128)\n"
	"\n"
	"Output:\n"
	"  --format FMT           json, protobuf or protobuf-list: the format "
	"of\n"
	"                         destinations without format= (default: json\n"
	"                         for stdout and file, protobuf-list "
	"otherwise)\n"
	"  --dest URL             destination, repeatable; every record goes "
	"to\n"
	"                         every destination:\n"
	"                           stdout (default), null (counts only),\n"
	"                           file:PATH (append; reopened on SIGHUP),\n"
	"                           udp://HOST:PORT (HOST: name, IPv4, "
	"[IPv6]),\n"
	"                           unix:PATH (stream), unixgram:PATH "
	"(datagram)\n"
	"                         options: "
	"URL?format=FMT&max_bytes=N&max_rows=N\n"
	"                           &wait_ms=N (&buffer=N for unix:); "
	"max_bytes\n"
	"                           bounds a datagram/frame (udp: 65507, "
	"unixgram:\n"
	"                           the socket's limit, unix: 1 MiB, files:\n"
	"                           256 KiB), max_rows its records (1000),\n"
	"                           wait_ms what a slow peer may cost a poll\n"
	"                           (udp/unixgram 100, unix 1000), buffer the\n"
	"                           unix: output buffer (4 MiB)\n"
	"  --quiet                no per-poll summary line on stderr\n"
	"\n"
	"Other:\n"
	"  --replay FILE.pcap     decode a netlink capture (link type 253, "
	"e.g.\n"
	"                         recorded on an nlmon interface) instead of "
	"polling;\n"
	"                         - reads it from stdin\n"
	"  --help, --version\n"
	"\n"
	"Exit status: 0 success, 1 runtime failure, 2 invalid usage.\n"
	"See tcpscope(8).\n";

enum {
	OPT_ONCE = 256,
	OPT_INTERVAL,
	OPT_COUNT,
	OPT_FAMILY,
	OPT_STATES,
	OPT_ATTRS,
	OPT_FORMAT,
	OPT_DEST,
	OPT_QUIET,
	OPT_REPLAY,
	OPT_HELP,
	OPT_VERSION,
	OPT_NETNS,
	OPT_NETNS_DIRS,
	OPT_WORKERS,
	OPT_IO_ENGINE,
	OPT_URING_RECV_BATCH,
	OPT_URING_CQE_BATCH,
};

static const struct option long_opts[] = {
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "family", required_argument, NULL, OPT_FAMILY },
	{ "states", required_argument, NULL, OPT_STATES },
	{ "attrs", required_argument, NULL, OPT_ATTRS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "dest", required_argument, NULL, OPT_DEST },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "netns-dirs", required_argument, NULL, OPT_NETNS_DIRS },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "io-engine", required_argument, NULL, OPT_IO_ENGINE },
	{ "uring-recv-batch", required_argument, NULL, OPT_URING_RECV_BATCH },
	{ "uring-cqe-batch", required_argument, NULL, OPT_URING_CQE_BATCH },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

int ts_states_parse(const char *list, uint32_t *states_out)
{
	uint32_t states = 0;
	const char *p = list;
	char name[32];

	for (;;) {
		size_t n = strcspn(p, ",");
		unsigned st;
		if (n == 0 || n >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, n);
		name[n] = '\0';
		if (strcmp(name, "all") == 0)
			states |= TS_TCP_STATES_ALL;
		else if (ts_tcp_state_from_name(name, &st) == 0)
			states |= 1u << st;
		else
			return -EINVAL;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	*states_out = states;
	return 0;
}

/* The one line of a bad value; `why` is a format, so that limits are
 * printed from the constants the checks use. */
__attribute__((format(printf, 4, 5))) static int
bad(FILE *err, const char *opt, const char *val, const char *why, ...)
{
	va_list ap;

	fprintf(err, "tcpscope: invalid value '%s' for --%s: ", val, opt);
	va_start(ap, why);
	vfprintf(err, why, ap);
	va_end(ap);
	fputc('\n', err);
	return -EINVAL;
}

static int bad_range(FILE *err, const char *opt, const char *val, uint64_t lo,
		     uint64_t hi)
{
	return bad(err, opt, val, "expected %llu to %llu",
		   (unsigned long long)lo, (unsigned long long)hi);
}

/* Splits a copy of the list into o->netns_dirs: argv is left as given,
 * so every message shows the value the user typed. */
static int parse_dirs(const char *arg, struct ts_options *o, FILE *err)
{
	size_t len = strlen(arg);
	char *save = NULL;

	if (len >= sizeof(o->netns_dirs_buf))
		return bad(err, "netns-dirs", arg, "longer than %zu characters",
			   sizeof(o->netns_dirs_buf) - 1);
	memcpy(o->netns_dirs_buf, arg, len + 1);
	o->nnetns_dirs = 0;
	for (char *tok = strtok_r(o->netns_dirs_buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->nnetns_dirs == TS_MAX_NETNS_DIRS)
			return bad(err, "netns-dirs", arg,
				   "at most %d directories", TS_MAX_NETNS_DIRS);
		if (tok[0] != '/')
			return bad(err, "netns-dirs", tok,
				   "expected an absolute path");
		o->netns_dirs[o->nnetns_dirs++] = tok;
	}
	return 0;
}

static int parse_interval(const char *arg, struct ts_options *o, FILE *err)
{
	if (ts_parse_duration_ms(arg, 1, TS_INTERVAL_MAX_MS, &o->interval_ms) ==
	    0)
		return 0;
	return bad(err, "interval", arg,
		   "expected N[ms|s|m] from 1ms to %llus (%llu h), e.g. 500ms, "
		   "10s, 1m",
		   TS_INTERVAL_MAX_MS / 1000, TS_INTERVAL_MAX_MS / 3600000);
}

static int apply_engine(int c, const char *arg, struct ts_options *o, FILE *err)
{
	static const char *const names[] = { "syscall", "uring", "auto" };
	uint64_t v;

	if (c == OPT_IO_ENGINE) {
		for (int i = 0; i < 3; i++) {
			if (strcmp(arg, names[i]) == 0) {
				o->io_engine = i;
				return 0;
			}
		}
		return bad(err, "io-engine", arg,
			   "expected syscall, uring or auto");
	}
	if (ts_parse_u64(arg, 1, RING_BATCH_MAX, &v) < 0)
		return bad_range(err,
				 c == OPT_URING_RECV_BATCH ? "uring-recv-batch"
							   : "uring-cqe-batch",
				 arg, 1, RING_BATCH_MAX);
	if (c == OPT_URING_RECV_BATCH)
		o->uring_recv_batch = (unsigned)v;
	else
		o->uring_cqe_batch = (unsigned)v;
	return 0;
}

/* Applies one option; returns 0, 1 (exit 0) or -EINVAL. */
static int apply(int c, const char *arg, struct ts_options *o, FILE *out,
		 FILE *err)
{
	switch (c) {
	case OPT_ONCE:
		o->once = 1;
		return 0;
	case OPT_INTERVAL:
		return parse_interval(arg, o, err);
	case OPT_COUNT:
		if (ts_parse_u64(arg, 1, TS_COUNT_MAX, &o->count) < 0)
			return bad_range(err, "count", arg, 1, TS_COUNT_MAX);
		return 0;
	case OPT_FAMILY:
		if (strcmp(arg, "inet") == 0)
			o->families = POLL_FAM_INET;
		else if (strcmp(arg, "inet6") == 0)
			o->families = POLL_FAM_INET6;
		else if (strcmp(arg, "all") == 0)
			o->families = POLL_FAM_INET | POLL_FAM_INET6;
		else
			return bad(err, "family", arg,
				   "expected inet, inet6 or all");
		return 0;
	case OPT_STATES:
		if (ts_states_parse(arg, &o->states) < 0)
			return bad(
				err, "states", arg,
				"expected TCP state names or all (see --help)");
		return 0;
	case OPT_ATTRS:
		if (nl_ext_parse(arg, &o->ext, NULL, NULL) < 0)
			return bad(
				err, "attrs", arg,
				"expected info, cong, tos, tclass, skmeminfo, "
				"vegasinfo, meminfo, default or all");
		return 0;
	case OPT_FORMAT:
		if (sink_format_parse(arg, &o->format) < 0)
			return bad(err, "format", arg,
				   "expected json, protobuf or protobuf-list");
		return 0;
	case OPT_DEST:
		if (o->ndests == TS_MAX_DESTS)
			return bad(err, "dest", arg,
				   "too many destinations (at most %d)",
				   TS_MAX_DESTS);
		o->dests[o->ndests++] = arg;
		return 0;
	case OPT_QUIET:
		o->quiet = 1;
		return 0;
	case OPT_REPLAY:
		o->replay = arg;
		return 0;
	case OPT_NETNS:
		if (!*arg || strstr(arg, ",,") || arg[strlen(arg) - 1] == ',')
			return bad(err, "netns", arg,
				   "expected all, host or NAME[,NAME...]");
		o->netns = arg;
		return 0;
	case OPT_NETNS_DIRS:
		return parse_dirs(arg, o, err);
	case OPT_WORKERS: {
		uint64_t w;
		if (ts_parse_u64(arg, 1, NS_MAX_WORKERS, &w) < 0)
			return bad_range(err, "workers", arg, 1,
					 NS_MAX_WORKERS);
		o->workers = (unsigned)w;
		return 0;
	}
	case OPT_IO_ENGINE:
	case OPT_URING_RECV_BATCH:
	case OPT_URING_CQE_BATCH:
		return apply_engine(c, arg, o, err);
	case OPT_HELP:
		fputs(usage, out);
		return 1;
	case OPT_VERSION:
		fprintf(out, "tcpscope %s\n", TS_VERSION);
		return 1;
	default:
		return -EINVAL;
	}
}

int ts_options_parse(int argc, char **argv, struct ts_options *o, FILE *out,
		     FILE *err)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->interval_ms = 10000;
	o->families = POLL_FAM_INET | POLL_FAM_INET6;
	o->states = TS_TCP_STATES_ALL;
	o->ext = NL_EXT_DEFAULT;
	o->format = SINK_FMT_AUTO; /* per destination, see sink.h */
	o->netns = "all";
	o->netns_dirs[0] = "/run/netns";
	o->netns_dirs[1] = "/run/docker/netns";
	o->nnetns_dirs = 2;
	o->workers = 1;
	o->io_engine = TS_ENGINE_SYSCALL;
	o->uring_recv_batch = RING_RECV_BATCH;
	o->uring_cqe_batch = RING_CQE_BATCH;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == '?') {
			fprintf(err,
				"tcpscope: unknown or incomplete option '%s' "
				"(see --help)\n",
				argv[optind - 1]);
			return -EINVAL;
		}
		rc = apply(c, optarg, o, out, err);
		if (rc != 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(err,
			"tcpscope: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->once)
		o->count = 1;
	if (o->ndests == 0)
		o->dests[o->ndests++] = "stdout";
	return 0;
}
