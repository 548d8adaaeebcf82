/*
 * test_nats_secret.c - credentials in a nats:// URL never show: a server
 * started with --user/--pass (a password that needs %-escapes in a URL);
 *  - the right password (escaped): every record is delivered to a
 *    subscriber, and stderr names the destination with the password
 *    masked, never the password (escaped or not);
 *  - a wrong password: nothing is delivered, every record is counted
 *    (dropped), a line says the destination is not connected, and
 *    neither password shows;
 *  - the server refuses the credentials (so the library gives the
 *    connection up for good), then restarts accepting them: tcpscope
 *    makes its connection anew and delivers again; the sum holds;
 *  - --check-config prints the URL masked.
 */
#include "natslib.h"

#define USER	 "tsuser"
#define PASS	 "pa:ss@wd-S3cret"
#define PASS_ESC "pa%%3Ass%%40wd-S3cret" /* as a format */
#define WRONG	 "Wr0ng-S3cret"

/* Lines of `path` that show a secret. */
static int leaks(const char *path)
{
	return st_lines_with(path, "S3cret", NULL) +
	       st_lines_with(path, "pa%3A", NULL);
}

/* The URL with password `pass` (a format: %% escaped) and the name
 * tcpscope gives it (masked). */
static void urls(const struct nl_server *srv, const char *pass,
		 const char *subject, char *url, char *name, size_t n)
{
	char fmt[160];

	snprintf(fmt, sizeof(fmt), "nats://%s:%s@127.0.0.1:%%d/%%s", USER,
		 pass);
	snprintf(url, n, fmt, srv->port, subject);
	snprintf(name, n, "nats://%s:***@127.0.0.1:%d/%s", USER, srv->port,
		 subject);
}

static void run_right(const struct st_dir *td, const struct nl_server *srv)
{
	struct nl_sub sub;
	struct st_set ref;
	char url[256], name[256];
	unsigned long long sent = 0, dropped = 0;
	int bad = 0;
	size_t longest;

	urls(srv, PASS_ESC, "sec.records", url, name, sizeof(url));
	nl_sub_start(&sub, srv, "sec.records");
	CHECK_EQ(st_wait(nl_tcpscope(td, url, "100ms", 3, NL_REF), 30000), 0);
	nl_sub_stop(&sub, 500);
	st_set_load(&ref, td->jpath, NULL, 0);
	long rows = nl_check_msgs(SINK_FMT_PROTOBUF_LIST, &sub.b, &ref, &bad,
				  &longest);
	(void)nl_sum(td, name, 3, &sent, &dropped);
	fprintf(stderr, "right password: %ld rows\n", rows);
	CHECK_EQ(rows, sent);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(bad, 0);
	CHECK_EQ(leaks(td->epath), 0);
	nl_end(td, &ref, &sub.b);
}

static void run_wrong(const struct st_dir *td, const struct nl_server *srv)
{
	char url[256], name[256];
	unsigned long long sent = 1, dropped = 0;

	urls(srv, WRONG, "sec.records", url, name, sizeof(url));
	CHECK_EQ(
		st_wait(nl_tcpscope(td, url, "200ms", 5, NL_QUICK_EXIT), 30000),
		0);
	(void)nl_sum(td, name, 5, &sent, &dropped);
	CHECK_EQ(sent, 0);
	CHECK(st_lines_with(td->epath, name, "not connected", NULL) >= 1);
	CHECK_EQ(leaks(td->epath), 0);
	nl_end(td, NULL, NULL);
}

static void run_revive(const struct st_dir *td, struct nl_server *srv)
{
	char url[256], name[256];
	unsigned long long sent = 0, dropped = 0;

	urls(srv, PASS_ESC, "sec.later", url, name, sizeof(url));
	nl_server_stop(srv, SIGTERM);
	srv->pass = "Other-S3cret";
	nl_server_start(srv);
	pid_t pid = nl_tcpscope(td, url, "100ms", 30, 0);
	CHECK(st_wait_polls(td->epath, 8, 10000) == 0);
	nl_server_stop(srv, SIGTERM);
	srv->pass = PASS;
	nl_server_start(srv);
	CHECK_EQ(st_wait(pid, 30000), 0);
	(void)nl_sum(td, name, 30, &sent, &dropped);
	CHECK(sent > 0);
	CHECK(st_lines_with(td->epath, name, "connection closed", NULL) >= 1);
	CHECK_EQ(leaks(td->epath), 0);
	nl_end(td, NULL, NULL);
}

static void run_check_config(const struct st_dir *td)
{
	char out[160], url[160];

	snprintf(out, sizeof(out), "%s/config.out", td->dir);
	snprintf(url, sizeof(url), "nats://" USER ":" PASS_ESC "@h:4222/s");
	char *argv[] = { (char *)st_bin(), "--check-config", "--dest", url,
			 NULL };
	CHECK_EQ(st_wait(nl_spawn(td, argv, out), 10000), 0);
	CHECK_EQ(st_lines_with(out, "nats://" USER ":***@h:4222/s", NULL), 1);
	CHECK_EQ(leaks(out) + leaks(td->epath), 0);
}

int main(void)
{
	struct st_dir td;
	struct nl_server srv = { .user = USER, .pass = PASS };

	nl_setup(&td, "nats-secret");
	CHECK(st_make_conns(100) >= 100);
	nl_server_start(&srv);
	run_right(&td, &srv);
	run_wrong(&td, &srv);
	run_revive(&td, &srv);
	run_check_config(&td);
	nl_server_stop(&srv, SIGTERM);
	return check_exit();
}
