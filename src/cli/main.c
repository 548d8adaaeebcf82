/*
 * main.c - tcpscope's entry point: parses the options and wires the
 * modules; the daemon's lifecycle lives in src/daemon/.
 *
 * Threads: this one (the event loop: reconcile, poll shard 0, output),
 * the namespace opener (ns_open.h), and --workers - 1 extra poll threads:
 * a constant number whatever the number of namespaces.
 */
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../daemon/daemon.h"
#include "../util/stop.h"
#include "options.h"

int main(int argc, char **argv)
{
	static struct ts_options opt;
	static struct ts_daemon d;
	int rc, status;

	/* before anything else: SIGINT/SIGTERM/SIGHUP are blocked here (so
	 * in every thread) and read from a signalfd, so a signal while a
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
