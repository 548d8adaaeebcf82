/*
 * main.c - tcpscope's entry point: parses the options and wires the
 * modules; the daemon's lifecycle lives in src/daemon/.
 *
 * Threads: this one (the event loop: reconcile, poll shard 0, output),
 * the namespace opener (ns_open.h), and --workers - 1 extra poll threads:
 * (with --io-engine uring, also the kernel's bounded io-wq workers:
 * ring.h), and one HTTP thread with --metrics and/or --control (http.h):
 * a constant number whatever the number of namespaces.
 */
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../daemon/daemon.h"
#include "../service/caps.h"
#include "../util/stop.h"
#include "options.h"

/* 0/1/2 closed at exec are reopened on /dev/null: else the first socket
 * or file opened takes one, and records or summaries would be written into
 * it. In order, so that open() returns the fd being filled. */
static int open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n < 0)
			return -errno;
		if (n != fd) {
			int rc = dup2(n, fd) < 0 ? -errno : 0;
			close(n);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct ts_options opt;
	static struct ts_daemon d;
	int rc, status;

	/* before anything opens an fd */
	rc = open_std_fds();
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot open /dev/null: %s\n",
			strerror(-rc));
		return 1;
	}
	/* then, before anything else: SIGINT/SIGTERM/SIGHUP are blocked here
	 * (so in every thread) and read from a signalfd, so a signal while a
	 * destination's name is resolved does not kill the daemon */
	rc = ts_stop_init();
	if (rc < 0) {
		fprintf(stderr, "tcpscope: cannot handle signals: %s\n",
			strerror(-rc));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = ts_options_parse(argc, argv, &opt, stdout, stderr);
	if (rc != 0) {
		ts_options_release(&opt);
		return rc > 0 ? 0 : 2;
	}
	/* before any thread or destination: every thread gets the same,
	 * reduced sets, and files are opened as they will be reopened */
	if (ts_caps_drop(stderr) < 0) {
		ts_options_release(&opt);
		return 1;
	}
	rc = ts_daemon_init(&d, &opt);
	/* a bad destination URL is a usage error */
	status = rc == -EINVAL ? 2 : rc < 0 ? 1 : 0;
	if (rc == 0)
		status = ts_daemon_run(&d) < 0 ? 1 : 0;
	int gone = ts_daemon_reader_gone(&d);
	ts_daemon_release(&d);
	ts_options_release(&opt);
	if (gone) {
		/* as any filter whose reader left (`tcpscope | head -1`):
		 * quietly, killed by SIGPIPE (status 141 in a shell) */
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	return status;
}
