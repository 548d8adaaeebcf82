/* test_sink_url.c - destination URL and query parsing (pure). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sink/sink_url.h"

static struct sink_url u;
static char err[256];

static int parse(const char *url)
{
	memset(&u, 0xa5, sizeof(u)); /* untouched on failure is checked below */
	err[0] = '\0';
	return sink_url_parse(url, &u, err, sizeof(err));
}

static void test_good(void)
{
	CHECK(parse("stdout") == 0 && u.ops == &sink_stdout_ops &&
	      u.format == SINK_FMT_AUTO && u.max_bytes == 0 && u.wait_ms == -1);
	CHECK(parse("null?format=protobuf") == 0 && u.ops == &sink_null_ops &&
	      u.format == SINK_FMT_PROTOBUF);
	CHECK(parse("file:/var/log/x.json") == 0 && u.ops == &sink_file_ops &&
	      strcmp(u.path, "/var/log/x.json") == 0);
	CHECK(parse("file:out.pb?format=protobuf-list&max_rows=10") == 0 &&
	      strcmp(u.path, "out.pb") == 0 &&
	      u.format == SINK_FMT_PROTOBUF_LIST && u.max_rows == 10);
	CHECK(parse("udp://127.0.0.1:9000") == 0 && u.ops == &sink_udp_ops &&
	      strcmp(u.host, "127.0.0.1") == 0 && strcmp(u.port, "9000") == 0);
	CHECK(parse("udp://[::1]:53?max_bytes=8192") == 0 &&
	      strcmp(u.host, "::1") == 0 && strcmp(u.port, "53") == 0 &&
	      u.max_bytes == 8192);
	CHECK(parse("udp://collector.example:65535?format=json&wait_ms=0") ==
		      0 &&
	      strcmp(u.host, "collector.example") == 0 && u.wait_ms == 0 &&
	      u.format == SINK_FMT_JSON);
	CHECK(parse("unix:/run/x.sock?buffer=65536&max_bytes=65536") == 0 &&
	      u.ops == &sink_unix_ops && u.buffer == 65536 &&
	      strcmp(u.path, "/run/x.sock") == 0);
	CHECK(parse("unixgram:/run/g.sock") == 0 &&
	      u.ops == &sink_unixgram_ops &&
	      strcmp(u.path, "/run/g.sock") == 0);
	CHECK(parse("udp://h:1?max_bytes=65507") == 0 && u.max_bytes == 65507);
	CHECK(parse("file:/x") == 0 && u.mode == -1 && u.follow == 0);
	CHECK(parse("file:/x?mode=0640&follow=1") == 0 && u.mode == 0640 &&
	      u.follow == 1);
	CHECK(parse("file:/x?mode=600&follow=0") == 0 && u.mode == 0600 &&
	      u.follow == 0);
	CHECK(parse("file:/x?mode=0") == 0 && u.mode == 0);
	/* wait_ms is judged once the file is open (a FIFO takes it) */
	CHECK(parse("file:/x?wait_ms=5") == 0 && u.wait_ms == 5);
}

static void bad(const char *url, const char *why)
{
	struct sink_url before;

	memset(&u, 0xa5, sizeof(u));
	before = u;
	CHECK(sink_url_parse(url, &u, err, sizeof(err)) == -EINVAL);
	CHECK(memcmp(&before, &u, sizeof(u)) == 0);
	if (!strstr(err, why)) {
		fprintf(stderr, "'%s': error '%s' lacks '%s'\n", url, err, why);
		check_failures++;
	}
}

