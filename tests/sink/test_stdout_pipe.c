/*
 * test_stdout_pipe.c - stdout as a pipe, as a shell pipeline runs it:
 *  - a reader that never reads (`tcpscope | sleep 600`): SIGTERM ends
 *    tcpscope within 2 s, exit 0, and the summary counts what it could
 *    not write as dropped; the pipe's own flags are left as they were
 *    (no O_NONBLOCK on a description the shell shares);
 *  - stdout?wait_ms=: a slow reader costs each poll at most wait_ms (what
 *    cannot be written is dropped and counted) and reads whole records
 *    only: each line equals its record's line in the JSON reference, and
 *    it gets as many as tcpscope counted as sent;
 *  - a reader that leaves (`tcpscope | head -1`): tcpscope ends at once,
 *    quietly, killed by SIGPIPE as any filter; with a second destination
 *    it goes on, and says once that stdout's reader went away (EPIPE).
 */
#include "sink_test.h"

#define CONNS 300

static void stalled_reader_sigterm(const char *bin)
{
	/* the whole exit is bounded by --exit-timeout: 1 s here */
	char *argv[] = { (char *)bin, "--interval",	"100ms", "--netns",
			 "host",      "--exit-timeout", "1s",	 NULL };
	unsigned long long sent = 0, dropped = 0;
	struct st_dir td;
	int pfd[2], polls, flags;

	st_dir_make(&td, "pipe-term", "unused");
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	flags = fcntl(pfd[1], F_GETFL);
	pid_t pid = st_spawn_fd(argv, pfd[1], NULL, td.epath);
	usleep(800000); /* poll 1 filled the pipe long ago and waits */
	CHECK_EQ(fcntl(pfd[1], F_GETFL), flags);
	close(pfd[1]);
	uint64_t t0 = st_now_ms();
	kill(pid, SIGTERM);
	int rc = st_wait(pid, 10000);
	uint64_t took = st_now_ms() - t0;
	unsigned long long total = st_polled(td.epath, &polls);
	CHECK(st_summary(td.epath, "stdout", &sent, &dropped, &polls) == 0);
	fprintf(stderr,
		"stalled reader: SIGTERM -> exit %d after %llu ms; %llu sent, "
		"%llu dropped of %llu\n",
		rc, (unsigned long long)took, sent, dropped, total);
	CHECK_EQ(rc, 0);
	CHECK(took < 2000);
	CHECK(dropped > 0);
	CHECK_EQ(sent + dropped, total);
	close(pfd[0]);
	st_dir_remove(&td);
}

static void slow_reader_wait_ms(const char *bin)
{
	const char *url = "stdout?wait_ms=30&max_bytes=4096";
	unsigned long long sent = 0, dropped = 0;
	struct st_buf b = { 0 };
	struct st_dir td;
	struct st_set ref;
	int pfd[2], polls = 0, bad = 0;

	st_dir_make(&td, "pipe-wait", "unused");
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "8",	      "--netns",    "host",  "--dest",
			 (char *)url, "--dest",	    td.jurl, NULL };
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	uint64_t t0 = st_now_ms();
	pid_t pid = st_spawn_fd(argv, pfd[1], NULL, td.epath);
	close(pfd[1]);
	/* about 200 KB/s: each poll writes about 1 MB */
	while (st_now_ms() - t0 < 8000) {
		uint8_t tmp[4096];
		struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
		if (poll(&pf, 1, 1000) < 0)
			break;
		ssize_t n = read(pfd[0], tmp, sizeof(tmp));
		if (n <= 0)
			break;
		st_buf_add(&b, tmp, (size_t)n);
		usleep(20000);
	}
	uint64_t took = st_now_ms() - t0;
	CHECK_EQ(st_wait(pid, 5000), 0);
	close(pfd[0]);
	st_set_load(&ref, td.jpath, NULL, 0);
	long got = st_check(SINK_FMT_JSON, b.p, b.len, &ref, &bad);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	fprintf(stderr,
		"slow reader, wait_ms=30: %d polls in %llu ms; %ld records "
		"read, %llu sent, %llu dropped of %zu\n",
		polls, (unsigned long long)took, got, sent, dropped, ref.n);
	CHECK_EQ(polls, 8);
	CHECK(took < 4000); /* 8 x (100 ms + 30 ms) and the exit */
	CHECK(got >= 0);    /* -1: the stream ends mid-record */
	CHECK_EQ(bad, 0);
	CHECK_EQ(got, sent);
	CHECK(dropped > 0);
	CHECK_EQ(sent + dropped, ref.n);
	st_set_free(&ref);
	free(b.p);
	st_dir_remove(&td);
}

/* Reads up to the first newline, then closes: `| head -1`. */
static void read_one_line(int fd)
{
	char c = 0;
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	while (c != '\n' && poll(&pf, 1, 10000) == 1 && read(fd, &c, 1) == 1)
		;
	CHECK(c == '\n');
	close(fd);
}

static void reader_leaves(const char *bin)
{
	char *argv[] = { (char *)bin, "--interval", "100ms",
			 "--netns",   "host",	    NULL };
	struct st_dir td;
	int pfd[2];

	st_dir_make(&td, "pipe-head", "unused");
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	pid_t pid = st_spawn_fd(argv, pfd[1], NULL, td.epath);
	close(pfd[1]);
	read_one_line(pfd[0]);
	uint64_t t0 = st_now_ms();
	int status = st_wait_status(pid, 10000);
	uint64_t took = st_now_ms() - t0;
	fprintf(stderr, "| head -1: status %#x after %llu ms\n", status,
		(unsigned long long)took);
	CHECK(status != -1 && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGPIPE);
	CHECK(took < 2000);
	CHECK_EQ(st_lines_with(td.epath, "went away", NULL), 0); /* quietly */
	CHECK_EQ(st_lines_with(td.epath, "at exit", NULL), 0);
	st_dir_remove(&td);
}

static void reader_leaves_other_dest(const char *bin)
{
	struct st_dir td;
	int pfd[2], polls;

	st_dir_make(&td, "pipe-head2", "unused");
	char *argv[] = { (char *)bin, "--interval", "100ms",  "--netns", "host",
			 "--dest",    "stdout",	    "--dest", td.jurl,	 NULL };
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	pid_t pid = st_spawn_fd(argv, pfd[1], NULL, td.epath);
	close(pfd[1]);
	read_one_line(pfd[0]);
	st_polled(td.epath, &polls);
	/* the file still gets its records: polling goes on */
	CHECK(st_wait_polls(td.epath, polls + 3, 5000) == 0);
	kill(pid, SIGTERM);
	CHECK_EQ(st_wait(pid, 5000), 0);
	CHECK_EQ(st_lines_with(td.epath,
			       "stdout: the reader went away (Broken pipe)",
			       NULL),
		 1);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();

	st_sandbox();
	CHECK(st_make_conns(CONNS) >= CONNS);
	stalled_reader_sigterm(bin);
	slow_reader_wait_ms(bin);
	reader_leaves(bin);
	reader_leaves_other_dest(bin);
	return check_exit();
}
