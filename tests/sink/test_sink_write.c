/*
 * test_sink_write.c - sink_write(), the one write path of every destination:
 * a record too large for a destination's max_bytes is dropped and counted
 * (dropped and oversize) and never reaches the batch; a null destination
 * without a format only counts; a file destination delivers what fits and
 * counts it at flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "sink/sink.h"

static void fill(struct ts_record *r)
{
	memset(r, 0, sizeof(*r));
	r->hostname = "host-with-a-name";
	r->family = AF_INET;
	r->state = 1;
	r->sport = 443;
	r->dport = 50000;
	r->record_counter = 7;
}

static void test_oversize(void)
{
	struct ts_record r;
	struct sink *s = NULL;
	char err[256];

	fill(&r);
	/* 64 bytes: every JSON record is longer */
	CHECK_EQ(sink_new("null?format=json&max_bytes=64", SINK_FMT_AUTO, &s,
			  err, sizeof(err)),
		 0);
	if (!s)
		return;
	CHECK(s->batch != NULL);
	CHECK_EQ(sink_write(s, &r, NULL), (uint64_t)-EMSGSIZE);
	CHECK_EQ(sink_write(s, &r, NULL), (uint64_t)-EMSGSIZE);
	CHECK_EQ(sink_flush(s, NULL), 0);
	CHECK_EQ(s->st.dropped, 2);
	CHECK_EQ(s->st.drop[SINK_DROP_OVERSIZE], 2);
	CHECK_EQ(s->st.records, 0);
	sink_free(s);
}

static void test_count_only(void)
{
	struct ts_record r;
	struct sink *s = NULL;
	char err[256];

	fill(&r);
	CHECK_EQ(sink_new("null", SINK_FMT_AUTO, &s, err, sizeof(err)), 0);
	if (!s)
		return;
	CHECK(s->batch == NULL);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(sink_write(s, &r, NULL), 0);
	CHECK_EQ(s->st.records, 5);
	CHECK_EQ(s->st.dropped, 0);
	sink_free(s);
}

static void test_file_delivers(void)
{
	char dir[] = "/tmp/tcpscope-sw-XXXXXX", path[64], url[80], err[256];
	struct ts_record r;
	struct sink *s = NULL;
	struct stat st;

	fill(&r);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/out.json", dir);
	snprintf(url, sizeof(url), "file:%s", path);
	CHECK_EQ(sink_new(url, SINK_FMT_AUTO, &s, err, sizeof(err)), 0);
	if (!s)
		return;
	CHECK_EQ(sink_write(s, &r, NULL), 0);
	CHECK_EQ(sink_write(s, &r, NULL), 0);
	CHECK_EQ(sink_flush(s, NULL), 0);
	CHECK_EQ(s->st.records, 2);
	CHECK_EQ(s->st.dropped, 0);
	CHECK(stat(path, &st) == 0 && st.st_size > 0);
	sink_free(s);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_oversize();
	test_count_only();
	test_file_delivers();
	return check_exit();
}
