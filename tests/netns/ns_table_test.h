/*
 * ns_table_test.h - what the C tests of the namespace table share: real
 * network namespaces made in-process (unshare, needs CAP_SYS_ADMIN, else
 * skip 77) and kept alive by an fd, and a private discovery tree in a temp
 * dir, so that the table sees exactly the test's namespaces whatever else
 * runs on the host:
 *   DIR/proc/self/ns/net -> /proc/self/ns/net (the host namespace)
 *   DIR/mnt/NAME         -> /proc/self/fd/FD  (a "bind mount")
 *   DIR/proc/PID/ns/net  -> /proc/self/fd/FD  (a "process" in it)
 * A namespace "vanishes" when its link is removed.
 */
#ifndef TS_NS_TABLE_TEST_H
#define TS_NS_TABLE_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "engine/poller.h"
#include "netns/ns_table.h"

struct nt_tree {
	char root[64];
	char proc[96];
	char mnt[96];
	const char *dirs[1];
};

/* A new network namespace, held by the returned fd; this thread stays in
 * its own. Skips the test without the privilege. */
static inline int nt_netns(void)
{
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int fd;

	if (home < 0) {
		perror("open /proc/thread-self/ns/net");
		exit(1);
	}
	if (unshare(CLONE_NEWNET) < 0) {
		if (errno == EPERM)
			TEST_SKIP("needs CAP_SYS_ADMIN (unshare CLONE_NEWNET)");
		perror("unshare");
		exit(1);
	}
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(home, CLONE_NEWNET) < 0) {
		perror("netns");
		exit(1);
	}
	close(home);
	return fd;
}

/* A network namespace owned by a new user namespace (what any user can
 * make with unshare -Urn), held by the returned fd: made in a child, which
 * may be multi-threaded no more than this process may. */
static inline int nt_user_netns(void)
{
	int go[2], done[2], fd;
	char path[64], c = 0;
	pid_t pid;

	if (pipe(go) < 0 || pipe(done) < 0) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		c = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
		if (write(go[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || read(go[0], &c, 1) != 1 || !c) {
		fprintf(stderr,
			"unshare(CLONE_NEWUSER | CLONE_NEWNET) failed\n");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || write(done[1], &c, 1) != 1) {
		perror(path);
		exit(1);
	}
	waitpid(pid, NULL, 0);
	close(go[0]);
	close(go[1]);
	close(done[0]);
	close(done[1]);
	return fd;
}

static inline uint64_t nt_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static inline void nt_path(char *out, size_t cap, const char *fmt,
			   const char *a, const char *b)
{
	if ((size_t)snprintf(out, cap, fmt, a, b) >= cap) {
		fprintf(stderr, "path too long: %s %s\n", a, b);
		exit(1);
	}
}

static inline void nt_tree_make(struct nt_tree *tr)
{
	char p[192];

	snprintf(tr->root, sizeof(tr->root), "/tmp/tsc-nstable-XXXXXX");
	if (!mkdtemp(tr->root)) {
		perror("mkdtemp");
		exit(1);
	}
	nt_path(tr->proc, sizeof(tr->proc), "%s/%s", tr->root, "proc");
	nt_path(tr->mnt, sizeof(tr->mnt), "%s/%s", tr->root, "mnt");
	nt_path(p, sizeof(p), "%s/%s", tr->proc, "self");
	if (mkdir(tr->proc, 0755) < 0 || mkdir(p, 0755) < 0 ||
	    (strcat(p, "/ns"), mkdir(p, 0755) < 0) ||
	    (strcat(p, "/net"), symlink("/proc/self/ns/net", p) < 0) ||
	    mkdir(tr->mnt, 0755) < 0) {
		perror("test tree");
		exit(1);
	}
	tr->dirs[0] = tr->mnt;
}

/* DIR/mnt/name -> /proc/self/fd/fd (fd < 0: removes the link). */
static inline void nt_link(struct nt_tree *tr, const char *name, int fd)
{
	char link[192], target[64];

	nt_path(link, sizeof(link), "%s/%s", tr->mnt, name);
	if (fd < 0) {
		if (unlink(link) < 0 && errno != ENOENT) {
			perror(link);
			exit(1);
		}
		return;
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (symlink(target, link) < 0) {
		perror(link);
		exit(1);
	}
}

/* DIR/proc/PID/ns/net -> /proc/self/fd/fd (fd < 0: removes PID). */
static inline void nt_proc_link(struct nt_tree *tr, int pid, int fd)
{
	char dir[192], link[208], target[64];

	snprintf(dir, sizeof(dir), "%s/%d", tr->proc, pid);
	snprintf(link, sizeof(link), "%s/ns/net", dir);
	if (fd < 0) {
		unlink(link);
		strcat(dir, "/ns");
		rmdir(dir);
		dir[strlen(dir) - 3] = '\0';
		rmdir(dir);
		return;
	}
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (mkdir(dir, 0755) < 0 ||
	    (strcat(dir, "/ns"), mkdir(dir, 0755)) < 0 ||
	    symlink(target, link) < 0) {
		perror(link);
		exit(1);
	}
}

static inline void nt_tree_remove(struct nt_tree *tr)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tr->root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tr->root);
}

/* Table config over the tree (its mnt dir, its proc, all namespaces) and
 * nworkers syscall-engine loops polling as pc says. */
static inline struct ns_table_cfg nt_cfg(struct nt_tree *tr, unsigned nworkers,
					 struct poll_loop *loops,
					 const struct poll_config *pc)
{
	struct ns_table_cfg cfg = {
		.dirs = tr->dirs,
		.ndirs = 1,
		.proc = tr->proc,
		.select = "all",
		.nworkers = nworkers,
	};
	char err[128] = "";

	for (unsigned i = 0; i < nworkers; i++) {
		if (poll_loop_init(&loops[i], pc) < 0 ||
		    poll_loop_prepare(&loops[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "poll loop: %s\n", err);
			exit(1);
		}
		cfg.loops[i] = &loops[i];
	}
	return cfg;
}

static inline int nt_count_record(struct ts_record *rec, void *arg)
{
	(void)rec;
	++*(uint64_t *)arg;
	return 0;
}

/* One poll of every worker's targets; the dumps that did not complete. */
static inline unsigned nt_poll(struct ns_table *t, struct poll_loop *loops,
			       uint64_t seq, uint64_t *records)
{
	unsigned failed = 0;

	for (unsigned w = 0; w < t->cfg.nworkers; w++) {
		struct poll_stats st;
		size_t n;
		struct poll_target *const *v = ns_table_targets(t, w, &n);
		(void)poll_loop_run(&loops[w], v, n, seq, nt_count_record,
				    records, &st);
		failed += st.dumps_failed;
	}
	return failed;
}

#endif
