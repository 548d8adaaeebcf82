/* ns_table.c - namespace set and per-poll reconcile (see ns_table.h). */
#include "ns_table.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../util/timeutil.h"
#include "ns_discover.h"
#include "ns_open.h"

/* park reasons besides -errno */
#define NS_PARK_GONE 1
#define NS_PARK_CAP  2 /* over --netns-max */

/* Poll priority: the host, then namespaces set up by root (bind mounts,
 * and those owned by tcpscope's user namespace or one above it), then
 * the others (any user can make those with unshare -Urn): under
 * --netns-max or the fd limit the first tiers are polled, and first. */
enum { NS_TIER_HOST, NS_TIER_ROOT, NS_TIER_OTHER };
enum { NS_OWNER_UNKNOWN, NS_OWNER_ROOT, NS_OWNER_OTHER };

struct ns_entry {
	struct poll_target t;
	struct close_src close; /* --close-events: its listening socket */
	uint64_t dev, ino;
	int nsfd;
	unsigned worker;
	uint64_t gen;
	uint64_t mount_gen;    /* last reconcile that saw it as a bind mount */
	int last_pid;	       /* a process seen in it by the last reconcile */
	int name_pid;	       /* the pid its pid:<pid> name shows */
	uint64_t name_pid_gen; /* last reconcile that saw name_pid in it */
	enum ns_src_kind kind;
	int open_error;	   /* last failure to open its socket, 0 when open */
	uint64_t open_gen; /* last reconcile that tried to open it */
	/* 0: it holds its fds (namespace and socket) and is polled; else
	 * why not ("parked"): -errno of opening it (-EMFILE also when the fd
	 * limit leaves no room), NS_PARK_CAP, or NS_PARK_GONE (it vanished
	 * before it could be opened: dropped, not counted) */
	int park;
	int forget; /* not polled, and past NS_PARKED_MAX: dropped at sweep */
	int owner;  /* NS_OWNER_*: who owns it, learnt when it is opened */
	int held_tier;		 /* the tier it was counted in while held */
	char name[NAME_MAX + 1]; /* a bind mount's file name, whole */
	char container_id[65];
};

static size_t slot_of(size_t cap, uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ull) ^ dev;
	return (size_t)(h >> 17) & (cap - 1);
}

static struct ns_entry *hash_find(const struct ns_table *t, uint64_t dev,
				  uint64_t ino)
{
	if (!t->hcap)
		return NULL;
	for (size_t i = slot_of(t->hcap, dev, ino);;
	     i = (i + 1) & (t->hcap - 1)) {
		struct ns_entry *e = t->hash[i];
		if (!e || (e->ino == ino && e->dev == dev))
			return e;
	}
}

static void hash_insert(struct ns_entry **h, size_t cap, struct ns_entry *e)
{
	size_t s = slot_of(cap, e->dev, e->ino);

	while (h[s])
		s = (s + 1) & (cap - 1);
	h[s] = e;
}

/* Indexes t->v in a hash of at least 2 * want slots: a new one when the
 * size changes (if that allocation fails, a shrink keeps the old array, a
 * growth fails with nothing changed), else the same array, rewritten:
 * dropping entries never fails. */
static int hash_rebuild(struct ns_table *t, size_t want)
{
	size_t cap = 64;
	while (cap < want * 2)
		cap *= 2;
	struct ns_entry **h = cap == t->hcap ? NULL : calloc(cap, sizeof(*h));
	if (!h && cap > t->hcap)
		return -ENOMEM;
	if (h) {
		free(t->hash);
		t->hash = h;
		t->hcap = cap;
	} else {
		memset(t->hash, 0, t->hcap * sizeof(*t->hash));
	}
	for (size_t i = 0; i < t->n; i++)
		hash_insert(t->hash, t->hcap, t->v[i]);
	return 0;
}

