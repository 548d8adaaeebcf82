/*
 * ns_discover.h - find every network namespace of the host.
 *
 * Contract: ns_discover() reports, through `fn`, the host's own namespace
 * first (kind NS_SRC_HOST), then every bind mount in the configured
 * directories (NS_SRC_MOUNT), then /proc/<pid>/ns/net of every process
 * (NS_SRC_PID). The same namespace may be reported several times (once per
 * process in it): deduplication by (dev, ino) is the caller's, which can do
 * it in O(1) and skip naming work for namespaces it already knows. /proc
 * entries are stat'ed NS_STAT_BATCH at a time (see stat_batch). Scanning
 * /proc allocates nothing per process; a process that exits during the
 * scan is skipped, not an error. An entry (or bind-mount directory) that
 * cannot be read for any other reason (a symlink loop, EIO, a name too
 * long) is reported with `error` set, for the caller to count, and the
 * scan goes on: one bad entry never hides the others. `path` in the
 * callback is valid only during the call.
 * Thread-safety: reentrant.
 */
#ifndef TS_NS_DISCOVER_H
#define TS_NS_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

enum ns_src_kind { NS_SRC_HOST, NS_SRC_MOUNT, NS_SRC_PID };

#define NS_STAT_BATCH 64

struct ns_seen {
	uint64_t dev;
	uint64_t ino;
	enum ns_src_kind kind;
	int pid;	  /* NS_SRC_PID */
	const char *path; /* what to open() to get the namespace */
	const char *name; /* file name of the bind mount (NS_SRC_MOUNT) */
	/* 0, or -errno: `path` (an entry, or a directory that cannot be
	 * read or holds a name too long) was skipped; dev, ino unset */
	int error;
};

struct ns_discover_cfg {
	const char *const *dirs; /* bind-mount dirs, e.g. /run/netns */
	unsigned ndirs;
	const char *proc; /* "/proc" (overridable for tests) */
	/* Which sources to walk besides the host namespace: a selection
	 * that cannot match a pid:<pid> name skips the /proc walk, which
	 * costs a stat per process on every poll. */
	int scan_mounts;
	int scan_proc;
	/* Optional: stats n paths at once (the uring engine: one
	 * io_uring_enter per 64 instead of a syscall each); res[i] 0 or
	 * -errno, dev/ino[i] the namespace. NULL: stat(2) each. */
	int (*stat_batch)(void *ctx, const char *const *paths, unsigned n,
			  uint64_t *dev, uint64_t *ino, int *res);
	void *stat_ctx;
};

/* fn returns < 0 to abort the scan (that value is returned). */
typedef int (*ns_seen_fn)(const struct ns_seen *s, void *arg);

/* 0, or -errno when the host namespace, /proc or a directory's listing
 * cannot be read (the scan is then incomplete: what it did not reach is
 * not gone), or what fn returned to abort. Missing bind-mount directories
 * are not errors (no such runtime on this host). */
int ns_discover(const struct ns_discover_cfg *cfg, ns_seen_fn fn, void *arg);

/* Container id (64 hex digits) and runtime ("docker", "containerd",
 * "cri-o", "podman") derived from the cgroup v2 path of the process in
 * /proc/<pid>/cgroup: a name a runtime gives the cgroup it makes, trusted
 * only when every directory of that path down to the one carrying the id
 * is owned by root under `cgroot` (the cgroup2 mount, see
 * ns_cgroup2_root()): a user with a delegated cgroup can name it like a
 * container scope, but cannot make it root's. 0 and outputs set; -ENOENT
 * when the path names no container (or there is no cgroup2 mount to check
 * it against: cgroot NULL); -EPERM when the cgroup is not root's; other
 * -errno. id must hold 65. */
int ns_container_of(const char *proc, const char *cgroot, int pid, char *id,
		    const char **runtime);

/* Pure part of ns_container_of(): parses a cgroup path (what follows
 * "0::"); *dir_len is the length of its prefix up to the end of the
 * directory name that carries the id. */
int ns_container_parse(const char *path, size_t len, char *id,
		       const char **runtime, size_t *dir_len);

/* Where the cgroup2 hierarchy is mounted (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid host), or NULL. */
const char *ns_cgroup2_root(void);

#endif
