/*
 * test_redis_auth.c - a server with requirepass and an ACL user: the
 * URL's password (percent-encoded, as any URL's reserved characters are)
 * or user and password authenticate each connection and every record is
 * stored; a wrong password or none costs the records (counted as dropped,
 * with errors, and said), not the run. The password never shows on
 * stderr, in the summary line (the URL is named with it masked) or in
 * --check-config's output.
 */
#include "redis_test.h"

#define PASS	 "pw@Sekr1t/x:42"
#define PASS_URL "pw%40Sekr1t%2Fx%3A42"
#define ALICE	 "Al1ceSekr1t"
#define WRONG	 "Wr0ngSekr1t"

static const char *bin;
static struct rt_server srv;
static struct st_dir td;

/* One poll to URL (auth: "" or "USER:PASS@"), key; 1 when the stored
 * records are exactly those counted as sent. */
static void run(const char *auth, const char *key, int delivered,
		const char *said)
{
	char url[256], named[256], jurl[256], jpath[200], epath[200];
	unsigned long long sent = 0, dropped = 0;
	struct st_buf b = { 0 };
	struct st_set ref;
	int polls = 0, bad = 0;

	snprintf(url, sizeof(url), "redis://%s127.0.0.1:%d/%s", auth, srv.port,
		 key);
	snprintf(named, sizeof(named), "redis://%s127.0.0.1:%d/%s",
		 strchr(auth, ':') ? (auth[0] == ':' ? ":***@" : "alice:***@")
				   : "",
		 srv.port, key);
	snprintf(jpath, sizeof(jpath), "%s/%s.json", td.dir, key);
	snprintf(epath, sizeof(epath), "%s/%s.stderr", td.dir, key);
	snprintf(jurl, sizeof(jurl), "file:%s?format=json", jpath);
	char *argv[] = { (char *)bin, "--once", "--netns", "host", "--dest",
			 url,	      "--dest", jurl,	   NULL };
	CHECK_EQ(st_wait(st_spawn(argv, NULL, epath), 20000), 0);
	st_set_load(&ref, jpath, NULL, 0);
	CHECK(st_summary(epath, named, &sent, &dropped, &polls) == 0);
	long entries = rt_xrange(&srv, key, &b);
	long got =
		rt_check_entries(SINK_FMT_PROTOBUF_LIST, &b, &ref, 0, 0, &bad);
	fprintf(stderr,
		"%s: %ld entries, %ld records; %llu sent, %llu "
		"dropped of %zu\n",
		named, entries, got, sent, dropped, ref.n);
	CHECK(ref.n >= 100);
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, sent);
	CHECK_EQ(sent + dropped, ref.n);
	CHECK_EQ(sent, delivered ? ref.n : 0);
	if (!delivered)
		CHECK(st_errors(epath, named) >= 1);
	if (said && !rt_file_has(epath, said)) {
		fprintf(stderr, "%s: stderr does not say '%s'\n", key, said);
		check_failures++;
	}
	/* the password, in any form, never */
	CHECK(!rt_file_has(epath, "Sekr1t"));
	st_set_free(&ref);
	rt_buf_free(&b);
}

/* --check-config prints the destination without its password. */
static void check_config(void)
{
	char url[256], opath[200], epath[200];

	snprintf(url, sizeof(url), "redis://:%s@127.0.0.1:%d/k", PASS_URL,
		 srv.port);
	snprintf(opath, sizeof(opath), "%s/check.out", td.dir);
	snprintf(epath, sizeof(epath), "%s/check.err", td.dir);
	char *argv[] = { (char *)bin, "--check-config", "--dest", url, NULL };
	CHECK_EQ(st_wait(st_spawn(argv, opath, epath), 10000), 0);
	CHECK(rt_file_has(opath, "redis://:***@127.0.0.1"));
	CHECK(!rt_file_has(opath, "Sekr1t") && !rt_file_has(epath, "Sekr1t"));
}

int main(void)
{
	bin = st_bin();
	srv.pass = PASS;
	srv.user = "alice on >" ALICE " ~* &* +@all";
	rt_begin(&td, &srv, "redis-auth", 100, 1);

	run(":" PASS_URL "@", "ka", 1, NULL);
	run("alice:" ALICE "@", "kb", 1, NULL);
	run(":" WRONG "@", "kc", 0, "authentication refused");
	run("", "kd", 0, "refused by the server");
	check_config();

	rt_kill(&srv);
	st_dir_remove(&td);
	return check_exit();
}
