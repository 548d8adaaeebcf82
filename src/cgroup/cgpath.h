/*
 * cgpath.h - which service owns a socket: the cgroup v2 id that the
 * kernel sends (INET_DIAG_CGROUP_ID) resolved to the cgroup's path
 * ("/system.slice/nginx.service", a pod's slice).
 *
 * Contract: the id is the inode of the cgroup's directory in the cgroup2
 * mount (the same in every network namespace: cgroup ids are global), so
 * the cache maps directory inodes to paths, built by one walk of the
 * mount. cg_cache_lookup() is for the per-record path: no I/O, no
 * allocation, no lock; an id it does not know is remembered as a miss.
 * cg_cache_refresh() walks the mount again, between polls, when a miss
 * was seen and the last walk is at least CG_REFRESH_NS old (rate-limited:
 * a socket of a cgroup made since gets its path within that long), and
 * never grows past CG_MAX_ENTRIES paths (what does not fit is counted in
 * `overflow`). Paths returned stay valid until the next refresh.
 * Thread-safety: lookups from the one thread delivering records (or under
 * its lock); refresh and release while no lookup runs (between polls).
 */
#ifndef TS_CGPATH_H
#define TS_CGPATH_H

#include <stddef.h>
#include <stdint.h>

#define CG_MAX_ENTRIES 65536
#define CG_REFRESH_NS  (10ull * 1000000000ull)

struct cg_entry {
	uint64_t ino; /* 0: free slot */
	uint32_t off; /* of the path in the arena */
};

struct cg_cache {
	char root[256]; /* the cgroup2 mount */
	struct cg_entry *slot;
	size_t nslots, n;
	char *arena;
	size_t arena_len, arena_cap;
	int missed;	       /* a lookup failed since the last refresh */
	uint64_t last_walk_ns; /* CLOCK_MONOTONIC */
	uint64_t walks;	       /* walks of the mount so far */
	uint64_t overflow;     /* cgroups left out: over CG_MAX_ENTRIES */
};

/* root: the cgroup2 mount (NULL: none found: lookups return NULL). Walks
 * it once. 0 or -errno. */
int cg_cache_init(struct cg_cache *c, const char *root);
const char *cg_cache_lookup(struct cg_cache *c, uint64_t id);
/* 1 when it walked the mount, 0 when nothing was due, or -errno. */
int cg_cache_refresh(struct cg_cache *c, uint64_t now_ns);
void cg_cache_release(struct cg_cache *c);

#endif
