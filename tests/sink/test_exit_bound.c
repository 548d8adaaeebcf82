/*
 * test_exit_bound.c - the whole exit has one bound (--exit-timeout), in
 * both engines:
 *  - two unix stream peers that never read, at wait_ms=10000, and SIGTERM
 *    while a poll waits for them: tcpscope exits within the exit timeout
 *    (plus a small margin), not after the poll's wait plus a wait per
 *    destination; every record of each destination is counted (sent +
 *    dropped = records of the polls; what the peer got whole = sent), and
 *    with --quiet the 'at exit' line is still printed, since it reports
 *    records dropped at exit;
 *  - a second SIGTERM during the exit phase ends it at once.
 */
#include "sink_test.h"

#define MARGIN_MS 1000

struct peer {
	char url[256];
	int l, c;
	struct st_buf b;
};

static void peer_listen(struct peer *p, const struct st_dir *td,
			const char *name)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", td->dir, name);
	snprintf(p->url, sizeof(p->url), "unix:%s?wait_ms=10000", path);
	p->l = st_unix_rx(SOCK_STREAM, path);
	CHECK(p->l >= 0);
	p->c = -1;
	memset(&p->b, 0, sizeof(p->b));
}

static void peer_accept(struct peer *p)
{
	struct pollfd pf = { .fd = p->l, .events = POLLIN };

	CHECK(poll(&pf, 1, 5000) == 1);
	p->c = accept(p->l, NULL, NULL);
	CHECK(p->c >= 0);
}

/* After tcpscope is gone: what it left in the socket, then EOF. */
static void peer_drain(struct peer *p)
{
	while (p->c >= 0 && st_read_stream(p->c, &p->b) > 0)
		;
	close(p->c);
	close(p->l);
}

/* Once the first poll waits for the stalled peer: SIGTERM, and, when
 * second_ms >= 0, another one second_ms later (in the exit phase). The ms
 * from the last signal to tcpscope's exit (status 0). */
static uint64_t stop_ms(pid_t pid, int second_ms, const char *what)
{
	uint64_t t0;

	usleep(700000);
	kill(pid, SIGTERM);
	if (second_ms >= 0) {
		usleep((useconds_t)second_ms * 1000);
		kill(pid, SIGTERM);
	}
	t0 = st_now_ms();
	CHECK_EQ(st_wait(pid, 30000), 0);
	t0 = st_now_ms() - t0;
	fprintf(stderr, "%s: exit took %llu ms after the last SIGTERM\n", what,
		(unsigned long long)t0);
	return t0;
}

/* The records each peer got whole were counted as sent, and sent +
 * dropped are the records of the polls. */
static void check_counts(const struct st_dir *td, struct peer *p, int n)
{
	struct st_set ref;

	st_set_load(&ref, td->jpath, NULL, 0);
	for (int i = 0; i < n; i++) {
		unsigned long long sent = 0, dropped = 0;
		int polls = 0, bad = 0;
		size_t whole = st_whole_frames(p[i].b.p, p[i].b.len);
		long got = st_check(SINK_FMT_PROTOBUF_LIST, p[i].b.p, whole,
				    &ref, &bad);
		CHECK(st_summary(td->epath, p[i].url, &sent, &dropped,
				 &polls) == 0);
		fprintf(stderr,
			"%s: %zu bytes, %ld records whole; %llu sent, %llu "
			"dropped of %zu\n",
			p[i].url, p[i].b.len, got, sent, dropped, ref.n);
		CHECK(got >= 0);
		CHECK_EQ(bad, 0);
		CHECK_EQ(got, sent);
		CHECK(dropped > 0);
		CHECK_EQ(sent + dropped, ref.n);
		st_set_unsee(&ref);
	}
	st_set_free(&ref);
}

/* Two stalled peers, SIGTERM mid-poll, --quiet, --exit-timeout 2s. */
static void stalled_pair(const char *bin)
{
	struct st_dir td;
	struct peer p[2];

	st_dir_make(&td, "exitb", "unused");
	peer_listen(&p[0], &td, "a.sock");
	peer_listen(&p[1], &td, "b.sock");
	char *argv[] = { (char *)bin,	   "--interval", "100ms",
			 "--netns",	   "host",	 "--quiet",
			 "--exit-timeout", "2s",	 "--dest",
			 p[0].url,	   "--dest",	 p[1].url,
			 "--dest",	   td.jurl,	 NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);
	peer_accept(&p[0]);
	peer_accept(&p[1]);
	CHECK(stop_ms(pid, -1, "two stalled peers") < 2000 + MARGIN_MS);
	peer_drain(&p[0]);
	peer_drain(&p[1]);
	/* --quiet, yet the loss at exit is reported */
	CHECK_EQ(st_lines_with(td.epath, "tcpscope: at exit", p[0].url,
			       p[1].url, NULL),
		 1);
	check_counts(&td, p, 2);
	for (int i = 0; i < 2; i++)
		free(p[i].b.p);
	st_dir_remove(&td);
}

/* One stalled peer, --exit-timeout 20s: the second SIGTERM ends it. */
static void second_signal(const char *bin)
{
	struct st_dir td;
	struct peer p;

	st_dir_make(&td, "exit2", "unused");
	peer_listen(&p, &td, "a.sock");
	char *argv[] = { (char *)bin, "--interval",	"100ms", "--netns",
			 "host",      "--exit-timeout", "20s",	 "--dest",
			 p.url,	      "--dest",		td.jurl, NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);
	peer_accept(&p);
	CHECK(stop_ms(pid, 500, "second SIGTERM") < MARGIN_MS);
	peer_drain(&p);
	CHECK_EQ(st_lines_with(td.epath, "tcpscope: at exit", p.url, NULL), 1);
	check_counts(&td, &p, 1);
	free(p.b.p);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();

	st_sandbox();
	CHECK(st_make_conns(1500) >= 3000);
	stalled_pair(bin);
	second_signal(bin);
	return check_exit();
}
