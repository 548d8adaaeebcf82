/*
 * http_priv.h - what the server (http.c) and its routes (routes.c)
 * share; private to src/http.
 */
#ifndef TS_HTTP_PRIV_H
#define TS_HTTP_PRIV_H

#include <microhttpd.h>
#include <pthread.h>
#include <sys/types.h>

#include "../cli/options.h"
#include "../daemon/daemon.h"

#define TS_HTTP_BODY_MAX 64	     /* a request's body (PUT /interval) */
#define TS_HTTP_RESP_MAX (1u << 20)  /* a response */
#define TS_HTTP_CONNS	 64	     /* connections per listener */
#define TS_HTTP_IDLE_S	 10	     /* an idle connection is closed */
#define TS_HTTP_CONN_MEM (32u << 10) /* headers and buffers of one */

struct ts_http;

struct ts_http_listener {
	struct ts_http *h;
	int control; /* the unix socket: the control API too */
	struct MHD_Daemon *mhd;
};

struct ts_http {
	struct ts_daemon *d;
	struct ts_options shown; /* GET /config: the options, the interval
				    as PUT /interval last set it */
	char interval[TS_HTTP_BODY_MAX + 1]; /* its text */
	struct ts_http_listener lis[2];	     /* metrics, control */
	int epfd, efd;
	pthread_t thread;
	int thread_up;
	char path[TS_SUN_PATH_MAX]; /* the control socket made, or "" */
	dev_t dev;
	ino_t ino;
	char *buf; /* TS_HTTP_RESP_MAX: responses are rendered here */
};

/* One request's state: its body, bounded. */
struct ts_http_req {
	size_t n;
	int too_long;
	char body[TS_HTTP_BODY_MAX + 1];
};

/* Answers a request whose body has been read. */
enum MHD_Result ts_http_route(struct ts_http_listener *l,
			      struct MHD_Connection *c, const char *url,
			      const char *method, struct ts_http_req *r);

#endif
