/*
 * test_daemon - the daemon's lifecycle as another thread sees it: a poll
 * requested through the event loop's queue runs at once (the interval
 * is 10 s) and a burst of requests coalesces; SIGHUP reopens the file
 * destination between polls; SIGTERM ends the run promptly; a snapshot
 * read from another thread while polling is always consistent (the null
 * destination's count equals the records counted, polls equal the last
 * poll's number); and the totals equal the sum of the summary lines.
 * Polls the live kernel, host namespace only.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "daemon/daemon.h"
#include "util/stop.h"
#include "util/timeutil.h"

static struct ts_daemon d;
static struct ts_options opt;
static int run_rc = -1;
static atomic_int reader_stop, bad_snapshots, snapshots;

static void *run_daemon(void *arg)
{
	(void)arg;
	run_rc = ts_daemon_run(&d);
	return NULL;
}

/* Consistent: every record went to null, polls match the poll number. */
static void *reader(void *arg)
{
	struct ts_counters c;

	(void)arg;
	while (!atomic_load(&reader_stop)) {
		if (ts_metrics_read(&d.metrics, &c) == 0)
			continue;
		atomic_fetch_add(&snapshots, 1);
		if (c.nsinks != 2 || c.sinks[0].records != c.c[TS_C_RECORDS] ||
		    c.sinks[0].dropped != 0 ||
		    c.c[TS_C_POLLS] != c.g[TS_G_POLL_SEQ])
			atomic_fetch_add(&bad_snapshots, 1);
	}
	return NULL;
}

/* Waits up to ms for the publication count to reach n; returns it. */
static uint64_t wait_polls(uint64_t n, unsigned ms)
{
	struct ts_counters c;
	uint64_t got = 0;

	for (unsigned i = 0; i < ms / 5; i++) {
		got = ts_metrics_read(&d.metrics, &c) ? c.c[TS_C_POLLS] : 0;
		if (got >= n)
			break;
		usleep(5000);
	}
	return got;
}

/* Sums the "N sockets" of the summary lines in the captured stderr. */
static void sum_lines(FILE *f, uint64_t *lines, uint64_t *sockets)
{
	char buf[4096];
	unsigned long long seq, n;

	*lines = *sockets = 0;
	rewind(f);
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "tcpscope: poll %llu: %llu sockets", &seq,
			   &n) == 2) {
			(*lines)++;
			*sockets += n;
		}
}

int main(void)
{
	char dir[] = "/tmp/test_daemon.XXXXXX", dest[128], moved[160];
	struct ts_req poll = { TS_REQ_POLL, 0 };
	struct ts_counters c;
	pthread_t t, rt;
	FILE *err = tmpfile();
	int saved_err = dup(2);

	CHECK(ts_stop_init() == 0);
	if (!mkdtemp(dir) || !err)
		TEST_SKIP("no temporary directory");
	snprintf(dest, sizeof(dest), "file:%s/out.json", dir);
	snprintf(moved, sizeof(moved), "%s/out.json.1", dir);
	char *argv[] = { "tcpscope", "--netns",	 "host",   "--interval",
			 "10s",	     "--dest",	 "null",   "--dest",
			 dest,	     "--states", "listen", NULL };
	CHECK(ts_options_parse(11, argv, &opt, stdout, stderr) == 0);
	CHECK(ts_daemon_init(&d, &opt) == 0);
	dup2(fileno(err), 2);
	pthread_create(&t, NULL, run_daemon, NULL);
	pthread_create(&rt, NULL, reader, NULL);

	/* the first poll at once; a request runs the second at once */
	CHECK_EQ(wait_polls(1, 3000), 1);
	CHECK(ts_daemon_post(&d, &poll) == 0);
	CHECK_EQ(wait_polls(2, 1000), 2);

	/* a burst during a poll coalesces with it: the poll is held at its
	 * end (the fan-out's lock, taken at every poll's flush) while 20
	 * requests arrive; then it ends and no further poll follows */
	struct ts_loop_stats ls0, ls1;
	pthread_mutex_lock(&d.fanout.lock);
	CHECK(ts_daemon_post(&d, &poll) == 0);
	for (int i = 0; i < 400; i++) { /* until the daemon polls */
		pthread_mutex_lock(&d.loop.lock);
		int busy = d.loop.polling;
		pthread_mutex_unlock(&d.loop.lock);
		if (busy)
			break;
		usleep(5000);
	}
	ts_loop_stats(&d.loop, &ls0);
	for (int i = 0; i < 20; i++)
		CHECK(ts_daemon_post(&d, &poll) == 0);
	ts_loop_stats(&d.loop, &ls1);
	pthread_mutex_unlock(&d.fanout.lock);
	CHECK_EQ(ls1.coalesced - ls0.coalesced, 20);
	CHECK_EQ(wait_polls(3, 1000), 3);
	usleep(200 * 1000);
	uint64_t after = wait_polls(3, 10);
	CHECK_EQ(after, 3);

	/* SIGHUP reopens the file (log rotation) before the next poll */
	CHECK(rename(dest + 5, moved) == 0);
	kill(getpid(), SIGHUP);
	usleep(100 * 1000);
	CHECK(ts_daemon_post(&d, &poll) == 0);
	CHECK(wait_polls(after + 1, 1000) == after + 1);
	CHECK(access(dest + 5, F_OK) == 0);

	/* SIGTERM right after a request: the run ends promptly */
	CHECK(ts_daemon_post(&d, &poll) == 0);
	uint64_t t0 = ts_now_ns(CLOCK_MONOTONIC);
	kill(getpid(), SIGTERM);
	pthread_join(t, NULL);
	CHECK(ts_now_ns(CLOCK_MONOTONIC) - t0 < 2000000000ull);
	CHECK_EQ(run_rc, 0);
	atomic_store(&reader_stop, 1);
	pthread_join(rt, NULL);
	dup2(saved_err, 2);

	CHECK(atomic_load(&snapshots) > 0);
	CHECK_EQ(atomic_load(&bad_snapshots), 0);
	CHECK(ts_metrics_read(&d.metrics, &c) > 0);
	uint64_t lines, sockets;
	sum_lines(err, &lines, &sockets);
	CHECK_EQ(lines, c.c[TS_C_POLLS]);
	CHECK_EQ(sockets, c.c[TS_C_RECORDS]);
	CHECK(c.c[TS_C_RECORDS] > 0);
	CHECK_EQ(c.sinks[1].records, c.c[TS_C_RECORDS]);

	/* what tcpscope (and a CHECK meanwhile) printed, for the log */
	char line[4096];
	rewind(err);
	while (fgets(line, sizeof(line), err))
		fputs(line, stderr);
	ts_daemon_release(&d);
	ts_options_release(&opt);
	unlink(dest + 5);
	unlink(moved);
	rmdir(dir);
	fclose(err);
	return check_exit();
}
