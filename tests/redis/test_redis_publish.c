/*
 * test_redis_publish.c - mode=publish: a subscriber of the channel (a
 * hiredis connection of the test's own, subscribed before tcpscope
 * starts) gets every record once, in messages that each decode alone and
 * equal the JSON of their poll, as many as the summary line counted as
 * sent. Without a subscriber the server still takes each message (sent)
 * and keeps nothing, and tcpscope says that nobody got them.
 */
#include "redis_test.h"

static const char *bin;
static struct rt_server srv;
static struct st_dir td;

/* Reads the messages of a subscribed connection into b until pid has
 * exited and nothing came for 300 ms; *status: pid's exit status. */
static void collect(redisContext *c, pid_t pid, struct st_buf *b, int *status)
{
	uint64_t quiet_since = 0;
	int exited = 0;

	for (;;) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		int r = poll(&pf, 1, 50);
		void *y = NULL;
		if (r > 0 && redisBufferRead(c) != REDIS_OK)
			break;
		while (redisGetReplyFromReader(c, &y) == REDIS_OK && y) {
			redisReply *m = y;
			if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
			    strcmp(m->element[0]->str, "message") == 0) {
				st_buf_add(b, m->element[2]->str,
					   m->element[2]->len);
				st_buf_cut(b, m->element[2]->len);
			}
			freeReplyObject(y);
			y = NULL;
		}
		if (!exited && waitpid(pid, status, WNOHANG) == pid)
			exited = 1;
		if (r > 0)
			quiet_since = 0;
		else if (exited && !quiet_since)
			quiet_since = st_now_ms();
		if (exited && quiet_since && st_now_ms() - quiet_since > 300)
			return;
	}
}

static void run(const char *channel, int subscribe)
{
	char url[256], jurl[256], jpath[200], epath[200];
	unsigned long long sent = 0, dropped = 0;
	struct st_buf b = { 0 };
	struct st_set ref;
	int polls = 0, bad = 0, status = -1;
	redisContext *c = NULL;

	snprintf(url, sizeof(url),
		 "redis://127.0.0.1:%d/%s?mode=publish&max_rows=50", srv.port,
		 channel);
	snprintf(jpath, sizeof(jpath), "%s/%s.json", td.dir, channel);
	snprintf(epath, sizeof(epath), "%s/%s.stderr", td.dir, channel);
	snprintf(jurl, sizeof(jurl), "file:%s?format=json", jpath);
	if (subscribe) {
		c = rt_connect(&srv);
		CHECK(c != NULL);
		redisReply *y = redisCommand(c, "SUBSCRIBE %s", channel);
		CHECK(y && y->type == REDIS_REPLY_ARRAY);
		freeReplyObject(y);
	}
	char *argv[] = { (char *)bin, "--count", "3",	 "--interval",
			 "100ms",     "--netns", "host", "--dest",
			 url,	      "--dest",	 jurl,	 NULL };
	pid_t pid = st_spawn(argv, NULL, epath);
	if (c)
		collect(c, pid, &b, &status);
	else
		status = st_wait_status(pid, 20000);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st_set_load(&ref, jpath, NULL, 0);
	CHECK(st_summary(epath, url, &sent, &dropped, &polls) == 0);
	long got =
		rt_check_entries(SINK_FMT_PROTOBUF_LIST, &b, &ref, 0, 50, &bad);
	fprintf(stderr,
		"%s: %zu messages, %ld records; tcpscope: %llu sent, %llu "
		"dropped of %zu\n",
		url, b.ncut, got, sent, dropped, ref.n);
	CHECK(ref.n >= 300);
	CHECK_EQ(bad, 0);
	CHECK_EQ(dropped, 0);
	CHECK_EQ(sent, ref.n);
	CHECK_EQ(got, subscribe ? (long)sent : 0);
	CHECK(b.ncut >= (subscribe ? 6u : 0u)); /* max_rows=50 */
	CHECK_EQ(st_lines_with(epath, "published to no subscriber", NULL),
		 subscribe ? 0 : 1);
	/* a channel keeps nothing: no key was made */
	CHECK_EQ(rt_int(&srv, "EXISTS", channel), 0);
	st_set_free(&ref);
	rt_buf_free(&b);
	redisFree(c);
}

int main(void)
{
	bin = st_bin();
	rt_begin(&td, &srv, "redis-publish", 100, 1);

	run("chan", 1);
	run("nobody", 0);

	rt_kill(&srv);
	st_dir_remove(&td);
	return check_exit();
}
