/*
 * natslib.h - helpers of the 'nats' suite: Debian's nats-server started by
 * the test (inside the test's private network namespace, so on a loopback
 * of its own: any port is free), a subscriber and a JetStream reader made
 * with libnats, and the checks of what they got against tcpscope's JSON of
 * the same run (sink_test.h).
 * A server dies with the test (PR_SET_PDEATHSIG) and its data directory
 * is removed at exit, whatever the outcome; a test killed by meson's
 * timeout (SIGTERM) exits through the same path.
 * Header-only (static functions): each test is one executable.
 */
#ifndef TS_NATSLIB_H
#define TS_NATSLIB_H

#include <pthread.h>
#include <sys/prctl.h>

#include <nats/nats.h>

#include "sink_test.h"

struct nl_server {
	pid_t pid;
	int port;
	int js;			 /* -js -sd DIR/js */
	const char *user, *pass; /* --user/--pass */
	const char *conf;	 /* a config file's text (-c), or NULL */
	char url[64];		 /* nats://127.0.0.1:PORT */
	char log[200];
};

static char nl_dir[64];
static struct nl_server *nl_servers[4];

static inline void nl_cleanup(void)
{
	char cmd[128];

	for (unsigned i = 0; i < 4; i++)
		if (nl_servers[i] && nl_servers[i]->pid > 0) {
			kill(nl_servers[i]->pid, SIGCONT);
			kill(nl_servers[i]->pid, SIGKILL);
			waitpid(nl_servers[i]->pid, NULL, 0);
			nl_servers[i]->pid = 0;
		}
	if (nl_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", nl_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", nl_dir);
		nl_dir[0] = '\0';
	}
}

static void nl_on_signal(int sig)
{
	(void)sig;
	exit(1); /* atexit: nl_cleanup */
}

