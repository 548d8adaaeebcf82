/*
 * test_dgram_dead.c - datagram destinations that are not there:
 *  - udp to a loopback port nobody listens on (one record per datagram,
 *    ICMP not rate-limited in the test's namespace): polling goes on,
 *    every record is counted once (sent + dropped = records of the polls),
 *    and every datagram the host refused with an ICMP port unreachable is
 *    counted as an error, in both engines: errors >= records (the kernel
 *    reports the refusal to a later send, where sendmmsg loses it, or, as
 *    tcpscope reads them, on the socket's error queue);
 *  - a unixgram receiver that goes away for a few polls and comes back:
 *    tcpscope reconnects, the receiver gets exactly what was counted as
 *    sent, and sent + dropped = records of the polls.
 * Run with both engines (the _uring twin).
 */
#include "sink_test.h"

#define POLLS 10

int main(void)
{
	const char *bin = st_bin();
	char udp[256], ugram[256];
	struct st_dir td;
	struct st_buf b = { 0 };
	struct st_set ref;
	unsigned long long usent = 0, udrop = 0, gsent = 0, gdrop = 0;
	int polls = 0, bad = 0;

	st_sandbox();
	CHECK(st_make_conns(200) >= 400);
	st_dir_make(&td, "dead", "g.sock");
	/* a port that was just free: nobody listens on it */
	/* every port unreachable is sent (no ICMP rate limit here) */
	FILE *rm = fopen("/proc/sys/net/ipv4/icmp_ratemask", "w");
	CHECK(rm && fputs("0", rm) >= 0 && fclose(rm) == 0);
	int u = st_udp_rx(AF_INET, udp, sizeof(udp), "?max_rows=1");
	CHECK(u >= 0);
	close(u);
	snprintf(ugram, sizeof(ugram), "unixgram:%s", td.sock);
	char *argv[] = { (char *)bin, "--interval", "100ms", "--count",
			 "10",	      "--netns",    "host",  "--dest",
			 udp,	      "--dest",	    ugram,   "--dest",
			 td.jurl,     NULL };
	pid_t pid = st_spawn(argv, NULL, td.epath);

	usleep(250000); /* no receiver for the first polls */
	int g = st_unix_rx(SOCK_DGRAM, td.sock);
	CHECK(g >= 0);
	int rcv = 8 << 20;
	setsockopt(g, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	for (int quiet = 0; quiet < 150;) {
		if (st_read_dgram(g, &b)) {
			quiet = 0;
			continue;
		}
		quiet++;
		usleep(10000);
	}
	CHECK_EQ(st_wait(pid, 10000), 0);
	st_set_load(&ref, td.jpath, NULL, 0);
	long got = st_check(SINK_FMT_PROTOBUF_LIST, b.p, b.len, &ref, &bad);
	CHECK(st_summary(td.epath, udp, &usent, &udrop, &polls) == 0);
	CHECK(st_summary(td.epath, ugram, &gsent, &gdrop, &polls) == 0);
	fprintf(stderr,
		"%zu records in %d polls; udp: %llu sent, %llu dropped, %llu "
		"errors; unixgram: %llu sent, %llu dropped, %ld received\n",
		ref.n, polls, usent, udrop, st_errors(td.epath, udp), gsent,
		gdrop, got);
	CHECK_EQ(polls, POLLS);
	CHECK_EQ(usent + udrop, ref.n);
	/* each record's datagram was refused, and that is counted once it
	 * is known, whether the kernel says so to the send or later */
	CHECK(st_errors(td.epath, udp) >= ref.n);
	CHECK_EQ(gsent + gdrop, ref.n);
	CHECK(gdrop > 0); /* the polls without a receiver */
	CHECK(gsent > 0); /* reconnected */
	CHECK_EQ(got, gsent);
	CHECK_EQ(bad, 0);
	st_set_free(&ref);
	free(b.p);
	free(b.cut);
	st_dir_remove(&td);
	return check_exit();
}
