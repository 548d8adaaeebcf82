/*
 * options.h - tcpscope's options: one table behind the command line,
 * --help, the error messages and the config file.
 *
 * Contract: every option is described once, in the table of opt_table.c
 * (name, value kind, where it is stored, bounds, default, help text).
 * ts_options_parse() sets the defaults, then applies the config file
 * named by --config (one `key = value` line per long option, `#`
 * comments), then the command line, which overrides the file (a
 * repeatable option given on the command line replaces the file's
 * values). A bad value prints exactly one line naming the option, the
 * value and the accepted range (a file's line as FILE:LINE:) to `err` and
 * returns -EINVAL (the caller exits 2). --help, --version and
 * --check-config print to `out` and return 1 (the caller exits 0).
 * Strings in *o are owned by it: ts_options_release() frees them.
 * Thread-safety: uses getopt_long (global state): call from main only.
 */
#ifndef TS_OPTIONS_H
#define TS_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../netlink/nl_filter.h"
#include "../record/fields.h"
#include "../sink/sink.h"

#define TS_MAX_DESTS	  16
#define TS_MAX_NETNS_DIRS 8
#define TS_PATH_MAX	  4096 /* a --netns-dirs directory, NUL included */
#define TS_SUN_PATH_MAX	  108  /* a --control path, NUL included */
#define TS_MAX_OPTS	  40   /* entries of the option table */

/* Bounds, shared by the checks and the messages that name them. */
#define TS_INTERVAL_MAX_MS     (24ull * 3600 * 1000)
#define TS_COUNT_MAX	       1000000000ull
#define TS_SAMPLE_MAX	       1000000u
#define TS_EXIT_TIMEOUT_MAX_MS SINK_EXIT_MAX_MS /* sink.h */

struct ts_options {
	int once;
	uint64_t interval_ms;	       /* default 10 s */
	uint64_t count;		       /* polls to run; 0 = until signalled */
	unsigned families;	       /* POLL_FAM_* */
	uint32_t states;	       /* idiag_states */
	uint8_t ext;		       /* idiag_ext */
	const char *filter;	       /* --filter EXPR, or NULL */
	const char *fields;	       /* --fields LIST, or NULL: every field */
	struct ts_field_set field_set; /* ... parsed */
	uint8_t filter_bc[NL_FILTER_MAX]; /* ... compiled */
	size_t filter_len;
	enum sink_format format;
	const char *replay; /* a pcap file, or "-" for stdin */
	const char *dests[TS_MAX_DESTS];
	unsigned ndests;
	int quiet;
	int cgroup_path;	 /* resolve cgroup ids to paths */
	int emit_changes;	 /* --emit changes */
	int metrics_tcp;	 /* tcp_info histograms in /metrics */
	unsigned snapshot_every; /* ... every socket once every N polls */
	unsigned emit_max;	 /* ... sockets its table holds */
	int walk;	   /* TS_WALK_*: one dump for both families, or two */
	const char *netns; /* "all", "host" or NAME[,NAME...] */
	const char *netns_dirs[TS_MAX_NETNS_DIRS]; /* bind-mount dirs */
	unsigned nnetns_dirs;
	unsigned netns_max;    /* namespaces polled at most */
	unsigned workers;      /* poll threads */
	unsigned sample;       /* --sample N: one socket in N */
	int close_events;      /* --close-events: the kernel's destroy events */
	unsigned close_buffer; /* ... receive buffer per namespace, bytes */
	int io_engine;	       /* TS_ENGINE_* */
	unsigned uring_recv_batch;
	unsigned uring_cqe_batch;
	uint64_t exit_timeout_ms; /* the one bound of the whole exit */
	const char *metrics;	  /* --metrics [ADDR:]PORT, or NULL */
	const char *control;	  /* --control PATH (a unix socket), or NULL */
	const char *config;	  /* --config FILE, or NULL */
	int check_config;

	/* private: the text each option was last set from (its default
	 * otherwise), for --check-config, and the strings *o owns */
	const char *text[TS_MAX_OPTS];
	unsigned char from_cli[TS_MAX_OPTS];
	struct ts_str *owned;
};

enum { TS_ENGINE_SYSCALL, TS_ENGINE_URING, TS_ENGINE_AUTO };
enum { TS_WALK_AUTO, TS_WALK_ONE, TS_WALK_TWO };

int ts_options_parse(int argc, char **argv, struct ts_options *o, FILE *out,
		     FILE *err);
/* Sets one option by its long name as the command line would (the same
 * setter and bounds), without copying val: it must outlive *o, which
 * prints it as the option's value. 0, or -EINVAL with the reason in
 * `why` ("invalid value 'V' for NAME: expected ..."). For a running
 * daemon's changes (the control socket's PUT /interval). */
int ts_options_set(struct ts_options *o, const char *name, const char *val,
		   char *why, size_t whylen);
/* Prints the effective configuration as config-file lines (passwords
 * in URLs masked). */
void ts_options_print(const struct ts_options *o, FILE *out);
void ts_options_release(struct ts_options *o);

/* Parses a comma-separated TCP state list ("all", or ss's names). */
int ts_states_parse(const char *list, uint32_t *states_out);

#endif
