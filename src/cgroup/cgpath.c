/* cgpath.c - cgroup id -> path cache (see cgpath.h). */
#include "cgpath.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 64 /* cgroup.max.depth is usually unlimited: our bound */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static size_t hash(uint64_t ino, size_t nslots)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 20) & (nslots - 1);
}

/* A table being built, swapped in whole when the walk is done. */
struct build {
	struct cg_entry *slot;
	size_t nslots, n;
	char *arena;
	size_t len, cap;
	uint64_t overflow;
};

static int add(struct build *b, uint64_t ino, const char *path, size_t plen)
{
	size_t i;

	if (b->n >= CG_MAX_ENTRIES) {
		b->overflow++;
		return 0;
	}
	if (b->len + plen + 1 > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		char *a;
		while (cap < b->len + plen + 1)
			cap *= 2;
		a = realloc(b->arena, cap);
		if (!a)
			return -ENOMEM;
		b->arena = a;
		b->cap = cap;
	}
	for (i = hash(ino, b->nslots); b->slot[i].ino;
	     i = (i + 1) & (b->nslots - 1))
		if (b->slot[i].ino == ino)
			return 0;
	b->slot[i].ino = ino;
	b->slot[i].off = (uint32_t)b->len;
	memcpy(b->arena + b->len, path, plen + 1);
	b->len += plen + 1;
	b->n++;
	return 0;
}

/* Depth-first over the directories below dirfd; path holds "/a/b". */
static int walk(struct build *b, int dirfd, char *path, size_t plen, int depth)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > MAX_DEPTH || !(d = fdopendir(dirfd))) {
		close(dirfd);
		return 0;
	}
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;
		size_t n = strlen(e->d_name);
		int fd;
		if (e->d_type != DT_DIR || e->d_name[0] == '.' ||
		    plen + 1 + n >= 4096)
			continue;
		fd = openat(dirfd, e->d_name,
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue; /* gone meanwhile, or not ours to read */
		if (fstat(fd, &st) < 0) {
			close(fd);
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, e->d_name, n + 1);
		rc = add(b, (uint64_t)st.st_ino, path, plen + 1 + n);
		if (rc == 0)
			rc = walk(b, fd, path, plen + 1 + n, depth + 1);
		else
			close(fd);
		path[plen] = '\0';
	}
	closedir(d);
	return rc;
}

static int rebuild(struct cg_cache *c)
{
	struct build b = { .nslots = 1024 };
	char *path = malloc(4096);
	struct stat st;
	int fd, rc;

	while (b.nslots < 2 * CG_MAX_ENTRIES && b.nslots < 2 * (c->n + 64))
		b.nslots *= 2;
	b.slot = calloc(b.nslots, sizeof(*b.slot));
	fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!path || !b.slot || fd < 0) {
		rc = fd < 0 ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	rc = fstat(fd, &st) < 0 ? -errno : add(&b, (uint64_t)st.st_ino, "/", 1);
	path[0] = '\0';
	if (rc == 0)
		rc = walk(&b, fd, path, 0, 0);
	else
		close(fd);
	if (rc < 0)
		goto fail;
	free(path);
	free(c->slot);
	free(c->arena);
	c->slot = b.slot;
	c->nslots = b.nslots;
	c->n = b.n;
	c->arena = b.arena;
	c->arena_len = b.len;
	c->arena_cap = b.cap;
	c->overflow = b.overflow;
	c->walks++;
	return 0;
fail: /* the old table stays */
	free(path);
	free(b.slot);
	free(b.arena);
	return rc;
}

int cg_cache_init(struct cg_cache *c, const char *root)
{
	int rc;

	memset(c, 0, sizeof(*c));
	if (!root)
		return 0;
	snprintf(c->root, sizeof(c->root), "%s", root);
	rc = rebuild(c);
	c->last_walk_ns = now_ns();
	return rc;
}

const char *cg_cache_lookup(struct cg_cache *c, uint64_t id)
{
	if (!c->nslots || !id)
		return NULL;
	for (size_t i = hash(id, c->nslots); c->slot[i].ino;
	     i = (i + 1) & (c->nslots - 1))
		if (c->slot[i].ino == id)
			return c->arena + c->slot[i].off;
	c->missed = 1;
	return NULL;
}

int cg_cache_refresh(struct cg_cache *c, uint64_t now)
{
	int rc;

	if (!c->root[0] || !c->missed || now - c->last_walk_ns < CG_REFRESH_NS)
		return 0;
	c->missed = 0;
	c->last_walk_ns = now;
	rc = rebuild(c);
	return rc < 0 ? rc : 1;
}

void cg_cache_release(struct cg_cache *c)
{
	if (!c)
		return;
	free(c->slot);
	free(c->arena);
	c->slot = NULL;
	c->arena = NULL;
	c->nslots = c->n = 0;
}
