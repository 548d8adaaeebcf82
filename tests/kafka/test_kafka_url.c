/*
 * test_kafka_url.c - the kafka:// URL and its options, through the
 * tcpscope binary:
 *  - a bad URL, option or librdkafka property (kafka.PROPERTY=VALUE, as
 *    kcat's -X) is refused at startup: exit 2, one line naming it, with
 *    librdkafka's own message for a property (unknown, bad value, or a
 *    combination it refuses); max_bytes must fit message.max.bytes, and
 *    queue_bytes one message;
 *  - a good URL with every option passes --check-config;
 *  - credentials (kafka.sasl.password=..., user:password@) never appear
 *    in any message: not in a refusal, not in --check-config's output,
 *    not in the summary lines of a run.
 */
#include "kafka_test.h"

struct bad {
	const char *url;
	const char *names; /* the line must contain this */
};

/* Runs tcpscope ARGS; its status, stdout+stderr in out. */
static int run_capture(const char *bin, char *const *args, char *out, size_t n,
		       const char *dir)
{
	char path[256];
	char *argv[16] = { (char *)bin };
	int k = 1, rc;
	FILE *f;
	size_t got;

	for (; args[k - 1] && k < 15; k++)
		argv[k] = args[k - 1];
	argv[k] = NULL;
	snprintf(path, sizeof(path), "%s/out", dir);
	rc = st_wait(st_spawn(argv, path, path), 20000);
	f = fopen(path, "r");
	got = f ? fread(out, 1, n - 1, f) : 0;
	out[got] = '\0';
	if (f)
		fclose(f);
	return rc;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void refused(const char *bin, const struct bad *b, const char *dir)
{
	char out[8192];
	char *args[] = { "--once", "--netns",	   "host",
			 "--dest", (char *)b->url, NULL };
	int rc = run_capture(bin, args, out, sizeof(out), dir);

	if (rc != 2 || lines(out) != 1 || !strstr(out, b->names) ||
	    strstr(out, "hunter2")) {
		fprintf(stderr,
			"%s: exit %d, expected 2 and one line naming "
			"'%s', without the password:\n%s",
			b->url, rc, b->names, out);
		check_failures++;
	}
}

int main(void)
{
	const char *bin = st_bin();
	char out[16384], dir[64] = "/tmp/ts-kurl-XXXXXX";
	static const struct bad bads[] = {
		{ "kafka://127.0.0.1:9092", "TOPIC" },
		{ "kafka://127.0.0.1:9092/", "topic ''" },
		{ "kafka://127.0.0.1/t", "HOST:PORT" },
		{ "kafka://127.0.0.1:9092,/t", "HOST:PORT" },
		{ "kafka://127.0.0.1:0/t", "port" },
		{ "kafka://h:1/a/b", "topic 'a/b'" },
		{ "kafka://h:1/t?compression=brotli", "'brotli'" },
		{ "kafka://h:1/t?key=pod", "'pod'" },
		{ "kafka://h:1/t?wait_ms=10", "unknown option 'wait_ms'" },
		{ "kafka://h:1/t?max_rows=0", "max_rows" },
		{ "kafka://h:1/t?timeout_ms=5", "timeout_ms" },
		{ "kafka://h:1/t?queue_bytes=1000", "queue_bytes" },
		{ "kafka://h:1/t?kafka.no.such.thing=1",
		  "No such configuration property" },
		{ "kafka://h:1/t?kafka.linger.ms=soon", "Invalid value" },
		{ "kafka://h:1/t?acks=most", "acks" },
		{ "kafka://h:1/t?max_bytes=1000000", "message.max.bytes" },
		{ "kafka://h:1/t?max_bytes=2000000&kafka.message.max.bytes="
		  "3000000&queue_bytes=1048576",
		  "queue_bytes" },
		{ "kafka://h:1/t?format=json&max_rows=10", "max_rows" },
		/* a combination only rd_kafka_new() refuses */
		{ "kafka://h:1/t?kafka.enable.idempotence=true&acks=1",
		  "acks" },
		{ "kafka://u:hunter2@h:1/t", "kafka.sasl.password" },
		{ "kafka://h:1/t?kafka.sasl.password=hunter2&timeout_ms=5",
		  "timeout_ms" },
	};

	CHECK(mkdtemp(dir) != NULL);
	for (unsigned i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
		refused(bin, &bads[i], dir);

	/* every option at once is fine, and the password is masked */
	char *good[] = { "--check-config", "--dest",
			 "kafka://127.0.0.1:9,[::1]:9,localhost:9/t.x-1?"
			 "compression=zstd&key=netns&acks=all&max_bytes=500000"
			 "&max_rows=100&queue_bytes=1048576&timeout_ms=5000&"
			 "kafka.linger.ms=20&kafka.sasl.password=hunter2",
			 NULL };
	CHECK_EQ(run_capture(bin, good, out, sizeof(out), dir), 0);
	CHECK(strstr(out, "kafka.sasl.password=***") != NULL);
	CHECK(strstr(out, "hunter2") == NULL);

	/* a run against nobody: summary lines and the said lines, masked */
	st_sandbox();
	char *runs[] = { "--count",
			 "3",
			 "--interval",
			 "200ms",
			 "--exit-timeout",
			 "300ms",
			 "--netns",
			 "host",
			 "--dest",
			 "kafka://127.0.0.1:9/t?kafka.security.protocol="
			 "sasl_plaintext&kafka.sasl.mechanisms=PLAIN&kafka."
			 "sasl.username=u&kafka.sasl.password=hunter2",
			 NULL };
	CHECK_EQ(run_capture(bin, runs, out, sizeof(out), dir), 0);
	CHECK(strstr(out, "tcpscope: poll 3") != NULL);
	CHECK(strstr(out, "kafka.sasl.password=***") != NULL);
	CHECK(strstr(out, "hunter2") == NULL);
	if (check_failures) {
		fputs(out, stderr);
	} else {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK_EQ(system(cmd), 0);
	}
	return check_exit();
}
