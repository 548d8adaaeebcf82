/*
 * redis_test.h - helpers of the 'redis' suite: a real redis-server
 * started by the test, on 127.0.0.1 and a port the test picks, with a
 * private data directory and no persistence (--save '' --appendonly no),
 * in the test's private network namespace (st_sandbox()). The server dies
 * with the test, even when it crashes or is killed (PR_SET_PDEATHSIG),
 * and is killed at exit otherwise. The stream is read back with XRANGE
 * through hiredis, blocking, on a connection of the test's own.
 * Header-only (static functions): each test is one executable.
 */
#ifndef TS_REDIS_TEST_H
#define TS_REDIS_TEST_H

#include <hiredis/hiredis.h>
#include <sys/prctl.h>

#include "sink_test.h"

struct rt_server {
	pid_t pid;
	int port;
	char dir[160];	  /* its data directory and log */
	const char *pass; /* --requirepass, or NULL */
	const char *user; /* an ACL user line ("alice on >pw ~* +@all") */
	int v6;		  /* listens on ::1 as well */
};

static struct rt_server *rt_all[4];

/* The redis-server binary, or a skip naming the package. */
static inline const char *rt_server_bin(void)
{
	static char path[256];
	const char *env = getenv("PATH");
	char dirs[1024], *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin", env ? env : "");
	for (char *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/redis-server", d);
		if (access(path, X_OK) == 0)
			return path;
	}
	TEST_SKIP("redis-server not installed (Debian package redis-server)");
	return NULL;
}