static inline const char *nl_server_bin(void)
{
	static const char *const cands[] = { "/usr/sbin/nats-server",
					     "/usr/bin/nats-server" };
	const char *e = getenv("NATS_SERVER");

	if (e && access(e, X_OK) == 0)
		return e;
	for (unsigned i = 0; i < 2; i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	TEST_SKIP("nats-server not installed (Debian package nats-server)");
	return NULL;
}

/* The sandbox (sink_test.h: a private network namespace) and the
 * directory every file of the test goes to: servers' data, tcpscope's
 * stderr and JSON reference. */
static inline void nl_setup(struct st_dir *td, const char *name)
{
	(void)nl_server_bin();
	st_sandbox();
	st_dir_make(td, name, "unused");
	snprintf(nl_dir, sizeof(nl_dir), "%s", td->dir);
	atexit(nl_cleanup);
	signal(SIGTERM, nl_on_signal);
	signal(SIGINT, nl_on_signal);
	srand((unsigned)(getpid() ^ st_now_ms()));
}

/* Accepts TCP on its port (the server is up), within ms. */
static inline int nl_server_ready(const struct nl_server *srv, int ms)
{
	uint64_t end = st_now_ms() + (uint64_t)ms;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)srv->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	while (st_now_ms() < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* The port (any: the namespace is the test's) and URL of srv, before it
 * is started. */
static inline void nl_server_init(struct nl_server *srv)
{
	if (!srv->port)
		srv->port = 20000 + rand() % 30000;
	snprintf(srv->url, sizeof(srv->url), "nats://127.0.0.1:%d", srv->port);
}

/* Starts (or restarts, on the same port and data) srv. */
static inline void nl_server_start(struct nl_server *srv)
{
	char port[16], sd[128], conf[128];
	const char *argv[16];
	int n = 0;

	nl_server_init(srv);
	snprintf(srv->log, sizeof(srv->log), "%s/server-%d.log", nl_dir,
		 srv->port);
	snprintf(port, sizeof(port), "%d", srv->port);
	snprintf(sd, sizeof(sd), "%s/js-%d", nl_dir, srv->port);
	snprintf(conf, sizeof(conf), "%s/server-%d.conf", nl_dir, srv->port);
	argv[n++] = nl_server_bin();
	argv[n++] = "-a";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = port;
	if (srv->js) {
		argv[n++] = "-js";
		argv[n++] = "-sd";
		argv[n++] = sd;
	}
	if (srv->user) {
		argv[n++] = "--user";
		argv[n++] = srv->user;
		argv[n++] = "--pass";
		argv[n++] = srv->pass;
	}
	if (srv->conf) {
		FILE *f = fopen(conf, "w");
		CHECK(f && fputs(srv->conf, f) >= 0);
		if (f)
			fclose(f);
		argv[n++] = "-c";
		argv[n++] = conf;
	}
	argv[n] = NULL;
	for (unsigned i = 0; i < 4; i++)
		if (!nl_servers[i] || nl_servers[i] == srv) {
			nl_servers[i] = srv;
			break;
		}
	srv->pid = fork();
	if (srv->pid == 0) {
		int fd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	CHECK(srv->pid > 0);
	if (nl_server_ready(srv, 10000) < 0) {
		fprintf(stderr, "nats-server did not start (see %s)\n",
			srv->log);
		CHECK(0);
		exit(check_exit());
	}
}

/* SIGKILL (a crash) or SIGTERM (a clean stop), and reaped. */
static inline void nl_server_stop(struct nl_server *srv, int sig)
{
	if (srv->pid <= 0)
		return;
	kill(srv->pid, SIGCONT);
	kill(srv->pid, sig);
	if (st_wait_status(srv->pid, 10000) == -1)
		fprintf(stderr, "nats-server did not stop: killed\n");
	srv->pid = 0;
}

/* --- a subscriber ------------------------------------------------------ */

struct nl_sub {
	natsConnection *nc;
	natsSubscription *sub;
	pthread_mutex_t mu;
	struct st_buf b; /* messages back to back; b.cut[]: their lengths */
	uint64_t last_ms;
};

static void nl_on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
		      void *closure)
{
	struct nl_sub *s = closure;

	(void)nc;
	(void)sub;
	pthread_mutex_lock(&s->mu);
	st_buf_add(&s->b, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	st_buf_cut(&s->b, (size_t)natsMsg_GetDataLength(m));
	s->last_ms = st_now_ms();
	pthread_mutex_unlock(&s->mu);
	natsMsg_Destroy(m);
}

/* Options that reconnect forever, fast, with the server's credentials. */
static inline natsOptions *nl_options(const struct nl_server *srv)
{
	natsOptions *o = NULL;

	CHECK(natsOptions_Create(&o) == NATS_OK);
	CHECK(natsOptions_SetURL(o, srv->url) == NATS_OK);
	if (srv->user)
		CHECK(natsOptions_SetUserInfo(o, srv->user, srv->pass) ==
		      NATS_OK);
	CHECK(natsOptions_SetMaxReconnect(o, -1) == NATS_OK);
	CHECK(natsOptions_SetReconnectWait(o, 50) == NATS_OK);
	CHECK(natsOptions_SetReconnectBufSize(o, 64 << 20) == NATS_OK);
	return o;
}

static inline void nl_sub_start(struct nl_sub *s, const struct nl_server *srv,
				const char *subject)
{
	natsOptions *o = nl_options(srv);

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	CHECK(natsConnection_Connect(&s->nc, o) == NATS_OK);
	CHECK(natsConnection_Subscribe(&s->sub, s->nc, subject, nl_on_msg, s) ==
	      NATS_OK);
	CHECK(natsSubscription_SetPendingLimits(s->sub, -1, -1) == NATS_OK);
	/* the server knows the subscription before anything is published */
	CHECK(natsConnection_FlushTimeout(s->nc, 5000) == NATS_OK);
	natsOptions_Destroy(o);
}

/* Waits until nothing came for quiet_ms (at most 15 s), then stops. */
static inline void nl_sub_stop(struct nl_sub *s, int quiet_ms)
{
	uint64_t end = st_now_ms() + 15000;

	for (;;) {
		pthread_mutex_lock(&s->mu);
		uint64_t last = s->last_ms;
		pthread_mutex_unlock(&s->mu);
		if (st_now_ms() > end ||
		    st_now_ms() - last > (uint64_t)quiet_ms)
			break;
		usleep(20000);
	}
	natsSubscription_Destroy(s->sub);
	natsConnection_Destroy(s->nc);
	s->sub = NULL;
	s->nc = NULL;
}

/* --- JetStream --------------------------------------------------------- */

static inline jsCtx *nl_js(const struct nl_server *srv, natsConnection **nc)
{
	natsOptions *o = nl_options(srv);
	jsCtx *js = NULL;

	CHECK(natsConnection_Connect(nc, o) == NATS_OK);
	CHECK(natsConnection_JetStream(&js, *nc, NULL) == NATS_OK);
	natsOptions_Destroy(o);
	return js;
}

/* A file stream `name` capturing `subject` (retried while JetStream
 * starts). */
static inline void nl_stream_add(const struct nl_server *srv, const char *name,
				 const char *subject)
{
	natsConnection *nc = NULL;
	jsCtx *js = nl_js(srv, &nc);
	jsStreamConfig cfg;
	jsStreamInfo *si = NULL;
	const char *subj[1] = { subject };
	natsStatus st = NATS_ERR;

	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	cfg.Subjects = subj;
	cfg.SubjectsLen = 1;
	for (int i = 0; i < 100 && st != NATS_OK; i++) {
		st = js_AddStream(&si, js, &cfg, NULL, NULL);
		if (st != NATS_OK)
			usleep(50000);
	}
	CHECK(st == NATS_OK);
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
}

/* Every message of the stream, into b (b->cut[]: their lengths); the
 * number of messages. */
static inline uint64_t nl_stream_read(const struct nl_server *srv,
				      const char *name, struct st_buf *b)
{
	natsConnection *nc = NULL;
	jsCtx *js = nl_js(srv, &nc);
	jsStreamInfo *si = NULL;
	uint64_t n = 0;

	CHECK(js_GetStreamInfo(&si, js, name, NULL, NULL) == NATS_OK);
	for (uint64_t seq = si ? si->State.FirstSeq : 1;
	     si && si->State.Msgs && seq <= si->State.LastSeq; seq++) {
		natsMsg *m = NULL;
		if (js_GetMsg(&m, js, name, seq, NULL, NULL) != NATS_OK)
			continue; /* deleted: none here */
		st_buf_add(b, natsMsg_GetData(m),
			   (size_t)natsMsg_GetDataLength(m));
		st_buf_cut(b, (size_t)natsMsg_GetDataLength(m));
		natsMsg_Destroy(m);
		n++;
	}
	jsStreamInfo_Destroy(si);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return n;
}

/* --- checks ------------------------------------------------------------ */

/* Each message of b decoded on its own (a message is one whole payload)
 * and checked against the reference; the records, or -1 when a message
 * is not whole. *longest: the largest message. */
static inline long nl_check_msgs(enum sink_format fmt, const struct st_buf *b,
				 struct st_set *ref, int *bad, size_t *longest)
{
	size_t off = 0;
	long rows = 0;

	*longest = 0;
	for (size_t i = 0; i < b->ncut; i++) {
		long got = st_check(fmt, b->p + off, b->cut[i], ref, bad);
		if (got <= 0) {
			fprintf(stderr, "message %zu (%zu bytes) not whole\n",
				i, b->cut[i]);
			return -1;
		}
		rows += got;
		if (b->cut[i] > *longest)
			*longest = b->cut[i];
		off += b->cut[i];
	}
	return rows;
}

/* Prints tcpscope's stderr (for a failing test's log). */
static inline void nl_show(const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");

	fprintf(stderr, "--- %s\n", path);
	while (f && fgets(line, sizeof(line), f))
		fputs(line, stderr);
	if (f)
		fclose(f);
}

/* tcpscope with stderr to td->epath, which starts empty (the child
 * truncates it only once it runs: a poll count read from the file before
 * that would be the last run's). */
static inline pid_t nl_spawn(const struct st_dir *td, char *const argv[],
			     const char *out)
{
	unlink(td->epath);
	return st_spawn(argv, out, td->epath);
}

enum {
	NL_REF = 1,	   /* a second destination: the JSON reference file */
	NL_QUICK_EXIT = 2, /* --exit-timeout 1s */
};

/* tcpscope --netns host --interval IV --count N --dest URL (flags: NL_*),
 * stderr to td->epath. */
static inline pid_t nl_tcpscope(const struct st_dir *td, const char *url,
				const char *interval, int count, unsigned flags)
{
	char n[16];
	char *argv[16] = {
		(char *)st_bin(), "--interval", (char *)interval, "--count",  n,
		"--netns",	  "host",	"--dest",	  (char *)url
	};
	int k = 9;

	snprintf(n, sizeof(n), "%d", count);
	if (flags & NL_REF) {
		argv[k++] = "--dest";
		argv[k++] = (char *)td->jurl;
	}
	if (flags & NL_QUICK_EXIT) {
		argv[k++] = "--exit-timeout";
		argv[k++] = "1s";
	}
	argv[k] = NULL;
	return nl_spawn(td, argv, NULL);
}

/* The end of a run: `want` polls (0: any), the last totals naming url,
 * and every record counted sent or dropped. The records polled. */
static inline unsigned long long nl_sum(const struct st_dir *td,
					const char *url, int want,
					unsigned long long *sent,
					unsigned long long *dropped)
{
	unsigned long long polled;
	int polls;

	polled = st_polled(td->epath, &polls);
	CHECK(st_summary(td->epath, url, sent, dropped, &polls) == 0);
	fprintf(stderr, "%d polls: polled %llu, sent %llu, dropped %llu\n",
		polls, polled, *sent, *dropped);
	if (want)
		CHECK_EQ(polls, want);
	CHECK(polled > 0);
	CHECK_EQ(*sent + *dropped, polled);
	return polled;
}

/* After a case: tcpscope's stderr when a check failed; what it used. */
static inline void nl_end(const struct st_dir *td, struct st_set *ref,
			  struct st_buf *b)
{
	if (check_failures)
		nl_show(td->epath);
	if (ref)
		st_set_free(ref);
	if (b) {
		free(b->p);
		free(b->cut);
		memset(b, 0, sizeof(*b));
	}
	unlink(td->jpath);
}

/* The last poll seen on stderr, 0 before the first. */
static inline int nl_polls(const char *err_path)
{
	int polls = 0;

	(void)st_polled(err_path, &polls);
	return polls;
}

/* Tasks (threads) of a process. */
static inline int nl_threads(pid_t pid)
{
	char path[64], line[256];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

#endif
