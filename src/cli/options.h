/*
 * options.h - command-line options of tcpscope.
 *
 * Contract: ts_options_parse() fills *o from argv (defaults first). On a bad
 * value it prints exactly one line naming the option and the value to
 * `err` and returns -EINVAL (the caller exits 2). --help / --version print
 * to `out` and return 1 (the caller exits 0). Pointers in *o point into argv
 * (argv is not modified) or, for netns_dirs, into *o itself. Every numeric
 * option has a bound (TS_*_MAX here, NS_MAX_WORKERS, RING_BATCH_MAX) and
 * its message names it.
 * Thread-safety: uses getopt_long (global state): call once, from main.
 */
#ifndef TS_OPTIONS_H
#define TS_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "../sink/sink.h"

#define TS_MAX_DESTS 16
/* Bounds of the numeric options; the error messages print these. A day
 * between polls is already beyond any use, and keeps interval_ms * 1e6
 * (the nanoseconds main.c computes) far from overflow. */
#define TS_INTERVAL_MAX_MS (24ull * 3600 * 1000)
/* a billion polls: 31 years at 1 s; a run meant to last longer has no
 * --count */
#define TS_COUNT_MAX	  1000000000ull
#define TS_MAX_NETNS_DIRS 8
/* the --netns-dirs list is copied (argv is left alone): its bound */
#define TS_NETNS_DIRS_LEN 4096

struct ts_options {
	int once;
	uint64_t interval_ms; /* default 10 s */
	uint64_t count;	      /* polls to run; 0 = until signalled */
	unsigned families;    /* POLL_FAM_* */
	uint32_t states;      /* idiag_states */
	uint8_t ext;	      /* idiag_ext */
	enum sink_format format;
	const char *replay;
	const char *dests[TS_MAX_DESTS];
	unsigned ndests;
	int quiet;
	const char *netns; /* "all", "host" or NAME[,NAME...] */
	const char *netns_dirs[TS_MAX_NETNS_DIRS]; /* or into the buf */
	unsigned nnetns_dirs;
	unsigned workers; /* poll threads */
	int io_engine;	  /* TS_ENGINE_* */
	unsigned uring_recv_batch;
	unsigned uring_cqe_batch;
	char netns_dirs_buf[TS_NETNS_DIRS_LEN]; /* the copy of the list */
};

enum { TS_ENGINE_SYSCALL, TS_ENGINE_URING, TS_ENGINE_AUTO };

int ts_options_parse(int argc, char **argv, struct ts_options *o, FILE *out,
		     FILE *err);

/* Parses a comma-separated TCP state list ("all", or ss's names). */
int ts_states_parse(const char *list, uint32_t *states_out);

#endif
