/*
 * test_file_full.c - a file destination on a disk that fills up, then
 * frees space (a small tmpfs in a private mount namespace, so nobody else
 * sees it): the file never holds a partial record (every line equals its
 * record's line in the JSON reference, a protobuf file is whole frames),
 * the records tcpscope counts as sent are exactly those in the file, the
 * rest are counted as dropped, and stderr names the errno (ENOSPC).
 */
#include <sys/mount.h>

#include "sink_test.h"

#define FS_BYTES   (2 * 1024 * 1024)
#define FREE_BYTES (64 * 1024) /* what the filler leaves */

/* A tmpfs of FS_BYTES at dir, nearly filled by dir/filler. */
static void mount_small_fs(const char *dir, char *filler, size_t len)
{
	static char zero[FS_BYTES];
	char opt[32];
	int fd;

	if (unshare(CLONE_NEWNS) < 0)
		TEST_SKIP("cannot unshare a mount namespace (%s): needs "
			  "CAP_SYS_ADMIN",
			  strerror(errno));
	/* what is mounted here stays in this namespace */
	CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	CHECK(mkdir(dir, 0700) == 0);
	snprintf(opt, sizeof(opt), "size=%d", FS_BYTES);
	if (mount("tsa-full", dir, "tmpfs", 0, opt) < 0)
		TEST_SKIP("cannot mount a tmpfs: %s", strerror(errno));
	snprintf(filler, len, "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, zero, FS_BYTES - FREE_BYTES), FS_BYTES - FREE_BYTES);
	close(fd);
}

/* The whole file (NUL-terminated); *len its size. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *p = NULL;
	FILE *f = fopen(path, "r");

	*len = 0;
	if (f && fstat(fileno(f), &sb) == 0) {
		p = malloc((size_t)sb.st_size + 1);
		*len = fread(p, 1, (size_t)sb.st_size, f);
		p[*len] = '\0';
	}
	if (f)
		fclose(f);
	return p;
}

/* Polls every 100 ms into dir/out.FMT while the disk is full, then frees
 * the disk; checks the file against the JSON reference of the run. */
static void run(const char *bin, const char *dir, enum sink_format fmt)
{
	char filler[160], out[160], url[192];
	unsigned long long sent = 0, dropped = 0;
	struct st_dir td;
	struct st_set ref;
	int polls = 0, bad = 0;
	size_t len;

	mount_small_fs(dir, filler, sizeof(filler));
	st_dir_make(&td, "full", "unused");
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(url, sizeof(url), "file:%s?format=%s", out,
		 sink_format_name(fmt));
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "6",	      "--netns",    "host",  "--dest",
			 url,	      "--dest",	    td.jurl, NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);
	/* three polls on a full disk, then space again */
	CHECK(st_wait_polls(td.epath, 3, 10000) == 0);
	CHECK(unlink(filler) == 0);
	CHECK_EQ(st_wait(pid, 10000), 0);
	CHECK(st_summary(td.epath, url, &sent, &dropped, &polls) == 0);
	st_set_load(&ref, td.jpath, NULL, 0);
	uint8_t *p = slurp(out, &len);
	long got = st_check(fmt, p, len, &ref, &bad);
	fprintf(stderr,
		"%s on a full disk: %zu bytes, %ld records in the file; "
		"%llu sent, %llu dropped of %zu\n",
		sink_format_name(fmt), len, got, sent, dropped, ref.n);
	CHECK(got > 0); /* -1: a partial record */
	CHECK_EQ(bad, 0);
	if (fmt != SINK_FMT_JSON)
		CHECK_EQ(st_whole_frames(p, len), len);
	CHECK_EQ(got, sent);
	CHECK(dropped > 0);
	CHECK_EQ(sent + dropped, ref.n);
	CHECK(st_lines_with(td.epath, strerror(ENOSPC), NULL) >= 1);
	free(p);
	st_set_free(&ref);
	CHECK(umount2(dir, MNT_DETACH) == 0);
	CHECK(rmdir(dir) == 0);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();
	char dir[64];

	st_sandbox();
	/* about 250 KB of JSON per poll: the first polls hit the full disk
	 * mid-record, the later ones fit */
	CHECK(st_make_conns(40) >= 40);
	snprintf(dir, sizeof(dir), "/tmp/tsa-full-%d", (int)getpid());
	run(bin, dir, SINK_FMT_JSON);
	run(bin, dir, SINK_FMT_PROTOBUF);
	return check_exit();
}
