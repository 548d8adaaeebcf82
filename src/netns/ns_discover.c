/* ns_discover.c - namespace discovery (see ns_discover.h). */
#include "ns_discover.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* Every namespace inode lives on the one nsfs superblock: a bind-mount
 * directory entry on another device is not a namespace. */
struct scan {
	const struct ns_discover_cfg *cfg;
	ns_seen_fn fn;
	void *arg;
	uint64_t nsfs_dev;
	/* /proc entries waiting for their stat */
	unsigned n;
	int pid[NS_STAT_BATCH];
	char path[NS_STAT_BATCH][64];
};

static int report_stat(struct scan *sc, const char *path, enum ns_src_kind kind,
		       int pid, const char *name, uint64_t dev, uint64_t ino)
{
	struct ns_seen s = { .dev = dev,
			     .ino = ino,
			     .kind = kind,
			     .pid = pid,
			     .path = path,
			     .name = name };

	if (kind == NS_SRC_HOST)
		sc->nsfs_dev = dev;
	else if (dev != sc->nsfs_dev)
		return 0;
	return sc->fn(&s, sc->arg);
}

/* An entry that could not be read (rc = -errno). A race (it vanished,
 * or is a process we may not look at) is no news; anything else (a
 * symlink loop, EIO, a name too long...) is reported with error set, so
 * that the caller counts it: the scan goes on either way. */
static int skip(struct scan *sc, const char *path, enum ns_src_kind kind,
		int pid, const char *name, int rc)
{
	struct ns_seen s = { .kind = kind,
			     .pid = pid,
			     .path = path,
			     .name = name,
			     .error = rc };

	if (rc == -ENOENT ||
	    (kind == NS_SRC_PID && (rc == -ESRCH || rc == -EACCES)))
		return 0;
	return sc->fn(&s, sc->arg);
}

static int report(struct scan *sc, const char *path, enum ns_src_kind kind,
		  int pid, const char *name)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return kind == NS_SRC_HOST
			       ? -errno
			       : skip(sc, path, kind, pid, name, -errno);
	return report_stat(sc, path, kind, pid, name, st.st_dev, st.st_ino);
}

/* Stats and reports the /proc entries collected so far. */
static int flush_pids(struct scan *sc)
{
	const char *paths[NS_STAT_BATCH] = { 0 };
	uint64_t dev[NS_STAT_BATCH], ino[NS_STAT_BATCH];
	int res[NS_STAT_BATCH], rc = 0;
	unsigned n = sc->n;

	sc->n = 0;
	for (unsigned i = 0; i < n; i++)
		paths[i] = sc->path[i];
	if (!sc->cfg->stat_batch ||
	    sc->cfg->stat_batch(sc->cfg->stat_ctx, paths, n, dev, ino, res) < 0)
		for (unsigned i = 0; i < n; i++) {
			struct stat st;
			res[i] = stat(paths[i], &st) < 0 ? -errno : 0;
			dev[i] = res[i] ? 0 : st.st_dev;
			ino[i] = res[i] ? 0 : st.st_ino;
		}
	for (unsigned i = 0; i < n && rc >= 0; i++)
		rc = res[i] < 0 ? skip(sc, paths[i], NS_SRC_PID, sc->pid[i],
				       NULL, res[i])
				: report_stat(sc, paths[i], NS_SRC_PID,
					      sc->pid[i], NULL, dev[i], ino[i]);
	return rc;
}

/* "1234" -> 1234; 0 for anything that is not a pid directory. */
static int pid_of(const char *name)
{
	int pid = 0;

	if (*name < '1' || *name > '9')
		return 0;
	for (; *name >= '0' && *name <= '9' && pid < 100000000; name++)
		pid = pid * 10 + (*name - '0');
	return *name ? 0 : pid;
}

/* One directory: bind mounts (NS_SRC_MOUNT) or /proc (NS_SRC_PID). A
 * bind-mount directory that cannot be opened is skipped like an entry
 * (not at all when missing: no such runtime here); /proc must be there,
 * and a directory that cannot be read to its end fails the scan: what it
 * did not list would look gone. */
