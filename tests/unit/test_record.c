/*
 * test_record.c - the record's lookup helpers (TCP state names, congestion
 * control names) and the layout of our copy of struct tcp_info, which must
 * match the kernel's ABI byte for byte.
 */
#include <errno.h>
#include <limits.h>
#include <linux/tcp.h>
#include <string.h>

#include "check.h"
#include "record/record.h"

static void test_state_names(void)
{
	/* ss's names, by the kernel's TCP_* numbering */
	static const char *const want[] = {
		"unknown",	"established",	  "syn-sent",  "syn-recv",
		"fin-wait-1",	"fin-wait-2",	  "time-wait", "close",
		"close-wait",	"last-ack",	  "listen",    "closing",
		"new-syn-recv", "bound-inactive",
	};
	unsigned st;

	CHECK_EQ(sizeof(want) / sizeof(want[0]), TS_TCP_STATE_MAX + 1);
	for (unsigned i = 0; i <= TS_TCP_STATE_MAX; i++) {
		const char *n = ts_tcp_state_name(i);
		CHECK(n && strcmp(n, want[i]) == 0);
		if (i == 0)
			continue;
		st = 0;
		CHECK_EQ(ts_tcp_state_from_name(n, &st), 0);
		CHECK_EQ(st, i);
	}
	CHECK(strcmp(ts_tcp_state_name(TS_TCP_STATE_MAX + 1), "unknown") == 0);
	CHECK(strcmp(ts_tcp_state_name(255), "unknown") == 0);
	CHECK(strcmp(ts_tcp_state_name(UINT_MAX), "unknown") == 0);

	st = 99;
	CHECK_EQ(ts_tcp_state_from_name("bogus", &st), -EINVAL);
	CHECK_EQ(ts_tcp_state_from_name("", &st), -EINVAL);
	CHECK_EQ(ts_tcp_state_from_name("listen ", &st), -EINVAL);
	CHECK_EQ(ts_tcp_state_from_name("listenx", &st), -EINVAL);
	/* "unknown" names no state: it is what out-of-range numbers print */
	CHECK_EQ(ts_tcp_state_from_name("unknown", &st), -EINVAL);

	/* every real state but BOUND_INACTIVE (13) */
	CHECK_EQ(TS_TCP_STATES_ALL, 0x1ffe);
}

static void test_cong_names(void)
{
	static const struct {
		const char *name;
		uint32_t algo;
	} cases[] = {
		{ "cubic", TS_CONG_CUBIC },
		{ "dctcp", TS_CONG_DCTCP },
		{ "vegas", TS_CONG_VEGAS },
		{ "prague", TS_CONG_PRAGUE },
		{ "bbr", TS_CONG_BBR1 },
		{ "bbr1", TS_CONG_BBR1 },
		{ "bbr2", TS_CONG_BBR2 },
		{ "bbr3", TS_CONG_BBR3 },
		{ "reno", 0 },
		{ "", 0 },
		{ "bbr4", 0 },
		{ "bbr22", 0 },
		{ "cubicx", 0 },
		{ "cubi", 0 },
		{ "unknown", 0 },
		{ "htcp", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t got = ts_cong_from_name(cases[i].name);
		if (got != cases[i].algo) {
			fprintf(stderr, "cong \"%s\": %u, want %u\n",
				cases[i].name, got, cases[i].algo);
			check_failures++;
		}
	}
	/* the enum's values are wire values of the reference */
	CHECK_EQ(TS_CONG_UNSPECIFIED, 0);
	CHECK_EQ(TS_CONG_CUBIC, 1);
	CHECK_EQ(TS_CONG_DCTCP, 2);
	CHECK_EQ(TS_CONG_VEGAS, 3);
	CHECK_EQ(TS_CONG_PRAGUE, 4);
	CHECK_EQ(TS_CONG_BBR1, 5);
	CHECK_EQ(TS_CONG_BBR2, 6);
	CHECK_EQ(TS_CONG_BBR3, 7);
}

#define SAME_OFF(ours, kernel)                                                 \
	CHECK_EQ(offsetof(struct ts_tcp_info, ours),                           \
		 offsetof(struct tcp_info, kernel))

/* Our struct against the kernel's, as far as this system's headers go. */
static void test_tcp_info_layout(void)
{
	SAME_OFF(state, tcpi_state);
	SAME_OFF(options, tcpi_options);
	SAME_OFF(rto, tcpi_rto);
	SAME_OFF(snd_mss, tcpi_snd_mss);
	SAME_OFF(fackets, tcpi_fackets);
	SAME_OFF(last_ack_recv, tcpi_last_ack_recv);
	SAME_OFF(rtt, tcpi_rtt);
	SAME_OFF(snd_cwnd, tcpi_snd_cwnd);
	SAME_OFF(total_retrans, tcpi_total_retrans);
	SAME_OFF(pacing_rate, tcpi_pacing_rate);
	SAME_OFF(bytes_received, tcpi_bytes_received);
	SAME_OFF(notsent_bytes, tcpi_notsent_bytes);
	SAME_OFF(min_rtt, tcpi_min_rtt);
	SAME_OFF(delivery_rate, tcpi_delivery_rate);
	SAME_OFF(sndbuf_limited, tcpi_sndbuf_limited);
	SAME_OFF(delivered, tcpi_delivered);
	SAME_OFF(delivered_ce, tcpi_delivered_ce);
	SAME_OFF(bytes_sent, tcpi_bytes_sent);
	SAME_OFF(bytes_retrans, tcpi_bytes_retrans);
	SAME_OFF(dsack_dups, tcpi_dsack_dups);
	SAME_OFF(reord_seen, tcpi_reord_seen);
	SAME_OFF(rcv_ooopack, tcpi_rcv_ooopack);
	SAME_OFF(snd_wnd, tcpi_snd_wnd);

	/* the size of each kernel generation ends where the comments say */
	CHECK_EQ(offsetof(struct ts_tcp_info, delivered), 192);
	CHECK_EQ(offsetof(struct ts_tcp_info, rcv_ooopack), 224);
	CHECK_EQ(offsetof(struct ts_tcp_info, rcv_wnd), 232);
	CHECK_EQ(offsetof(struct ts_tcp_info, total_rto), 240);
	CHECK_EQ(offsetof(struct ts_tcp_info, received_ce), 248);
	CHECK_EQ(sizeof(struct ts_tcp_info), 280);
	CHECK(sizeof(struct ts_tcp_info) >= sizeof(struct tcp_info));
}

int main(void)
{
	test_state_names();
	test_cong_names();
	test_tcp_info_layout();
	return check_exit();
}