static int selected(const struct ns_table *t, const char *name)
{
	const char *sel = t->cfg.select;
	size_t n = strlen(name);

	if (!sel || strcmp(sel, "all") == 0)
		return 1;
	for (const char *p = sel;;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static void name_entry(struct ns_table *t, struct ns_entry *e,
		       const struct ns_seen *s)
{
	const char *rt = NULL;

	e->kind = s->kind;
	e->name_pid = s->kind == NS_SRC_PID ? s->pid : 0;
	e->name_pid_gen = t->gen;
	e->t.container_id = NULL;
	e->t.container_runtime = NULL;
	if (s->kind != NS_SRC_PID) {
		snprintf(e->name, sizeof(e->name), "%s", s->name);
	} else if (ns_container_of(t->cfg.proc, t->cgroot, s->pid,
				   e->container_id, &rt) == 0) {
		snprintf(e->name, sizeof(e->name), "pid:%d:%.12s", s->pid,
			 e->container_id);
		e->t.container_id = e->container_id;
		e->t.container_runtime = rt;
	} else {
		snprintf(e->name, sizeof(e->name), "pid:%d", s->pid);
	}
}

/* The entry's dump socket; a failure is kept on the entry. */
static void open_dump(struct ns_table *t, struct ns_entry *e)
{
	struct ns_reconcile_stats *st = t->st;
	int sock, rc;
	uint32_t portid;

	rc = ns_opener_socket(t->opener, e->nsfd, &sock, &portid);
	if (rc == 0) {
		rc = poll_target_attach(t->cfg.loops[e->worker], &e->t, sock,
					portid);
		if (rc < 0)
			close(sock);
	}
	if (rc < 0) {
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "netns %s: cannot open sock_diag socket: %s", e->name,
			 strerror(-rc));
		e->open_error = rc;
		st->error = rc;
		st->failed++;
		t->nofd += rc == -EMFILE || rc == -ENFILE;
		return;
	}
	e->open_error = 0;
}

/* The close-event socket of a polled namespace; a failure is counted
 * (close_missing, in sweep) and tried again next reconcile. */
static void open_close(struct ns_table *t, struct ns_entry *e)
{
	struct close_set *cs = t->cfg.close;
	int sock;
	int rc = ns_opener_mcast(t->opener, e->nsfd, cs->cfg.groups,
				 (int)cs->cfg.rcvbuf, &sock);

	if (rc == 0 && (rc = close_src_attach(cs, &e->close, sock, &e->t)) < 0)
		close(sock);
	if (rc < 0) {
		snprintf(t->st->errmsg, sizeof(t->st->errmsg),
			 "netns %s: cannot open close-event socket: %s",
			 e->name, strerror(-rc));
		t->st->error = rc;
	}
}

static int close_missing(const struct ns_table *t, const struct ns_entry *e)
{
	return t->cfg.close && e->close.fd < 0;
}

/* Opens what the entry lacks in its namespace (its dump socket, then its
 * close-event socket); failures are kept on the entry (and retried next
 * reconcile), never fatal to the table. */
static void open_target(struct ns_table *t, struct ns_entry *e)
{
	e->open_gen = t->gen;
	if (e->t.fd < 0)
		open_dump(t, e);
	if (e->t.fd >= 0 && close_missing(t, e))
		open_close(t, e);
}

/* Room for n entries in every array a reconcile fills (entries, hash,
 * each worker's targets), so that dropping entries and listing targets
 * never allocate: a reconcile that runs out of memory only fails to add.
 * On failure what was grown stays grown, nothing else changes. */
static int reserve(struct ns_table *t, size_t n)
{
	if (n > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct ns_entry **v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	if (n > t->tcap) {
		for (unsigned w = 0; w < t->cfg.nworkers; w++) {
			void *p =
				realloc(t->targets[w], t->cap * sizeof(void *));
			if (!p)
				return -ENOMEM;
			t->targets[w] = p;
		}
		t->tcap = t->cap;
	}
	return n * 2 > t->hcap ? hash_rebuild(t, n) : 0;
}

/* A namespace that could not be added; it is tried again next reconcile. */
static void add_failed(struct ns_table *t, const struct ns_seen *s, int rc)
{
	struct ns_reconcile_stats *st = t->st;

	if (s->kind == NS_SRC_PID)
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "netns pid:%d: cannot add: %s", s->pid, strerror(-rc));
	else
		snprintf(st->errmsg, sizeof(st->errmsg),
			 "netns %s: cannot add: %s", s->name, strerror(-rc));
	st->error = rc;
	st->failed++;
	st->total++;
}

/* fds a polled namespace holds: its own, its dump socket, and its
 * close-event socket with --close-events */
static unsigned fds_per_ns(const struct ns_table *t)
{
	return t->cfg.close ? 3 : 2;
}

/* How many namespaces may hold their fds: what the soft RLIMIT_NOFILE
 * leaves after the fds tcpscope had when the table was made and a
 * reserve for what it opens later (files, sockets, directory scans). */
static size_t fd_room(const struct ns_table *t)
{
	uint64_t used = (uint64_t)t->base_fds + NS_FD_RESERVE;

	return t->fd_limit > used
		       ? (size_t)((t->fd_limit - used) / fds_per_ns(t))
		       : 0;
}

static int tier_of(const struct ns_entry *e)
{
	if (e->kind == NS_SRC_HOST)
		return NS_TIER_HOST;
	return e->kind == NS_SRC_MOUNT || e->owner != NS_OWNER_OTHER
		       ? NS_TIER_ROOT
		       : NS_TIER_OTHER;
}

/* e (held) gives its fds back and is parked for `why`. */
static void park(struct ns_table *t, struct ns_entry *e, int why)
{
	close_src_detach(&e->close);
	poll_target_detach(&e->t);
	close(e->nsfd);
	e->nsfd = -1;
	e->park = why;
	t->nheld--;
	t->nheld_tier[e->held_tier]--;
}

/* 0 when a namespace of `tier` may hold fds: the host always (what an
 * unprivileged or starved tcpscope still sees), others while --netns-max
 * and the fd limit leave room, or, when they do not, in place of the
 * newest entry of a lower tier, which is parked if `evict` (else only
 * found). Otherwise why not: NS_PARK_CAP or -EMFILE. */
static int make_room(struct ns_table *t, int tier, int evict)
{
	size_t room = fd_room(t);
	int why = t->nheld >= t->cfg.netns_max ? NS_PARK_CAP : -EMFILE;

	if (room > t->cfg.netns_max)
		room = t->cfg.netns_max;
	if (tier == NS_TIER_HOST || t->nheld < room)
		return 0;
	for (int w = NS_TIER_OTHER; w > tier; w--) {
		if (!t->nheld_tier[w])
			continue;
		for (size_t i = t->n; i-- > 0;) {
			struct ns_entry *v = t->v[i];
			if (v->park || v->held_tier != w)
				continue;
			if (evict)
				park(t, v, why);
			return 0;
		}
	}
	return why;
}

/* e, parked, takes its namespace fd and is polled from now on. */
static void hold(struct ns_table *t, struct ns_entry *e, int nsfd)
{
	e->nsfd = nsfd;
	e->park = 0;
	e->held_tier = tier_of(e);
	e->worker = t->next_worker++ % t->cfg.nworkers;
	e->t.has_nsid = ns_nsid(t->rtnl_fd, nsfd, &e->t.nsid) == 0;
	t->nheld++;
	t->nheld_tier[e->held_tier]++;
	open_target(t, e);
}

/* A parked entry (new, or one not polled last time) gets its fds when the
 * limits leave room for its tier, from `path` (the report in hand); else
 * it stays parked with the reason. An owner not known yet is learnt from
 * the opened namespace first (which costs the open). */
static void try_admit(struct ns_table *t, struct ns_entry *e, const char *path)
{
	int why = e->owner == NS_OWNER_UNKNOWN && tier_of(e) != NS_TIER_HOST
			  ? 0
			  : make_room(t, tier_of(e), 0);
	int fd;

	if (why) {
		e->park = why;
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ESRCH) /* not this path */
			e->park = e->park ? e->park : NS_PARK_GONE;
		else
			e->park = -errno; /* EMFILE, ENFILE...: failed */
		return;
	}
	/* an owner that cannot be told (no NS_GET_USERNS) is not held
	 * against the namespace */
	if (e->owner == NS_OWNER_UNKNOWN)
		e->owner = ns_owner_rank(fd, t->self_user) == 0 ? NS_OWNER_OTHER
								: NS_OWNER_ROOT;
	why = make_room(t, tier_of(e), 1);
	if (why) {
		close(fd);
		e->park = why;
		return;
	}
	hold(t, e, fd);
}