/* 1 when ::1 can be bound here. */
static inline int rt_have_v6(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* A port nobody listens on in this namespace. */
static inline int rt_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A blocking connection of the test's own, authenticated; NULL when the
 * server does not answer PING. */
static inline redisContext *rt_connect(const struct rt_server *srv)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", srv->port, tv);
	redisReply *y;

	if (!c || c->err) {
		redisFree(c);
		return NULL;
	}
	(void)redisSetTimeout(c, (struct timeval){ 10, 0 });
	if (srv->pass) {
		y = redisCommand(c, "AUTH %s", srv->pass);
		freeReplyObject(y);
	}
	y = redisCommand(c, "PING");
	if (!y || y->type != REDIS_REPLY_STATUS) {
		freeReplyObject(y);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(y);
	return c;
}

static inline void rt_kill(struct rt_server *srv)
{
	if (srv->pid > 0) {
		kill(srv->pid, SIGCONT); /* a stopped one dies as well */
		kill(srv->pid, SIGKILL);
		waitpid(srv->pid, NULL, 0);
	}
	srv->pid = 0;
}

static inline void rt_kill_all(void)
{
	for (unsigned i = 0; i < 4; i++)
		if (rt_all[i])
			rt_kill(rt_all[i]);
}

/* Starts it on srv->port (0: one picked here). 0 once it answers PING. */
static inline int rt_start(struct rt_server *srv)
{
	const char *bin = rt_server_bin();
	char port[16], log[200];

	if (!srv->port)
		srv->port = rt_free_port();
	snprintf(port, sizeof(port), "%d", srv->port);
	snprintf(log, sizeof(log), "%s/redis.log", srv->dir);
	mkdir(srv->dir, 0700);
	srv->pid = fork();
	if (srv->pid == 0) {
		char *argv[32] = { (char *)bin,	   "--port",	port,
				   "--bind",	   "127.0.0.1", "--dir",
				   srv->dir,	   "--save",	"",
				   "--appendonly", "no",	"--daemonize",
				   "no",	   "--logfile", log };
		int n = 15;
		if (srv->v6) { /* --bind takes the addresses that follow */
			memmove(argv + 5, argv + 4, 11 * sizeof(*argv));
			argv[5] = "::1";
			n++;
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (srv->pass) {
			argv[n++] = "--requirepass";
			argv[n++] = (char *)srv->pass;
		}
		/* one argument per word: redis-server joins them */
		char user[256], *save = NULL;
		snprintf(user, sizeof(user), "%s", srv->user ? srv->user : "");
		if (srv->user)
			argv[n++] = "--user";
		for (char *w = strtok_r(user, " ", &save); w && n < 31;
		     w = strtok_r(NULL, " ", &save))
			argv[n++] = w;
		argv[n] = NULL;
		execv(bin, argv);
		_exit(127);
	}
	for (unsigned i = 0; i < 4 && srv->pid > 0; i++)
		if (!rt_all[i] || rt_all[i] == srv) {
			rt_all[i] = srv;
			break;
		}
	static int registered;
	if (!registered++)
		atexit(rt_kill_all);
	for (int i = 0; i < 250; i++) {
		redisContext *c = rt_connect(srv);
		if (c) {
			redisFree(c);
			return 0;
		}
		if (waitpid(srv->pid, NULL, WNOHANG) == srv->pid) {
			srv->pid = 0;
			return -1;
		}
		usleep(20000);
	}
	return -1;
}

/* The entries of stream `key` into b (one cut per entry, the value of its
 * "data" field); the number of entries, or -1. */
static inline long rt_xrange(const struct rt_server *srv, const char *key,
			     struct st_buf *b)
{
	redisContext *c = rt_connect(srv);
	redisReply *y = c ? redisCommand(c, "XRANGE %s - +", key) : NULL;
	long n = -1;

	if (y && y->type == REDIS_REPLY_ARRAY) {
		n = 0;
		for (size_t i = 0; i < y->elements; i++) {
			redisReply *e = y->element[i], *kv;
			kv = e->type == REDIS_REPLY_ARRAY && e->elements == 2
				     ? e->element[1]
				     : NULL;
			if (!kv || kv->elements != 2 ||
			    strcmp(kv->element[0]->str, "data") != 0) {
				n = -1;
				break;
			}
			st_buf_add(b, kv->element[1]->str, kv->element[1]->len);
			st_buf_cut(b, kv->element[1]->len);
			n++;
		}
	}
	freeReplyObject(y);
	redisFree(c);
	return n;
}

/* An integer reply of a command without arguments beyond the key. */
static inline long long rt_int(const struct rt_server *srv, const char *cmd,
			       const char *key)
{
	redisContext *c = rt_connect(srv);
	redisReply *y = c ? redisCommand(c, "%s %s", cmd, key) : NULL;
	long long v = y && y->type == REDIS_REPLY_INTEGER ? y->integer : -1;

	freeReplyObject(y);
	redisFree(c);
	return v;
}

/* Decodes each entry (or message) of b alone, as a whole payload of
 * `fmt`, against ref; the records decoded, or -1 when one is not whole.
 * max_bytes, max_rows: bounds each must keep (0: none). */
static inline long rt_check_entries(enum sink_format fmt,
				    const struct st_buf *b, struct st_set *ref,
				    size_t max_bytes, long max_rows, int *bad)
{
	size_t off = 0;
	long got = 0;

	for (size_t k = 0; k < b->ncut; off += b->cut[k++]) {
		long n = st_check(fmt, b->p + off, b->cut[k], ref, bad);
		if (n <= 0 || (max_bytes && b->cut[k] > max_bytes) ||
		    (max_rows && n > max_rows)) {
			fprintf(stderr, "entry %zu: %ld records, %zu bytes\n",
				k, n, b->cut[k]);
			return -1;
		}
		got += n;
	}
	return got;
}

/* Records of ref with poll_seq == seq, and of them those seen. */
static inline long rt_poll_records(const struct st_set *ref, uint64_t seq,
				   long *seen)
{
	long n = 0;
	char v[32];

	*seen = 0;
	for (size_t i = 0; i < ref->n; i++)
		if (st_json_get(ref->line[i], "poll_seq", v, sizeof(v)) == 0 &&
		    strtoull(v, NULL, 10) == seq) {
			n++;
			*seen += ref->seen[i] != 0;
		}
	return n;
}

/* Whether the file holds `needle` anywhere. */
static inline int rt_file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* The start of every test: a private namespace holding `conns` sockets
 * (and listeners), a private directory, and the server's directory in
 * it; the server is started when `start`. */
static inline void rt_begin(struct st_dir *td, struct rt_server *srv,
			    const char *name, int conns, int start)
{
	rt_server_bin();
	st_sandbox();
	CHECK(st_make_conns(conns) >= conns);
	st_dir_make(td, name, "unused");
	snprintf(srv->dir, sizeof(srv->dir), "%s/redis", td->dir);
	if (start)
		CHECK(rt_start(srv) == 0);
}

static inline void rt_buf_free(struct st_buf *b)
{
	free(b->p);
	free(b->cut);
	memset(b, 0, sizeof(*b));
}

#endif
