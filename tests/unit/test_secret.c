/* test_secret - passwords in URLs are masked, the rest kept as written. */
#include <string.h>

#include "check.h"
#include "util/secret.h"

static void masks(const char *url, const char *want)
{
	char out[256];

	ts_mask_url(url, out, sizeof(out));
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "'%s' -> '%s', expected '%s'\n", url, out,
			want);
		check_failures++;
	}
}

int main(void)
{
	masks("nats://user:pw@h:4222/s", "nats://user:***@h:4222/s");
	masks("redis://:secret@127.0.0.1:6379/k?mode=xadd",
	      "redis://:***@127.0.0.1:6379/k?mode=xadd");
	masks("kafka://h:9092/t", "kafka://h:9092/t");
	masks("nats://user@h:4222/s", "nats://user@h:4222/s");
	/* an '@' after the authority is not userinfo */
	masks("udp://h:1?x=a:b@c", "udp://h:1?x=a:b@c");
	masks("file:/var/log/a:b@c", "file:/var/log/a:b@c");
	masks("stdout", "stdout");
	/* the last '@' ends the userinfo (a password may hold one) */
	masks("redis://u:p@ss@h:1/k", "redis://u:***@h:1/k");
	/* credentials among the options (a library's properties) */
	masks("kafka://h:9092/t?kafka.sasl.password=pw&compression=lz4",
	      "kafka://h:9092/t?kafka.sasl.password=***&compression=lz4");
	masks("kafka://h:1/t?kafka.ssl.key.pem=K&kafka.sasl.oauthbearer.config="
	      "a=b&kafka.sasl.oauthbearer.client.secret=s#f",
	      "kafka://h:1/t?kafka.ssl.key.pem=***&kafka.sasl.oauthbearer."
	      "config=***&kafka.sasl.oauthbearer.client.secret=***#f");
	masks("nats://u:p@h:1/s?token=t&x=1",
	      "nats://u:***@h:1/s?token=***&x=1");
	masks("file:/tmp/x?mode=0640", "file:/tmp/x?mode=0640");
	char small[8];
	ts_mask_url("redis://:secret@h:1/k", small, sizeof(small));
	CHECK(strlen(small) == 7 && strstr(small, "secret") == NULL);
	return check_exit();
}
