/*
 * caps.h - the capabilities tcpscope keeps, and the drop of every other.
 *
 * Contract: ts_caps_drop() runs once in main, after the options are
 * parsed and before any thread or destination exists, so that every
 * thread (the setns opener, the poll workers) is made with the same
 * sets. It keeps, of the capabilities the process holds, only those of
 * ts_caps_kept[] (permitted and effective), clears the inheritable and
 * ambient sets and, when it may (CAP_SETPCAP: a root process), removes
 * every other capability from the bounding set. A process that holds
 * no capability (an ordinary user), or only kept ones, all effective
 * (the systemd unit's ambient set, whose seccomp filter refuses
 * capset), is left as it is; one that holds some but lacks a kept one
 * gets one line per missing capability on `err`, saying what is lost.
 * Returns 0, or -errno when the sets could not be changed (printed; the
 * caller exits 1: a daemon that was to give up privileges does not run
 * with them).
 * --help, the warnings and the man page say the same of each
 * (ts_caps_kept[]: one table).
 * Thread-safety: main thread, before other threads exist.
 */
#ifndef TS_CAPS_H
#define TS_CAPS_H

#include <stdio.h>

struct ts_cap_use {
	int cap;	     /* CAP_* */
	const char *name;    /* "CAP_SYS_ADMIN" */
	const char *used;    /* what tcpscope uses it for */
	const char *without; /* what is lost without it */
};

#define TS_CAPS_KEPT 3
extern const struct ts_cap_use ts_caps_kept[TS_CAPS_KEPT];

int ts_caps_drop(FILE *err);

#endif
