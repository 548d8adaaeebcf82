/*
 * process.h - the figures of the standard process_* metrics, read from
 * /proc/self when asked (at a scrape, never per poll).
 *
 * Contract: ts_proc_read() fills *out from /proc/self/stat, /proc/stat
 * (boot time), /proc/self/fd and RLIMIT_NOFILE: 0, or -errno (*out
 * untouched) when /proc/self/stat cannot be read.
 * Thread-safety: reentrant.
 */
#ifndef TS_PROCESS_H
#define TS_PROCESS_H

#include <stdint.h>

struct ts_proc {
	double cpu_seconds; /* user + system */
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
	uint64_t open_fds;
	uint64_t max_fds; /* the soft RLIMIT_NOFILE */
	uint64_t threads;
	double start_time; /* seconds since the epoch */
};

int ts_proc_read(struct ts_proc *out);

#endif