static int add_entry(struct ns_table *t, const struct ns_seen *s)
{
	struct ns_entry *e;
	int rc;

	rc = reserve(t, t->n + 1);
	e = rc < 0 ? NULL : calloc(1, sizeof(*e));
	if (!e) {
		add_failed(t, s, -ENOMEM);
		return 0;
	}
	e->dev = s->dev;
	e->ino = s->ino;
	e->gen = t->gen;
	e->mount_gen = s->kind == NS_SRC_MOUNT ? t->gen : 0;
	e->nsfd = -1;
	e->t.fd = -1;
	e->close.fd = -1;
	e->t.netns = e->name;
	e->t.netns_inode = s->ino;
	e->park = NS_PARK_GONE; /* until it is opened */
	name_entry(t, e, s);
	t->v[t->n++] = e;
	hash_insert(t->hash, t->hcap, e);
	if (s->kind == NS_SRC_HOST)
		t->host = e;
	try_admit(t, e, s->path);
	/* not polled: remembered (no open tried again while it cannot be
	 * polled) up to a bound, past which it is counted and forgotten */
	e->forget = e->park && t->n - t->nheld > NS_PARKED_MAX;
	t->st->added += e->park != NS_PARK_GONE && !e->forget;
	return 0;
}

static int on_seen(const struct ns_seen *s, void *arg)
{
	struct ns_table *t = arg;
	struct ns_entry *e;

	if (s->error) { /* unreadable: counted, the others go on */
		t->st->skipped++;
		snprintf(t->st->skipmsg, sizeof(t->st->skipmsg),
			 "netns entry %s skipped: %s", s->path,
			 strerror(-s->error));
		return 0;
	}
	/* most processes live in the host namespace: skip the hash */
	if (t->host && s->ino == t->host->ino && s->dev == t->host->dev) {
		if (t->host->park && t->host->gen != t->gen)
			try_admit(t, t->host, s->path);
		t->host->gen = t->gen;
		return 0;
	}
	e = hash_find(t, s->dev, s->ino);
	if (e) {
		/* a bind mount names a namespace better than a pid */
		if (s->kind == NS_SRC_MOUNT && e->kind == NS_SRC_PID)
			name_entry(t, e, s);
		if (s->kind == NS_SRC_MOUNT)
			e->mount_gen = t->gen;
		else if (s->kind == NS_SRC_PID) {
			if (!e->last_pid)
				e->last_pid = s->pid;
			if (s->pid == e->name_pid)
				e->name_pid_gen = t->gen;
		}
		/* not polled last time: one more try per reconcile */
		if (e->park && e->gen != t->gen)
			try_admit(t, e, s->path);
		e->gen = t->gen;
		return 0;
	}
	if (s->kind == NS_SRC_HOST && !selected(t, "host"))
		return 0;
	if (s->kind == NS_SRC_MOUNT && !selected(t, s->name))
		return 0;
	if (s->kind == NS_SRC_PID && t->cfg.select &&
	    strcmp(t->cfg.select, "all") != 0) {
		char pidname[32];
		snprintf(pidname, sizeof(pidname), "pid:%d", s->pid);
		if (!selected(t, pidname))
			return 0;
	}
	return add_entry(t, s);
}

