/*
 * test_redis_url.c - redis:// and valkey:// URLs: the forms taken (the
 * same destination under both schemes), and every bad one refused with
 * one reason naming it (sink_url_parse: pure, the result untouched); on
 * the command line a bad one is one line, exit 2, its password masked.
 */
#include <errno.h>

#include "redis_test.h"
#include "sink/sink_url.h"

static struct sink_url u;
static char err[256];

static int parse(const char *url)
{
	memset(&u, 0xa5, sizeof(u));
	err[0] = '\0';
	return sink_url_parse(url, &u, err, sizeof(err));
}

static void good(void)
{
	CHECK(parse("redis://127.0.0.1:6379/tcpscope") == 0 &&
	      u.ops == &sink_redis_ops && strcmp(u.host, "127.0.0.1") == 0 &&
	      strcmp(u.port, "6379") == 0 && u.format == SINK_FMT_AUTO);
	CHECK(parse("valkey://[::1]:6380/a/b:c?mode=publish") == 0 &&
	      u.ops == &sink_valkey_ops && strcmp(u.host, "::1") == 0);
	CHECK(parse("redis://:p%40ss@h:1/k?maxlen=5&max_bytes=1024&"
		    "max_rows=3&wait_ms=0&buffer=8192&format=json") == 0 &&
	      strcmp(u.host, "h") == 0 && u.max_bytes == 1024 &&
	      u.max_rows == 3 && u.wait_ms == 0 && u.buffer == 8192 &&
	      u.format == SINK_FMT_JSON);
	CHECK(parse("redis://alice:pw@collector.example:6379/k?mode=xadd") ==
		      0 &&
	      strcmp(u.host, "collector.example") == 0);
	CHECK(sink_redis_ops.flags & SINK_F_OWN_IO);
	CHECK(sink_valkey_ops.flags & SINK_F_OWN_IO);
}

static void bad(const char *url, const char *why)
{
	struct sink_url before;

	memset(&u, 0xa5, sizeof(u));
	before = u;
	CHECK(sink_url_parse(url, &u, err, sizeof(err)) == -EINVAL);
	CHECK(memcmp(&before, &u, sizeof(u)) == 0);
	if (!strstr(err, why) || strstr(err, "Sekr1t")) {
		fprintf(stderr,
			"'%s': error '%s' lacks '%s' (or shows the "
			"password)\n",
			url, err, why);
		check_failures++;
	}
}

static void refused(void)
{
	bad("redis://h:1", "missing /KEY");
	bad("redis://h:1/", "missing /KEY");
	bad("redis://h/k", "expected redis://HOST:PORT");
	bad("valkey:h:1/k", "expected valkey://HOST:PORT");
	bad("valkey://h:0/k", "port must be 1..65535");
	bad("redis://h:1/k?mode=stream", "mode must be xadd or publish");
	bad("redis://h:1/k?maxlen=0", "maxlen '0'");
	bad("redis://h:1/k?mode=publish&maxlen=10", "maxlen is for mode=xadd");
	bad("redis://h:1/k?buffer=4096", "max_bytes exceeds buffer");
	bad("redis://h:1/k?buffer=100", "buffer '100'");
	bad("redis://h:1/k?topic=x",
	    "unknown option 'topic' (expected format, fields, mode, maxlen, "
	    "max_bytes, max_rows, wait_ms, buffer)");
	bad("redis://:@h:1/k", "bad or empty user or password");
	bad("redis://:p%4@h:1/k", "bad or empty user or password");
	bad("redis://user@h:1/k", "credentials are [USER]:PASSWORD@");
	bad("redis://h:1/%zz", "bad KEY");
	bad("redis://:Sekr1t@h:1/k?mode=x", "mode must be");
	bad("redis://:Sekr1t@h:1", "missing /KEY");
	bad("redis://:Sekr1t@h:1/k?format=xml", "format 'xml'");
}

/* On the command line: one line naming the value, exit 2. */
static void cli(const char *bin, const char *url, const char *why)
{
	char epath[] = "/tmp/ts-redis-url-XXXXXX";
	int fd = mkstemp(epath);
	char *argv[] = { (char *)bin, "--once", "--dest", (char *)url, NULL };

	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(st_wait(st_spawn(argv, NULL, epath), 10000), 2);
	CHECK_EQ(st_lines_with(epath, "", NULL), 1);
	CHECK_EQ(st_lines_with(epath, "invalid value", why, NULL), 1);
	CHECK(!rt_file_has(epath, "Sekr1t"));
	if (check_failures == 0)
		unlink(epath);
}

int main(void)
{
	const char *bin = st_bin();

	good();
	refused();
	cli(bin, "redis://:Sekr1t@127.0.0.1:1/k?mode=x", "mode must be");
	cli(bin, "valkey://:Sekr1t@127.0.0.1:1", "missing /KEY");
	cli(bin, "redis://127.0.0.1:1/k?maxlen=-1", "maxlen");
	return check_exit();
}
