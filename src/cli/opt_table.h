/*
 * opt_table.h - the option table behind options.h (private to src/cli).
 *
 * Contract: ts_opt_table[] lists every option once; its setter parses a
 * value (the same function for the command line, the config file and the
 * default text) into the field at `off`, or returns -EINVAL with `why`
 * naming what is accepted, printed from the same bounds it checks.
 */
#ifndef TS_OPT_TABLE_H
#define TS_OPT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

enum {
	TS_OPT_REPEAT = 1,   /* may be given several times (a list) */
	TS_OPT_CLI_ONLY = 2, /* not a config-file key */
	TS_OPT_EXIT = 4,     /* --help, --version: print and exit 0 */
	TS_OPT_SECRET = 8,   /* values may hold passwords (URLs): masked */
};

struct ts_opt;
typedef int (*ts_opt_set)(const struct ts_opt *d, const char *val,
			  struct ts_options *o, char *why, size_t whylen);

struct ts_opt {
	const char *name;    /* long option and config key */
	const char *metavar; /* NULL: a flag, no value on the command line */
	ts_opt_set set;
	size_t off;	 /* field in struct ts_options */
	size_t size;	 /* its size (numbers) */
	uint64_t lo, hi; /* bounds (numbers, durations, list lengths) */
	const char *const *names; /* enum: accepted names, NULL-terminated */
	const int *values;	  /* enum: the value of each name */
	const char *def;	  /* default as text (parsed by set), or NULL */
	const char *help;	  /* lines separated by \n */
	const char *section;	  /* --help heading starting a section */
	unsigned flags;
};

extern const struct ts_opt ts_opt_table[];
extern const unsigned ts_opt_count;

/* "500ms", "10s", "2m", "24h": the shortest exact form. */
void ts_opt_fmt_duration(uint64_t ms, char *buf, size_t n);

#endif