static void test_bad(void)
{
	bad("tcp://h:1", "unknown scheme");
	/* never taken as a path; the message lists the registry's forms */
	bad("/tmp/out.json", "unknown scheme");
	bad("out.json", "expected stdout, file:PATH, null, udp://HOST:PORT, "
			"unixgram:PATH, unix:PATH");
	bad("stdoutx", "unknown scheme");
	bad("stdout:foo", "takes no target");
	bad("null?format=json&x", "without");
	bad("file:", "missing PATH");
	bad("file:?format=json", "missing PATH");
	bad("udp://127.0.0.1", "HOST:PORT");
	bad("udp://:80", "host");
	bad("udp://h:0", "port");
	bad("udp://h:65536", "port");
	bad("udp://h:8x", "port");
	bad("udp://::1:80", "brackets");
	bad("udp://[::1]80", "[IPV6]:PORT");
	bad("udp://h:1?max_bytes=65508", "max_bytes");
	bad("udp://h:1?max_bytes=10", "max_bytes");
	bad("udp://h:1?max_rows=0", "max_rows");
	bad("udp://h:1?format=xml", "format 'xml'");
	bad("udp://h:1?colour=red", "unknown option 'colour'");
	bad("udp://h:1?buffer=65536", "unknown option 'buffer'");
	bad("file:/x?mode=0999", "mode '0999'");
	bad("file:/x?mode=01777", "mode '01777'");
	bad("file:/x?mode=", "mode ''");
	bad("file:/x?mode=rw", "mode 'rw'");
	bad("file:/x?follow=yes", "follow 'yes'");
	bad("file:/x?colour=red", "mode, follow");
	bad("stdout?mode=0600", "unknown option 'mode'");
	bad("unix:/x?follow=1", "unknown option 'follow'");
	bad("udp://h:1?format", "without '='");
	bad("udp://h:1?&", "empty");
	bad("unix:/x?wait_ms=10001", "wait_ms");
	bad("unix:/x?buffer=8192&max_bytes=9000", "exceeds buffer");
	bad("unix:/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "too long");
}

/* sink_check: the same verdicts, nothing opened (no file created) */
static void test_check(void)
{
	CHECK(sink_check("file:/nonexistent-dir/x.json", err, sizeof(err)) ==
	      0);
	CHECK(access("/nonexistent-dir", F_OK) != 0);
	CHECK(sink_check("udp://h:1?colour=red", err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unknown option 'colour'") != NULL);
	CHECK(strstr(err, "expected format, fields, max_bytes, max_rows, wait_ms") !=
	      NULL);
}

static void test_formats(void)
{
	enum sink_format f;

	CHECK(sink_format_parse("json", &f) == 0 && f == SINK_FMT_JSON);
	CHECK(sink_format_parse("protobuf", &f) == 0 && f == SINK_FMT_PROTOBUF);
	CHECK(sink_format_parse("protobuf-list", &f) == 0 &&
	      f == SINK_FMT_PROTOBUF_LIST);
	f = SINK_FMT_JSON;
	CHECK(sink_format_parse("protobuf_list", &f) == -EINVAL &&
	      f == SINK_FMT_JSON);
	CHECK(strcmp(sink_format_name(SINK_FMT_PROTOBUF_LIST),
		     "protobuf-list") == 0);
}

/* sink_new: per-destination default format, and the command line's. */
static void test_defaults(void)
{
	struct sink *s = NULL;

	CHECK(sink_new("null", SINK_FMT_AUTO, &s, err, sizeof(err)) == 0 &&
	      s->format == SINK_FMT_PROTOBUF_LIST);
	sink_free(s);
	CHECK(sink_new("file:/dev/null", SINK_FMT_AUTO, &s, err, sizeof(err)) ==
		      0 &&
	      s->format == SINK_FMT_JSON);
	sink_free(s);
	CHECK(sink_new("file:/dev/null", SINK_FMT_PROTOBUF, &s, err,
		       sizeof(err)) == 0 &&
	      s->format == SINK_FMT_PROTOBUF);
	sink_free(s);
	CHECK(sink_new("file:/dev/null?format=json", SINK_FMT_PROTOBUF, &s, err,
		       sizeof(err)) == 0 &&
	      s->format == SINK_FMT_JSON);
	sink_free(s);
	CHECK(sink_new("udp://no-such-host.invalid:9", SINK_FMT_AUTO, &s, err,
		       sizeof(err)) == -EINVAL &&
	      strstr(err, "cannot resolve"));
	sink_free(NULL);
}

int main(void)
{
	test_good();
	test_bad();
	test_check();
	test_formats();
	test_defaults();
	return check_exit();
}
