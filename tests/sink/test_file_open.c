/*
 * test_file_open.c - opening a file: destination, as a user or an
 * attacker sets it up:
 *  - a FIFO without a reader: startup fails at once with one line (exit 1)
 *    instead of hanging; with a reader, the FIFO gets every record;
 *  - a log file swapped for a FIFO before SIGHUP: polling goes on, one
 *    line says why the reopen failed, and the records keep landing in the
 *    file already open (none dropped);
 *  - a symbolic link as the last component (planted where the file is to
 *    be created): refused with one line (exit 2), nothing created where
 *    it points; follow=1 writes there;
 *  - a file tcpscope creates is 0600 (mode= widens it), a file that exists
 *    keeps its mode;
 *  - wait_ms= on a regular file (file:, or stdout redirected to a file)
 *    is refused with one line (exit 2): such a write cannot be bounded.
 * Needs no privilege: the records are this namespace's listeners.
 */
#include <stdarg.h>

#include "sink_test.h"

static const char *bin;

/* tcpscope --once --netns host --states listen ARGS... (NULL-ended),
 * stdout to out_path (NULL: /dev/null); its exit status within 5 s. */
static int once(const struct st_dir *td, const char *out_path, ...)
{
	char *argv[32] = { (char *)bin, "--once", "--netns", "host",
			   "--states",	"listen", NULL };
	int n = 6;
	va_list ap;

	va_start(ap, out_path);
	for (char *a; n < 30 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return st_wait(
		st_spawn(argv, out_path ? out_path : "/dev/null", td->epath),
		5000);
}

/* stderr is one line holding both strings. */
static int one_line(const struct st_dir *td, const char *a, const char *b)
{
	int lines = st_lines_with(td->epath, "", NULL);
	int both = st_lines_with(td->epath, a, NULL) == 1 &&
		   st_lines_with(td->epath, b, NULL) == 1;
	if (lines != 1 || !both)
		fprintf(stderr, "expected one line with '%s' and '%s' in %s\n",
			a, b, td->epath);
	return lines == 1 && both;
}

static void fifo_startup(const struct st_dir *td)
{
	char fifo[160], url[192];
	struct st_buf b = { 0 };
	struct st_set ref;
	int bad = 0;

	snprintf(fifo, sizeof(fifo), "%s/fifo", td->dir);
	snprintf(url, sizeof(url), "file:%s", fifo);
	CHECK(mkfifo(fifo, 0600) == 0);
	CHECK_EQ(once(td, NULL, "--dest", url, NULL), 1);
	CHECK(one_line(td, url, "FIFO without a reader"));

	/* with a reader, it is written like a pipe */
	int r = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK(r >= 0);
	char *argv[] = { (char *)bin, "--once",	  "--quiet",	    "--netns",
			 "host",      "--states", "listen",	    "--dest",
			 url,	      "--dest",	  (char *)td->jurl, NULL };
	pid_t pid = st_spawn(argv, NULL, td->epath);
	/* poll() on a FIFO sees no hang-up before a writer came */
	for (;;) {
		struct pollfd pf = { .fd = r, .events = POLLIN };
		uint8_t tmp[65536];
		ssize_t n = poll(&pf, 1, 5000) == 1 ? read(r, tmp, sizeof(tmp))
						    : -1;
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		st_buf_add(&b, tmp, (size_t)n);
	}
	close(r);
	CHECK_EQ(st_wait(pid, 5000), 0);
	st_set_load(&ref, td->jpath, NULL, 0);
	long got = st_check(SINK_FMT_JSON, b.p, b.len, &ref, &bad);
	CHECK(ref.n > 0);
	CHECK_EQ(got, ref.n);
	CHECK_EQ(bad, 0);
	st_set_free(&ref);
	free(b.p);
	unlink(fifo);
	unlink(td->jpath);
}

static void fifo_at_sighup(const struct st_dir *td)
{
	char path[160], kept[170], url[192];
	unsigned long long sent = 0, dropped = 0;
	struct st_set got;
	int polls;

	snprintf(path, sizeof(path), "%s/log.json", td->dir);
	snprintf(kept, sizeof(kept), "%s.1", path);
	snprintf(url, sizeof(url), "file:%s", path);
	char *argv[] = { (char *)bin, "--interval", "200ms",  "--netns", "host",
			 "--states",  "listen",	    "--dest", url,	 NULL };
	pid_t pid = st_spawn(argv, NULL, td->epath);
	CHECK(st_wait_polls(td->epath, 1, 5000) == 0);
	CHECK(rename(path, kept) == 0);
	CHECK(mkfifo(path, 0600) == 0);
	kill(pid, SIGHUP);
	st_polled(td->epath, &polls);
	/* an open() that waits for a reader would stop the polls here */
	CHECK(st_wait_polls(td->epath, polls + 2, 3000) == 0);
	kill(pid, SIGTERM);
	CHECK_EQ(st_wait(pid, 5000), 0);
	CHECK_EQ(st_lines_with(td->epath, "cannot reopen", NULL), 1);
	CHECK_EQ(st_lines_with(td->epath, "FIFO without a reader", NULL), 1);
	CHECK(st_summary(td->epath, url, &sent, &dropped, &polls) == 0);
	st_set_load(&got, kept, NULL, 0);
	CHECK(polls >= 3);
	CHECK_EQ(dropped, 0);
	CHECK(sent > 0);
	CHECK_EQ(got.n, sent); /* all of them in the file already open */
	st_set_free(&got);
	unlink(path);
	unlink(kept);
}

static void symlink_last(const struct st_dir *td)
{
	char link[160], target[160], url[192];
	struct stat sb;

	snprintf(link, sizeof(link), "%s/link.json", td->dir);
	snprintf(target, sizeof(target), "%s/elsewhere.json", td->dir);
	snprintf(url, sizeof(url), "file:%s", link);
	CHECK(symlink(target, link) == 0);
	CHECK_EQ(once(td, NULL, "--dest", url, NULL), 2);
	CHECK(one_line(td, url, "symbolic link"));
	CHECK(lstat(target, &sb) < 0 && errno == ENOENT);

	snprintf(url, sizeof(url), "file:%s?follow=1", link);
	CHECK_EQ(once(td, NULL, "--quiet", "--dest", url, NULL), 0);
	CHECK(stat(target, &sb) == 0 && sb.st_size > 0);
	unlink(link);
	unlink(target);
}

static void modes(const struct st_dir *td)
{
	char path[160], url[192];
	struct stat sb;

	umask(022);
	snprintf(path, sizeof(path), "%s/new.json", td->dir);
	snprintf(url, sizeof(url), "file:%s", path);
	CHECK_EQ(once(td, NULL, "--quiet", "--dest", url, NULL), 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	/* an existing file keeps its mode, whatever mode= says */
	CHECK(chmod(path, 0644) == 0);
	snprintf(url, sizeof(url), "file:%s?mode=0600", path);
	CHECK_EQ(once(td, NULL, "--quiet", "--dest", url, NULL), 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0644);
	unlink(path);

	snprintf(url, sizeof(url), "file:%s?mode=0640", path);
	CHECK_EQ(once(td, NULL, "--quiet", "--dest", url, NULL), 0);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0640);
	unlink(path);
}

static void wait_ms_on_files(const struct st_dir *td)
{
	char path[160], url[192];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/w.json", td->dir);
	snprintf(url, sizeof(url), "file:%s?wait_ms=10", path);
	CHECK_EQ(once(td, NULL, "--dest", url, NULL), 2);
	CHECK(one_line(td, url, "wait_ms"));
	/* stdout redirected to a regular file */
	CHECK_EQ(once(td, path, "--dest", "stdout?wait_ms=10", NULL), 2);
	CHECK(one_line(td, "stdout?wait_ms=10", "regular file"));
	CHECK(stat(path, &sb) == 0 && sb.st_size == 0);
	unlink(path);
}

int main(void)
{
	struct st_dir td;
	int lis = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t sl = st_loopback(AF_INET, &ss);

	bin = st_bin();
	/* one listener of ours: every poll has a record */
	CHECK(lis >= 0 && bind(lis, (struct sockaddr *)&ss, sl) == 0 &&
	      listen(lis, 1) == 0);
	st_dir_make(&td, "fopen", "unused");
	fifo_startup(&td);
	fifo_at_sighup(&td);
	symlink_last(&td);
	modes(&td);
	wait_ms_on_files(&td);
	close(lis);
	st_dir_remove(&td);
	return check_exit();
}
