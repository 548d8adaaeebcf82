/*
 * ns_table.h - the set of network namespaces being polled.
 *
 * Contract: ns_table_reconcile(), called before every poll, runs discovery
 * (ns_discover.h; entries it cannot read are counted as skipped, with the
 * reason, and the rest goes on), opens a sock_diag socket in each new
 * namespace through the opener thread (ns_open.h) and attaches it to a
 * worker's poll loop, reopens sockets whose last dump failed, and closes
 * namespaces that vanished (releasing both the socket and the namespace
 * fd, which is kept open while the socket lives). Afterwards
 * ns_table_targets() lists each worker's targets for poll_loop_run().
 *
 * With cfg.close, each namespace polled also holds a socket joined to the
 * kernel's destroy groups (close events), opened by the same thread and
 * attached to that set, and released with the dump socket.
 *
 * Limits: at most cfg.netns_max namespaces hold fds (2 each, 3 with
 * cfg.close), and no more
 * than the soft RLIMIT_NOFILE leaves room for (ns_table_init raises it to
 * the hard limit; NS_FD_RESERVE fds stay free for the rest of tcpscope).
 * Past either, namespaces are ranked: the host (always polled), then
 * those root set up (bind mounts, or owned by tcpscope's user namespace or
 * one above it), then those any user can make; a higher rank takes the
 * place of the newest entry of a lower one, and the targets are listed in
 * rank order. A namespace that is not polled stays in the table without
 * fds ("parked", up to NS_PARKED_MAX) and is counted every reconcile:
 * `capped` over --netns-max, else `failed` with the reason (EMFILE for the
 * fd limit); one stderr warning a minute at most says so per limit.
 *
 * Memory: entries are heap-allocated at reconcile time only; polling
 * allocates nothing. Only adding a namespace needs memory (room in every
 * array is made before it is added): a reconcile that runs out counts
 * what it could not add as failed, with the reason, and tries again next
 * time; dropping entries and listing the targets never fail, so the
 * targets are always live entries. Names and labels stay valid until the
 * next reconcile.
 * Thread-safety: reconcile runs on one thread while no poll is running.
 */
#ifndef TS_NS_TABLE_H
#define TS_NS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/close_set.h"
#include "../engine/poller.h"

#define NS_MAX_WORKERS 64
/* --netns-max: namespaces polled at most */
#define NS_NETNS_MAX_DEFAULT 4096
#define NS_NETNS_MAX_LIMIT   65536
/* fds kept for the rest of tcpscope beyond those it had at startup */
#define NS_FD_RESERVE 64
/* namespaces not polled that are remembered (not reopened every poll) */
#define NS_PARKED_MAX 4096
#define NS_WARN_NS    60000000000ull /* a warning repeats once a minute */

struct ns_entry;
struct ns_opener;

struct ns_table_cfg {
	const char *const *dirs; /* bind-mount directories */
	unsigned ndirs;
	const char *proc; /* "/proc" */
	/* the cgroup2 mount that container ids are checked against (see
	 * ns_container_of()); NULL: found by ns_cgroup2_root() */
	const char *cgroup;
	const char *select; /* --netns: "all", "host" or NAME[,NAME...] */
	unsigned netns_max; /* --netns-max; 0: NS_NETNS_MAX_DEFAULT */
	unsigned nworkers;
	struct poll_loop *loops[NS_MAX_WORKERS];
	/* --close-events: each namespace polled also holds a socket joined
	 * to the destroy groups, attached to this set; NULL: none */
	struct close_set *close;
	/* passed to discovery (see ns_discover_cfg); may be NULL */
	int (*stat_batch)(void *ctx, const char *const *paths, unsigned n,
			  uint64_t *dev, uint64_t *ino, int *res);
	void *stat_ctx;
};

struct ns_reconcile_stats {
	uint32_t total; /* namespaces polled */
	uint32_t added;
	uint32_t removed;
	uint32_t reopened; /* sockets reopened after a failed dump */
	/* namespaces that could not be opened (their fd, their socket, or
	 * no room left under RLIMIT_NOFILE: EMFILE); the last reason in
	 * errmsg */
	uint32_t failed;
	uint32_t skipped; /* discovery entries that could not be read */
	uint32_t capped;  /* namespaces not polled: over --netns-max */
	/* namespaces polled without their close-event socket (it could not
	 * be opened: the reason in errmsg) */
	uint32_t close_missing;
	int error;	   /* last open failure, or 0 */
	char errmsg[384];  /* room for a 255-byte name */
	char skipmsg[384]; /* the last skipped entry and why */
	uint64_t duration_ns;
};

struct ns_table {
	struct ns_table_cfg cfg;
	struct ns_entry **v;
	size_t n, cap;
	struct ns_entry **hash; /* open addressing on (dev, ino) */
	size_t hcap;
	uint64_t gen;
	struct ns_entry *host;
	int scan_mounts; /* derived from cfg.select at init */
	int scan_proc;
	const char *cgroot;    /* cfg.cgroup or the one found; NULL: none */
	size_t nheld;	       /* entries holding their fds (polled) */
	size_t nheld_tier[3];  /* of those, per poll priority tier */
	uint64_t self_user[2]; /* dev, ino of tcpscope's user namespace */
	unsigned next_worker;  /* round robin of the entries polled */
	unsigned base_fds;     /* fds open when the table was made */
	uint64_t fd_limit;     /* soft RLIMIT_NOFILE at this reconcile */
	uint32_t nofd;	       /* this reconcile: not opened for lack of fds */
	uint64_t warned_fd_ns; /* last warnings, monotonic ns */
	uint64_t warned_cap_ns;
	struct ns_opener *opener;
	int rtnl_fd; /* open only when `inited` (a zeroed table owns no fd) */
	int inited;
	struct poll_target **targets[NS_MAX_WORKERS];
	size_t ntargets[NS_MAX_WORKERS];
	size_t tcap;
	struct ns_reconcile_stats *st; /* during reconcile */
};

/* 0 or -errno (opener thread or rtnetlink socket could not be created). */
int ns_table_init(struct ns_table *t, const struct ns_table_cfg *cfg);
/* 0, or the -errno of a discovery that could not scan everything (the
 * host namespace, /proc or a directory listing unreadable): the targets
 * are listed even then, and nothing the scan did not reach is dropped. */
int ns_table_reconcile(struct ns_table *t, struct ns_reconcile_stats *st);
/* Worker w's targets after the last reconcile. */
struct poll_target *const *ns_table_targets(const struct ns_table *t,
					    unsigned w, size_t *n);
/* Frees everything; NULL, a zeroed table (never set up, e.g. when the
 * daemon stops before ns_table_init) and a released one are fine. */
void ns_table_release(struct ns_table *t);

#endif