static void free_entry(struct ns_entry *e)
{
	close_src_detach(&e->close);
	poll_target_detach(&e->t);
	if (e->nsfd >= 0)
		close(e->nsfd);
	free(e);
}

/* A namespace seen but not polled: counted over --netns-max, or as failed
 * with the reason. */
static void count_parked(struct ns_table *t, const struct ns_entry *e)
{
	struct ns_reconcile_stats *st = t->st;
	int nofd = e->park == -EMFILE || e->park == -ENFILE;

	if (e->park == NS_PARK_CAP) {
		st->capped++;
		return;
	}
	snprintf(st->errmsg, sizeof(st->errmsg), "netns %s: cannot open: %s%s",
		 e->name, strerror(-e->park),
		 nofd ? " (see RLIMIT_NOFILE)" : "");
	st->error = e->park;
	st->failed++;
	t->nofd += nofd;
}

static void drop(struct ns_table *t, struct ns_entry *e)
{
	if (e == t->host)
		t->host = NULL;
	if (!e->park) {
		t->nheld--;
		t->nheld_tier[e->held_tier]--;
	}
	free_entry(e);
}

/* Drops vanished entries, counts the ones not polled, retries failed
 * sockets, reopens broken ones. After an incomplete discovery (`complete`
 * 0) nothing is dropped or renamed: what the scan did not reach is not
 * gone. */
