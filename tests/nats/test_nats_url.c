/*
 * test_nats_url.c - nats:// URLs and options (pure parsing), and the
 * command line's verdict on a bad one: one line naming it, with the
 * password masked, exit 2, before anything is opened; the masking of the
 * library's own texts.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sink/sink_nats.h"
#include "sink/sink_url.h"

static struct sink_url u;
static char err[256];

static const struct nats_cfg *cfg(void)
{
	return (const struct nats_cfg *)u.cfg;
}

static int parse(const char *url)
{
	err[0] = '\0';
	return sink_url_parse(url, &u, err, sizeof(err));
}

static void test_good(void)
{
	CHECK(parse("nats://127.0.0.1:4222/tcpscope.records") == 0 &&
	      u.ops == &sink_nats_ops && strcmp(u.host, "127.0.0.1") == 0 &&
	      strcmp(u.port, "4222") == 0 &&
	      strcmp(cfg()->subject, "tcpscope.records") == 0 &&
	      cfg()->user[0] == '\0' && !cfg()->jetstream &&
	      cfg()->max_pending == NATS_MAX_PENDING &&
	      cfg()->reconnect_buf == NATS_RECONNECT_BUF &&
	      u.format == SINK_FMT_AUTO);
	CHECK(parse("nats://u:p@h:1/s") == 0 && strcmp(u.host, "h") == 0 &&
	      strcmp(cfg()->user, "u") == 0 && strcmp(cfg()->pass, "p") == 0);
	/* %-escapes in USER:PASS; the last '@' of the authority ends it */
	CHECK(parse("nats://us%40r:p%3As%2F%40w@[::1]:4222/a.b") == 0 &&
	      strcmp(u.host, "::1") == 0 && strcmp(cfg()->user, "us@r") == 0 &&
	      strcmp(cfg()->pass, "p:s/@w") == 0);
	CHECK(parse("nats://u:p@w@h:1/s") == 0 &&
	      strcmp(cfg()->pass, "p@w") == 0 && strcmp(u.host, "h") == 0);
	CHECK(parse("nats://h:1/s?jetstream=1&max_pending=5&reconnect_buf="
		    "65536&format=json&max_bytes=8192&max_rows=10&wait_ms="
		    "50") == 0 &&
	      cfg()->jetstream && cfg()->max_pending == 5 &&
	      cfg()->reconnect_buf == 65536 && u.format == SINK_FMT_JSON &&
	      u.max_bytes == 8192 && u.max_rows == 10 && u.wait_ms == 50);
	CHECK(parse("nats://h:1/s?jetstream=1") == 0 && cfg()->jetstream &&
	      cfg()->max_pending == NATS_MAX_PENDING);
	CHECK(parse("nats://h:1/a/b-c_d.$e") == 0 &&
	      strcmp(cfg()->subject, "a/b-c_d.$e") == 0);
}

static void bad(const char *url, const char *why)
{
	CHECK(parse(url) == -EINVAL);
	if (!strstr(err, why)) {
		fprintf(stderr, "'%s': error '%s' lacks '%s'\n", url, err, why);
		check_failures++;
	}
	/* never the password of the URL */
	if (strstr(url, "Pw") && strstr(err, "Pw")) {
		fprintf(stderr, "'%s': error '%s' shows the password\n", url,
			err);
		check_failures++;
	}
}

static void test_bad(void)
{
	bad("nats://h:1", "SUBJECT");
	bad("nats://h:1/", "SUBJECT");
	bad("nats://h:1/a.*", "no wildcards");
	bad("nats://h:1/a.>", "no wildcards");
	bad("nats://h:1/a..b", "SUBJECT");
	bad("nats://h:1/.a", "SUBJECT");
	bad("nats://h:1/a.", "SUBJECT");
	bad("nats://h:1/a b", "SUBJECT");
	bad("nats://h/s", "HOST:PORT");
	bad("nats://h:0/s", "port");
	bad("nats:h:1/s", "expected nats://HOST:PORT");
	bad("nats://token@h:1/s", "USER:PASS");
	bad("nats://:Pw@h:1/s", "USER:PASS");
	bad("nats://u:Pw%4@h:1/s", "escape");
	bad("nats://u:Pw%00@h:1/s", "escape");
	bad("nats://u:Pw@h/s", "HOST:PORT");
	bad("nats://u:Pw@h:1/s?max_pending=4", "jetstream=1");
	bad("nats://h:1/s?jetstream=2", "jetstream '2'");
	bad("nats://h:1/s?jetstream=1&max_pending=0", "max_pending");
	bad("nats://h:1/s?jetstream=1&max_pending=65537", "max_pending");
	bad("nats://h:1/s?reconnect_buf=100", "reconnect_buf");
	bad("nats://h:1/s?reconnect_buf=1073741825", "reconnect_buf");
	bad("nats://h:1/s?max_bytes=67108865", "max_bytes");
	bad("nats://u:Pw@h:1/s?colour=red",
	    "expected format, fields, max_bytes, max_rows, wait_ms, jetstream, "
	    "max_pending, reconnect_buf");
}

/* A library's text is masked before it is logged. */
static void test_mask(void)
{
	char out[64];

	tsnats_mask("pw", "a pw b pwpw c", out, sizeof(out));
	CHECK(strcmp(out, "a *** b ****** c") == 0);
	tsnats_mask("", "no secret", out, sizeof(out));
	CHECK(strcmp(out, "no secret") == 0);
	tsnats_mask("secret", "the secret is long", out, 8);
	CHECK(strlen(out) == 7 && !strstr(out, "secret"));
}

/* The daemon: one line naming the URL (password masked), exit 2. */
static void test_cli(void)
{
	const char *bin = getenv("TCPSCOPE_BIN");
	char out[] = "/tmp/ts-nats-url-XXXXXX", line[512];
	int fd = mkstemp(out), status, lines = 0, named = 0, leaked = 0;
	pid_t pid;
	FILE *f;

	if (!bin || fd < 0) {
		fprintf(stderr, "TCPSCOPE_BIN not set: no CLI check\n");
		return;
	}
	pid = fork();
	if (pid == 0) {
		dup2(fd, 2);
		execl(bin, bin, "--once", "--dest",
		      "nats://user:SecretPw@127.0.0.1:4222/s?max_pending=3",
		      (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f)) {
		lines++;
		named += strstr(line, "nats://user:***@127.0.0.1:4222/s") &&
			 strstr(line, "jetstream=1");
		leaked += strstr(line, "SecretPw") != NULL;
		fputs(line, stderr);
	}
	if (f)
		fclose(f);
	CHECK_EQ(lines, 1);
	CHECK_EQ(named, 1);
	CHECK_EQ(leaked, 0);
	close(fd);
	unlink(out);
}

int main(void)
{
	test_good();
	test_bad();
	test_mask();
	test_cli();
	return check_exit();
}
