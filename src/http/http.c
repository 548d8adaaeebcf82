/* http.c - the HTTP server's thread and listeners (see http.h). */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/parse.h"
#include "http_priv.h"

static int tcp_listener(const char *spec, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, rc;

	if (ts_parse_listen(spec, &ss, &len) < 0)
		return -EINVAL; /* the option table checked it */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -errno;
	/* a restart binds again while old connections sit in TIME_WAIT */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, TS_HTTP_CONNS) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

/* A socket already at the path: stale (nobody accepts: replaced), in use
 * (refused), or not a socket at all (refused: it is someone's file). */
static int clear_path(const struct sockaddr_un *sa, const char **why)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		*why = "exists and is not a socket; not replaced";
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0
		     ? -EADDRINUSE
		     : -errno;
	close(fd);
	if (rc == -EADDRINUSE) {
		*why = "another process serves this socket";
		return rc;
	}
	if (rc != -ECONNREFUSED)
		return rc;
	return unlink(sa->sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

static int unix_listener(struct ts_http *h, const char *path, int *out,
			 const char **why)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = clear_path(&sa, why);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* the mode the socket is created with (less the umask): no window
	 * in which another user could connect */
	if (fchmod(fd, 0600) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (chmod(path, 0600) < 0 || listen(fd, TS_HTTP_CONNS) < 0 ||
	    stat(path, &st) < 0) {
		rc = -errno;
		unlink(path);
		close(fd);
		return rc;
	}
	snprintf(h->path, sizeof(h->path), "%s", path);
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	*out = fd;
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **ctx)
{
	struct ts_http_req *r = *ctx;

	(void)version;
	if (!r) { /* the headers are in: the body, if any, comes next */
		r = calloc(1, sizeof(*r));
		*ctx = r;
		return r ? MHD_YES : MHD_NO; /* MHD_NO: closed */
	}
	if (*size) { /* kept up to its bound, the rest read and dropped */
		if (*size > TS_HTTP_BODY_MAX - r->n)
			r->too_long = 1;
		else
			memcpy(r->body + r->n, data, *size);
		r->n += r->too_long ? 0 : *size;
		*size = 0;
		return MHD_YES;
	}
	r->body[r->n] = '\0';
	return ts_http_route(cls, c, url, method, r);
}

static void on_done(void *cls, struct MHD_Connection *c, void **ctx,
		    enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	free(*ctx);
	*ctx = NULL;
}

static int serve_on(struct ts_http *h, struct ts_http_listener *l, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const union MHD_DaemonInfo *info;

	l->h = h;
	/* external epoll: MHD runs on our thread, from MHD_run() */
	l->mhd = MHD_start_daemon(
		MHD_USE_EPOLL, 0, NULL, NULL, on_request, l,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)TS_HTTP_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)TS_HTTP_IDLE_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)TS_HTTP_CONN_MEM, MHD_OPTION_NOTIFY_COMPLETED, on_done,
		NULL, MHD_OPTION_END);
	if (!l->mhd) {
		close(fd);
		return -ENOMEM;
	}
	info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info)
		return -ENOTSUP;
	ev.data.ptr = l;
	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev) < 0
		       ? -errno
		       : 0;
}

/* The soonest of the daemons' timeouts, at most 1 s. */
static int next_timeout(struct ts_http *h)
{
	MHD_UNSIGNED_LONG_LONG t, ms = 1000;

	for (unsigned i = 0; i < 2; i++)
		if (h->lis[i].mhd && MHD_get_timeout(h->lis[i].mhd, &t) &&
		    t < ms)
			ms = t;
	return (int)ms;
}

static void *serve(void *arg)
{
	struct ts_http *h = arg;

	for (;;) {
		struct epoll_event ev[4];
		int n = epoll_wait(h->epfd, ev, 4, next_timeout(h));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "tcpscope: the HTTP server stops: %s\n",
				strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++)
			if (ev[i].data.ptr == NULL)
				return NULL; /* ts_http_stop() */
		for (unsigned i = 0; i < 2; i++)
			if (h->lis[i].mhd)
				MHD_run(h->lis[i].mhd);
	}
}

static int open_listeners(struct ts_http *h, const struct ts_options *opt)
{
	const char *why = NULL;
	int fd = -1, rc;

	if (opt->metrics) {
		rc = tcp_listener(opt->metrics, &fd);
		if (rc == 0)
			rc = serve_on(h, &h->lis[0], fd);
		if (rc < 0) {
			fprintf(stderr,
				"tcpscope: cannot serve --metrics %s: %s\n",
				opt->metrics, strerror(-rc));
			return rc;
		}
	}
	if (opt->control) {
		rc = unix_listener(h, opt->control, &fd, &why);
		h->lis[1].control = 1;
		if (rc == 0)
			rc = serve_on(h, &h->lis[1], fd);
		if (rc < 0) {
			fprintf(stderr,
				"tcpscope: cannot serve --control %s: %s\n",
				opt->control, why ? why : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static int start(struct ts_http *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int rc = 0;

	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->epfd < 0 || h->efd < 0 ||
	    epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->efd, &ev) < 0)
		rc = -errno;
	else if (!(h->buf = malloc(TS_HTTP_RESP_MAX)))
		rc = -ENOMEM;
	if (rc == 0) {
		rc = open_listeners(h, &h->shown); /* says why itself */
		if (rc < 0)
			return rc;
		rc = -pthread_create(&h->thread, NULL, serve, h);
		h->thread_up = rc == 0;
	}
	if (rc < 0)
		fprintf(stderr, "tcpscope: cannot start the HTTP server: %s\n",
			strerror(-rc));
	else
		pthread_setname_np(h->thread, "tcpscope-http");
	return rc;
}

int ts_http_start(struct ts_daemon *d, const struct ts_options *opt,
		  struct ts_http **out)
{
	struct ts_http *h;
	int rc;

	*out = NULL;
	if (!opt->metrics && !opt->control)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->d = d;
	h->epfd = h->efd = -1;
	h->shown = *opt; /* its strings are the daemon's, never freed here */
	rc = start(h);
	if (rc < 0) {
		ts_http_stop(h);
		return rc;
	}
	*out = h;
	return 0;
}

void ts_http_stop(struct ts_http *h)
{
	struct stat st;
	uint64_t one = 1;

	if (!h)
		return;
	if (h->thread_up) {
		(void)!write(h->efd, &one, sizeof(one));
		pthread_join(h->thread, NULL);
	}
	for (unsigned i = 0; i < 2; i++)
		if (h->lis[i].mhd)
			MHD_stop_daemon(h->lis[i].mhd); /* closes its socket */
	/* only the socket made here: not one that replaced it since */
	if (h->path[0] && lstat(h->path, &st) == 0 && st.st_dev == h->dev &&
	    st.st_ino == h->ino)
		unlink(h->path);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->efd >= 0)
		close(h->efd);
	free(h->buf);
	free(h);
}
