/*
 * churn.c - opens and closes loopback TCP connections as fast as it can
 * (or at a given rate), for the close-event benchmark (bench/close.sh).
 *
 * Usage: churn [--count N] [--rate R] [--threads T] [--fin]
 *
 * Each of T threads has its own listener on 127.0.0.1 and loops: connect,
 * accept, close both. By default the client closes with SO_LINGER {1, 0}
 * (a RST: no TIME_WAIT, so the ephemeral ports never run out at tens of
 * thousands of connections a second; each connection still frees two
 * sockets, the events measured); --fin closes with FIN both ways (the
 * client's side then waits in TIME_WAIT: net.ipv4.tcp_tw_reuse must let
 * loopback reuse it). --rate paces the total to R connections a second
 * (in 1 ms steps); without it, as fast as the threads go. Prints one line:
 *   churn: N connections in S s (R/s), user U s, sys Y s
 * with the process's own CPU (getrusage) over the run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct worker {
	pthread_t th;
	int lfd;
	struct sockaddr_in addr;
	long count;
	double rate; /* connections a second, 0: no pacing */
	int fin;
	long done;
	int err;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(struct worker *w)
{
	struct linger lg = { 1, 0 };
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

	if (c < 0)
		return -errno;
	if (connect(c, (struct sockaddr *)&w->addr, sizeof(w->addr)) < 0) {
		int e = -errno;
		close(c);
		return e;
	}
	a = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (a < 0) {
		int e = -errno;
		close(c);
		return e;
	}
	if (!w->fin)
		(void)setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(c);
	close(a);
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	double t0 = now_s();

	while (w->done < w->count) {
		if (w->rate > 0) {
			double due = t0 + (double)w->done / w->rate;
			double t = now_s();
			if (t < due) {
				struct timespec ts = { 0, 1000000 };
				nanosleep(&ts, NULL);
				continue;
			}
		}
		int rc = one(w);
		if (rc < 0) {
			w->err = rc;
			break;
		}
		w->done++;
	}
	return NULL;
}

static int listen_on(struct worker *w)
{
	socklen_t len = sizeof(w->addr);

	w->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->lfd < 0)
		return -errno;
	memset(&w->addr, 0, sizeof(w->addr));
	w->addr.sin_family = AF_INET;
	w->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(w->lfd, (struct sockaddr *)&w->addr, sizeof(w->addr)) < 0 ||
	    listen(w->lfd, 128) < 0 ||
	    getsockname(w->lfd, (struct sockaddr *)&w->addr, &len) < 0)
		return -errno;
	return 0;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	long count = 100000, total = 0;
	double rate = 0, t0, dt;
	int threads = 1, fin = 0, err = 0;
	struct rusage ru;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--fin") == 0)
			fin = 1;
		else {
			fprintf(stderr,
				"usage: churn [--count N] [--rate R] "
				"[--threads T] [--fin]\n");
			return 2;
		}
	}
	if (threads < 1 || threads > MAX_THREADS || count < 1) {
		fprintf(stderr, "churn: 1 to %d threads, a count above 0\n",
			MAX_THREADS);
		return 2;
	}
	for (int i = 0; i < threads; i++) {
		w[i].count = count / threads + (i < count % threads);
		w[i].rate = rate / threads;
		w[i].fin = fin;
		int rc = listen_on(&w[i]);
		if (rc < 0) {
			fprintf(stderr, "churn: listen: %s\n", strerror(-rc));
			return 1;
		}
	}
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&w[i].th, NULL, run, &w[i]);
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].done;
		if (w[i].err)
			err = w[i].err;
	}
	dt = now_s() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("churn: %ld connections in %.3f s (%.0f/s), user %.3f s, "
	       "sys %.3f s\n",
	       total, dt, (double)total / dt, tv(ru.ru_utime),
	       tv(ru.ru_stime));
	if (err) {
		fprintf(stderr, "churn: stopped early: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