static void sweep(struct ns_table *t, int complete)
{
	size_t keep = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct ns_entry *e = t->v[i];
		if (e->park == NS_PARK_GONE || (e->gen != t->gen && complete)) {
			t->st->removed += e->park != NS_PARK_GONE;
			drop(t, e);
			continue;
		}
		t->st->total++;
		if (e->last_pid && complete &&
		    ((e->kind == NS_SRC_MOUNT && e->mount_gen != t->gen) ||
		     (e->kind == NS_SRC_PID && e->name_pid_gen != t->gen))) {
			/* its bind mount or naming process is gone but another
			 * process keeps it alive: the old name would point at
			 * nothing */
			struct ns_seen s = { .kind = NS_SRC_PID,
					     .pid = e->last_pid };
			name_entry(t, e, &s);
		}
		e->last_pid = 0;
		if (e->park) {
			count_parked(t, e);
			if (e->forget)
				drop(t, e);
			else
				t->v[keep++] = e;
			continue;
		}
		if (e->t.broken) {
			poll_target_detach(&e->t);
			t->st->reopened++;
		}
		/* one try per reconcile: a new entry was tried when added */
		if ((e->t.fd < 0 || close_missing(t, e)) &&
		    e->open_gen != t->gen)
			open_target(t, e);
		t->st->close_missing += e->t.fd >= 0 && close_missing(t, e);
		t->v[keep++] = e;
	}
	t->n = keep;
	(void)hash_rebuild(t, t->n); /* cannot fail: it does not grow */
}

/* Cannot fail: reserve() made room for every entry. Each worker's list
 * is in tier order (the host, root's namespaces, the others): the first
 * dumps in flight are theirs. */
static void build_targets(struct ns_table *t)
{
	for (unsigned w = 0; w < t->cfg.nworkers; w++)
		t->ntargets[w] = 0;
	for (int tier = NS_TIER_HOST; tier <= NS_TIER_OTHER; tier++)
		for (size_t i = 0; i < t->n; i++) {
			struct ns_entry *e = t->v[i];
			if (e->t.fd < 0 || e->held_tier != tier)
				continue;
			t->targets[e->worker][t->ntargets[e->worker]++] = &e->t;
		}
}

/* The tiers of the held entries as they are now (a bind mount may have
 * come or gone since they were counted). */
static void recount_tiers(struct ns_table *t)
{
	memset(t->nheld_tier, 0, sizeof(t->nheld_tier));
	for (size_t i = 0; i < t->n; i++) {
		struct ns_entry *e = t->v[i];
		if (!e->park) {
			e->held_tier = tier_of(e);
			t->nheld_tier[e->held_tier]++;
		}
	}
}

/* The soft RLIMIT_NOFILE now (an operator may change it at runtime). */
static uint64_t fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT64_MAX;
	return rl.rlim_cur;
}

static int warn_due(uint64_t *last, uint64_t now)
{
	if (*last && now - *last < NS_WARN_NS)
		return 0;
	*last = now;
	return 1;
}

/* Namespaces not polled for a limit: one line a minute at most for each
 * limit (the summary line counts them every poll). */
static void warn_limits(struct ns_table *t, uint64_t now)
{
	if (t->st->capped && warn_due(&t->warned_cap_ns, now))
		fprintf(stderr,
			"tcpscope: warning: %u namespace%s not polled: "
			"--netns-max %u reached (the host, bind mounts and "
			"namespaces owned by tcpscope's user namespace go "
			"first)\n",
			t->st->capped, t->st->capped == 1 ? "" : "s",
			t->cfg.netns_max);
	if (t->nofd && warn_due(&t->warned_fd_ns, now))
		fprintf(stderr,
			"tcpscope: warning: %u namespace%s not opened: out of "
			"file descriptors (RLIMIT_NOFILE %llu; each namespace "
			"polled takes %u, %u were open at start, %u kept in "
			"reserve); raise the limit (systemd: LimitNOFILE=)\n",
			t->nofd, t->nofd == 1 ? "" : "s",
			(unsigned long long)t->fd_limit, fds_per_ns(t),
			t->base_fds, NS_FD_RESERVE);
}

