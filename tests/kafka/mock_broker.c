/*
 * mock_broker - a Kafka broker for the tests: librdkafka's mock cluster
 * (rdkafka_mock.h) in a process of its own, on 127.0.0.1 and a port the
 * kernel picks.
 *
 * Usage: mock_broker TOPIC [PARTITIONS]
 * Prints "bootstrap HOST:PORT" once the cluster listens, then reads
 * commands from stdin, one per line: "down" (every broker disconnects
 * and refuses connections), "up", "error CODE N" (the next N Produce
 * requests fail with the Kafka error CODE, e.g. 10, message too large),
 * "quit". Each command is answered "ok". End of stdin quits too, so a
 * test that dies takes its broker with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* "CODE N": the next N Produce requests fail with CODE. */
static void push_errors(rd_kafka_mock_cluster_t *mc, const char *arg)
{
	rd_kafka_resp_err_t errs[64];
	int code = 0, n = 0;

	if (sscanf(arg, "%d %d", &code, &n) != 2 || n < 1 || n > 64)
		return;
	for (int i = 0; i < n; i++)
		errs[i] = (rd_kafka_resp_err_t)code;
	rd_kafka_mock_push_request_errors_array(mc, 0 /* Produce */, (size_t)n,
						errs);
}

int main(int argc, char **argv)
{
	char err[256], line[64];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_mock_cluster_t *mc;
	rd_kafka_t *rk;

	if (argc < 2) {
		fprintf(stderr, "usage: mock_broker TOPIC [PARTITIONS]\n");
		return 2;
	}
	/* the handle only carries the cluster: it produces nothing */
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "mock_broker: %s\n", err);
		return 1;
	}
	mc = rd_kafka_mock_cluster_new(rk, 1);
	if (!mc) {
		fprintf(stderr, "mock_broker: cannot make the mock cluster\n");
		return 1;
	}
	if (rd_kafka_mock_topic_create(mc, argv[1],
				       argc > 2 ? atoi(argv[2]) : 1, 1)) {
		fprintf(stderr, "mock_broker: cannot create topic %s\n",
			argv[1]);
		return 1;
	}
	printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "down", 4) == 0)
			rd_kafka_mock_broker_set_down(mc, -1);
		else if (strncmp(line, "up", 2) == 0)
			rd_kafka_mock_broker_set_up(mc, -1);
		else if (strncmp(line, "error ", 6) == 0)
			push_errors(mc, line + 6);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		printf("ok\n");
		fflush(stdout);
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
