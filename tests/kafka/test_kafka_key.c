/*
 * test_kafka_key.c - key=netns and key=hostname, with records of three
 * network namespaces (the sandbox and two children's) from two poll
 * threads (--workers 2, so that their records interleave at the fanout):
 *  - key=netns: every message's key is HOSTNAME/NETNS_INODE, and every
 *    row in it is of that namespace (a message never mixes namespaces);
 *    the messages of one key are all in one partition, in order (their
 *    record_counters rise from one message to the next);
 *  - key=hostname: every message's key is the host name, one partition;
 *  - and every record arrives once, equal to the JSON of the same run.
 */
#include "kafka_test.h"

/* A child in a network namespace of its own with n connections; it lives
 * until the test ends (its pipe's EOF). */
static pid_t netns_child(int n)
{
	int ready[2], hold[2];
	char c;
	pid_t pid;

	CHECK(pipe(ready) == 0 && pipe(hold) == 0);
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		st_sandbox();
		st_make_conns(n);
		(void)!write(ready[1], "x", 1);
		(void)!read(hold[0], &c, 1); /* EOF when the test exits */
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]); /* the write end stays open in the test */
	CHECK(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	return pid;
}

/* The rows of message i: each of namespace `inode` and host `host`, in
 * record_counter order after *last (updated)? */
static int rows_match(const struct kt_msgs *m, size_t i, uint64_t inode,
		      const char *host, int by_ns, uint64_t *last)
{
	const uint8_t *q = m->msg[i];
	uint64_t len;
	XtcpFlatRecord__V1__Envelope *env;
	int ok = 1;

	if (st_varint(&q, m->msg[i] + m->mlen[i], &len) < 0 ||
	    !(env = xtcp_flat_record__v1__envelope__unpack(NULL, (size_t)len,
							   q)))
		return 0;
	for (size_t r = 0; r < env->n_row; r++) {
		ok &= strcmp(env->row[r]->hostname, host) == 0 &&
		      (!by_ns || env->row[r]->netns_inode == inode) &&
		      env->row[r]->record_counter > *last;
		*last = env->row[r]->record_counter;
	}
	xtcp_flat_record__v1__envelope__free_unpacked(env, NULL);
	return ok;
}

static void run(const char *bin, const char *key, const char *netns)
{
	char url[512], host[256], part_of[64][300];
	int part[64], nkeys = 0, bad = 0;
	uint64_t last[64] = { 0 };
	struct st_dir td;
	struct kt_broker b;
	struct kt_msgs m;
	struct kt_counts c;
	struct st_set ref;
	long rows, maxrows;
	size_t maxlen;
	int by_ns = strcmp(key, "netns") == 0;

	CHECK(gethostname(host, sizeof(host)) == 0);
	st_dir_make(&td, "kkey", "unused");
	kt_broker_start(&b, "tcp", 4);
	snprintf(url, sizeof(url), "kafka://%s/tcp?key=%s&max_rows=50", b.boot,
		 key);
	char *argv[] = { (char *)bin,	"--count",   "2", "--interval",
			 "300ms",	"--workers", "2", "--netns",
			 (char *)netns, "--dest",    url, "--dest",
			 td.jurl,	NULL };
	CHECK_EQ(st_wait(st_spawn(argv, NULL, td.epath), 30000), 0);
	st_set_load(&ref, td.jpath, NULL, 0);
	CHECK(kt_last(td.epath, url, &c) == 0);
	kt_consume_fmt(&b, "tcp", td.dir, &m, 1);
	rows = kt_check_all(SINK_FMT_PROTOBUF_LIST, &m, &ref, &bad, &maxrows,
			    &maxlen);
	for (size_t i = 0; i < m.n; i++) {
		int p = -1, k;
		char kbuf[300] = "";
		unsigned long long inode = 0;
		const char *slash;
		if (sscanf(m.meta[i], "%d %299s", &p, kbuf) < 1)
			bad++;
		slash = strrchr(kbuf, '/');
		if (by_ns) {
			CHECK(slash && (size_t)(slash - kbuf) == strlen(host) &&
			      strncmp(kbuf, host, strlen(host)) == 0);
			inode = slash ? strtoull(slash + 1, NULL, 10) : 0;
		} else {
			CHECK(strcmp(kbuf, host) == 0);
		}
		for (k = 0; k < nkeys && strcmp(part_of[k], kbuf); k++)
			;
		if (k == nkeys && nkeys < 64) {
			snprintf(part_of[nkeys], sizeof(part_of[0]), "%s",
				 kbuf);
			part[nkeys++] = p;
		} else if (k < nkeys && part[k] != p && bad++ < 3) {
			fprintf(stderr, "key %s in partitions %d and %d\n",
				kbuf, part[k], p);
		}
		if (k < 64 &&
		    !rows_match(&m, i, inode, host, by_ns, &last[k]) &&
		    bad++ < 3)
			fprintf(stderr,
				"message %zu (key %s) mixes keys or is out "
				"of order\n",
				i, kbuf);
	}
	fprintf(stderr,
		"key=%s: %zu records written, %llu sent; %zu messages, %ld "
		"rows, %d keys\n",
		key, ref.n, c.sent, m.n, rows, nkeys);
	CHECK_EQ(bad, 0);
	CHECK_EQ(nkeys, by_ns ? 3 : 1);
	CHECK_EQ(c.sent, ref.n);
	CHECK_EQ(rows, c.sent);
	CHECK(maxrows <= 50);
	kt_msgs_free(&m);
	st_set_free(&ref);
	kt_broker_stop(&b);
	st_dir_remove(&td);
}

int main(void)
{
	const char *bin = st_bin();
	char netns[64];

	st_sandbox();
	CHECK(st_make_conns(200) >= 400);
	pid_t a = netns_child(150), b = netns_child(150);
	snprintf(netns, sizeof(netns), "host,pid:%d,pid:%d", (int)a, (int)b);
	run(bin, "netns", netns);
	run(bin, "hostname", netns);
	return check_exit();
}
