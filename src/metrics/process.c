/* process.c - the process's own figures (see process.h). */
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The fields of /proc/self/stat after "pid (comm) ": comm may hold
 * spaces and parentheses, so the scan starts after the last ')'. */
static int read_stat(struct ts_proc *p, uint64_t *start_ticks)
{
	unsigned long long utime, stime, threads, start, vsize;
	long long rss;
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n;
	char *s;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads
	 * itrealvalue starttime vsize rss */
	if (!s || sscanf(s + 1,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			 "%llu %*d %*d %*d %*d %llu %*d %llu %llu %lld",
			 &utime, &stime, &threads, &start, &vsize, &rss) != 6)
		return -EPROTO;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	p->cpu_seconds = (double)(utime + stime) / (double)tick;
	p->threads = threads;
	p->vsize_bytes = vsize;
	p->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
	*start_ticks = start;
	return 0;
}

static uint64_t boot_time(void)
{
	unsigned long long btime = 0;
	char line[256];
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

/* The entries of /proc/self/fd, less the one the listing holds. */
static uint64_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	uint64_t n = 0;
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0;
}

int ts_proc_read(struct ts_proc *out)
{
	struct ts_proc p = { 0 };
	uint64_t start;
	struct rlimit rl;
	int rc = read_stat(&p, &start);

	if (rc < 0)
		return rc;
	p.start_time = (double)boot_time() +
		       (double)start / (double)sysconf(_SC_CLK_TCK);
	p.open_fds = open_fds();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p.max_fds = rl.rlim_cur;
	*out = p;
	return 0;
}
