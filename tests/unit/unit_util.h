/*
 * unit_util.h - helpers shared by the unit tests: reading fixtures into
 * exactly-sized heap buffers (so ASan flags any read past the end), and a
 * builder of netlink datagrams for the parser's error paths.
 */
#ifndef TS_UNIT_UTIL_H
#define TS_UNIT_UTIL_H

#include <dirent.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* Whole regular file in a malloc of exactly its size; NULL otherwise
 * (directories included). */
static inline unsigned char *ut_read_file(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	if (buf && fread(buf, 1, *len, f) != *len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* "a/b" into out; aborts when it does not fit (paths are ours). */
static inline char *ut_path(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "path too long: %s/%s\n", a, b);
		abort();
	}
	return out;
}

/* Copy of `len` bytes in a heap block of exactly that size. */
static inline unsigned char *ut_dup(const void *p, size_t len)
{
	unsigned char *d = malloc(len ? len : 1);
	if (d && len)
		memcpy(d, p, len);
	return d;
}

static int ut_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Sorted names of the regular entries of `dir` (no "." files). The
 * captures are named by time, so name order is arrival order.
 * Returns the count (0 when unreadable); free with ut_free_names().
 */
static inline size_t ut_list_dir(const char *dir, char ***names)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0, cap = 0;
	char **v = NULL;

	*names = NULL;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), ut_cmp_names);
	*names = v;
	return n;
}

static inline void ut_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Netlink datagram builder: messages are appended; nb_end() closes one. */
struct nlbuf {
	unsigned char b[16384];
	size_t len;
	size_t msg; /* offset of the open message's header */
};

static inline void nb_put(struct nlbuf *nb, const void *p, size_t n)
{
	if (nb->len + n > sizeof(nb->b)) {
		fprintf(stderr, "nlbuf overflow\n");
		abort();
	}
	memcpy(nb->b + nb->len, p, n);
	nb->len += n;
}

static inline void nb_pad(struct nlbuf *nb)
{
	static const unsigned char zero[4];
	nb_put(nb, zero, (4 - (nb->len & 3)) & 3);
}

static inline void nb_msg(struct nlbuf *nb, uint16_t type, uint16_t flags,
			  uint32_t seq, uint32_t pid)
{
	struct nlmsghdr h = { 0, type, flags, seq, pid };
	nb_pad(nb);
	nb->msg = nb->len;
	nb_put(nb, &h, sizeof(h));
}

/* Sets nlmsg_len to everything appended since nb_msg(), padding included. */
static inline void nb_end(struct nlbuf *nb)
{
	nb_pad(nb);
	uint32_t l = (uint32_t)(nb->len - nb->msg);
	memcpy(nb->b + nb->msg, &l, sizeof(l));
}

static inline void nb_set_len(struct nlbuf *nb, uint32_t l)
{
	memcpy(nb->b + nb->msg, &l, sizeof(l));
}

/* An inet_diag_msg with the identifying fields the tests look at. */
static inline void nb_diag(struct nlbuf *nb, uint8_t family, uint8_t state,
			   uint16_t sport, uint16_t dport, uint32_t inode)
{
	struct inet_diag_msg m;
	memset(&m, 0, sizeof(m));
	m.idiag_family = family;
	m.idiag_state = state;
	m.id.idiag_sport = htons(sport);
	m.id.idiag_dport = htons(dport);
	m.id.idiag_cookie[0] = inode;
	m.id.idiag_cookie[1] = 0x80000000u | inode;
	m.idiag_inode = inode;
	nb_put(nb, &m, sizeof(m));
}

static inline void nb_attr(struct nlbuf *nb, uint16_t type, const void *data,
			   size_t n)
{
	struct rtattr a = { (unsigned short)(sizeof(a) + n), type };
	nb_pad(nb);
	nb_put(nb, &a, sizeof(a));
	if (n)
		nb_put(nb, data, n);
}

/* One complete SOCK_DIAG_BY_FAMILY message with a cong attribute. */
static inline void nb_record(struct nlbuf *nb, uint32_t seq, uint32_t pid,
			     uint16_t sport)
{
	nb_msg(nb, SOCK_DIAG_BY_FAMILY, NLM_F_MULTI, seq, pid);
	nb_diag(nb, AF_INET, 1, sport, 80, sport);
	nb_attr(nb, INET_DIAG_CONG, "cubic", 6);
	nb_end(nb);
}

static inline void nb_done(struct nlbuf *nb, uint32_t seq, uint32_t pid)
{
	int32_t zero = 0;
	nb_msg(nb, NLMSG_DONE, NLM_F_MULTI, seq, pid);
	nb_put(nb, &zero, sizeof(zero));
	nb_end(nb);
}

#endif