int ns_table_reconcile(struct ns_table *t, struct ns_reconcile_stats *st)
{
	struct ns_discover_cfg dc = {
		.dirs = t->cfg.dirs,
		.ndirs = t->cfg.ndirs,
		.proc = t->cfg.proc,
		.scan_mounts = t->scan_mounts,
		.scan_proc = t->scan_proc,
		.stat_batch = t->cfg.stat_batch,
		.stat_ctx = t->cfg.stat_ctx,
	};
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);
	int rc;

	memset(st, 0, sizeof(*st));
	t->st = st;
	t->gen++;
	t->nofd = 0;
	t->fd_limit = fd_limit();
	recount_tiers(t);
	rc = ns_discover(&dc, on_seen, t);
	sweep(t, rc == 0);
	build_targets(t);
	warn_limits(t, t0);
	st->duration_ns = ts_now_ns(CLOCK_MONOTONIC) - t0;
	t->st = NULL;
	return rc;
}

struct poll_target *const *ns_table_targets(const struct ns_table *t,
					    unsigned w, size_t *n)
{
	*n = t->ntargets[w];
	return t->targets[w];
}

/* Which discovery sources the selection can match at all: bind-mount
 * names, pid:<pid> names, or (always) the host. */
static void sources_for(const char *sel, int *mounts, int *proc)
{
	*mounts = *proc = 0;
	if (!sel || strcmp(sel, "all") == 0) {
		*mounts = *proc = 1;
		return;
	}
	for (const char *p = sel;;) {
		size_t len = strcspn(p, ",");
		if (len > 4 && strncmp(p, "pid:", 4) == 0)
			*proc = 1;
		else if (!(len == 4 && strncmp(p, "host", 4) == 0))
			*mounts = 1;
		if (!p[len])
			return;
		p += len + 1;
	}
}

/* Each namespace polled holds 2 fds: the soft limit (1024 under systemd)
 * goes up to the hard one, which an unprivileged process may do. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The fds open now, the rest of tcpscope's share of the limit. */
static unsigned fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 32; /* no /proc/self: a guess, within the reserve */
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : n; /* ".", ".." and the directory's own fd */
}

int ns_table_init(struct ns_table *t, const struct ns_table_cfg *cfg)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->cfg = *cfg;
	t->rtnl_fd = -1;
	t->inited = 1;
	if (t->cfg.nworkers == 0)
		t->cfg.nworkers = 1;
	if (t->cfg.netns_max == 0)
		t->cfg.netns_max = NS_NETNS_MAX_DEFAULT;
	sources_for(t->cfg.select, &t->scan_mounts, &t->scan_proc);
	t->cgroot = t->cfg.cgroup ? t->cfg.cgroup : ns_cgroup2_root();
	raise_fd_limit();
	rc = ns_self_user(t->self_user);
	if (rc == 0)
		rc = ns_rtnl_open(&t->rtnl_fd);
	if (rc == 0)
		rc = ns_opener_new(&t->opener);
	if (rc < 0)
		ns_table_release(t);
	else
		t->base_fds = fds_open();
	return rc;
}

void ns_table_release(struct ns_table *t)
{
	/* a zeroed table's rtnl_fd is 0: stdin (or whatever holds fd 0),
	 * not ours to close */
	if (!t || !t->inited)
		return;
	for (size_t i = 0; i < t->n; i++)
		free_entry(t->v[i]);
	free(t->v);
	free(t->hash);
	for (unsigned w = 0; w < NS_MAX_WORKERS; w++)
		free(t->targets[w]);
	ns_opener_free(t->opener);
	if (t->rtnl_fd >= 0)
		close(t->rtnl_fd);
	memset(t, 0, sizeof(*t));
}