static int scan_dir(struct scan *sc, const char *dir, enum ns_src_kind kind)
{
	DIR *d = opendir(dir);
	char path[PATH_MAX];
	int rc = 0;

	if (!d)
		return kind == NS_SRC_PID
			       ? -errno
			       : skip(sc, dir, kind, 0, NULL, -errno);
	while (rc >= 0) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			rc = -errno;
			break;
		}
		int pid = kind == NS_SRC_PID ? pid_of(e->d_name) : 0;
		if ((kind == NS_SRC_PID && pid == 0) || e->d_name[0] == '.')
			continue;
		if (pid) { /* stat'ed in batches */
			size_t cap = sizeof(sc->path[0]);
			if ((size_t)snprintf(sc->path[sc->n], cap,
					     "%s/%d/ns/net", dir, pid) >= cap) {
				rc = skip(sc, dir, kind, pid, NULL,
					  -ENAMETOOLONG);
				continue;
			}
			sc->pid[sc->n++] = pid;
			rc = sc->n == NS_STAT_BATCH ? flush_pids(sc) : 0;
			continue;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     e->d_name) >= sizeof(path))
			rc = skip(sc, dir, kind, 0, e->d_name, -ENAMETOOLONG);
		else
			rc = report(sc, path, kind, 0, e->d_name);
	}
	if (rc >= 0 && sc->n)
		rc = flush_pids(sc);
	sc->n = 0;
	closedir(d);
	return rc;
}

int ns_discover(const struct ns_discover_cfg *cfg, ns_seen_fn fn, void *arg)
{
	struct scan sc = { .cfg = cfg, .fn = fn, .arg = arg };
	char self[128];
	int rc;

	snprintf(self, sizeof(self), "%s/self/ns/net", cfg->proc);
	rc = report(&sc, self, NS_SRC_HOST, (int)getpid(), "host");
	if (rc < 0)
		return rc;
	for (unsigned i = 0; cfg->scan_mounts && i < cfg->ndirs; i++) {
		rc = scan_dir(&sc, cfg->dirs[i], NS_SRC_MOUNT);
		if (rc < 0)
			return rc;
	}
	return cfg->scan_proc ? scan_dir(&sc, cfg->proc, NS_SRC_PID) : 0;
}

static int is_hex64(const char *p, const char *end)
{
	if (end - p < 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)p[i]) ||
		    isupper((unsigned char)p[i]))
			return 0;
	return end - p == 64 || !isxdigit((unsigned char)p[64]);
}

int ns_container_parse(const char *path, size_t len, char *id,
		       const char **runtime, size_t *dir_len)
{
	static const struct {
		const char *marker;
		const char *runtime;
	} forms[] = {
		{ "cri-containerd-", "containerd" },
		{ "crio-", "cri-o" },
		{ "libpod-", "podman" },
		{ "docker-", "docker" },
		{ "/docker/", "docker" },
		{ "/containerd/", "containerd" },
		{ "/", "containerd" }, /* kubepods/<...>/<id> */
	};
	const char *end = path + len;

	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		size_t ml = strlen(forms[f].marker);
		for (const char *p = path; p + ml + 64 <= end; p++) {
			if (memcmp(p, forms[f].marker, ml) != 0 ||
			    !is_hex64(p + ml, end))
				continue;
			const char *slash = memchr(p + ml, '/', end - p - ml);
			memcpy(id, p + ml, 64);
			id[64] = '\0';
			*runtime = forms[f].runtime;
			*dir_len = (size_t)((slash ? slash : end) - path);
			return 0;
		}
	}
	return -ENOENT;
}

/* Every directory of path[0..len) under the cgroup2 mount is root's: a
 * runtime made it, not a user with a delegated subtree (who can name a
 * cgroup anything, but never give it to root: cgroup2 has no rename). */
static int cgroup_trusted(const char *cgroot, const char *path, size_t len)
{
	char dir[PATH_MAX];
	size_t rl = strlen(cgroot);
	struct stat st;

	if (rl + len >= sizeof(dir))
		return 0;
	memcpy(dir, cgroot, rl);
	memcpy(dir + rl, path, len);
	for (size_t i = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		dir[rl + i] = '\0';
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != 0)
			return 0;
		if (i < len)
			dir[rl + i] = '/';
	}
	return 1;
}

int ns_container_of(const char *proc, const char *cgroot, int pid, char *id,
		    const char **runtime)
{
	char path[128], buf[4096];
	const char *v2, *nl;
	size_t dlen;
	ssize_t n;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* the unified hierarchy's line, "0::/path" */
	v2 = strncmp(buf, "0::", 3) == 0 ? buf : strstr(buf, "\n0::");
	if (!v2 || !cgroot)
		return -ENOENT;
	v2 += v2 == buf ? 3 : 4;
	nl = strchr(v2, '\n');
	n = nl ? nl - v2 : (ssize_t)strlen(v2);
	rc = ns_container_parse(v2, (size_t)n, id, runtime, &dlen);
	if (rc == 0 && !cgroup_trusted(cgroot, v2, dlen))
		rc = -EPERM;
	return rc;
}

const char *ns_cgroup2_root(void)
{
	static const char *const cands[] = { "/sys/fs/cgroup",
					     "/sys/fs/cgroup/unified" };
	struct statfs sf;

	for (unsigned i = 0; i < 2; i++)
		if (statfs(cands[i], &sf) == 0 &&
		    sf.f_type == CGROUP2_SUPER_MAGIC)
			return cands[i];
	return NULL;
}
