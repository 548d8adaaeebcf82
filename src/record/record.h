/*
 * record.h - the flat per-socket record tcpscope produces.
 *
 * Contract:
 *  - One struct ts_record describes one TCP socket as seen in one poll. It is
 *    plain data: fixed size, no heap, safe to memcpy. The only pointers are
 *    strings (hostname, netns, container_*), which point at strings owned
 *    by the daemon context / namespace table and stay valid for at least the
 * duration of the poll that produced the record.
 *  - Every field of ../shared/reference/xtcp2-flat-record-fields.tsv that the
 *    kernel provides has a home here; src/record/fields.c maps names and
 *    protobuf numbers onto these members (one table serves every format).
 *  - `present` has bit (1u << INET_DIAG_x) set for every attribute the kernel
 *    sent, so marshallers can tell "absent" from "zero".
 *  - tcp_info is kept in the kernel's own layout (struct ts_tcp_info): the
 *    parser copies min(received, sizeof) bytes and zeroes the rest;
 *    `tcp_info_size` keeps the received size so consumers know which
 *    fields the kernel really filled.
 * Thread-safety: none needed; a record is owned by whoever fills it.
 */
#ifndef TS_RECORD_H
#define TS_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* struct tcp_info as of Linux 6.18 (280 bytes). Own copy: Debian 12's
 * linux-libc-dev (6.1) lacks the fields added since, and the layout is ABI. */
struct ts_tcp_info {
	uint8_t state;
	uint8_t ca_state;
	uint8_t retransmits;
	uint8_t probes;
	uint8_t backoff;
	uint8_t options;
	uint8_t wscale; /* snd_wscale:4 (low), rcv_wscale:4 (high) */
	uint8_t flags7; /* delivery_rate_app_limited:1, fastopen_client_fail:2
			 */
	uint32_t rto;
	uint32_t ato;
	uint32_t snd_mss;
	uint32_t rcv_mss;
	uint32_t unacked;
	uint32_t sacked;
	uint32_t lost;
	uint32_t retrans;
	uint32_t fackets;
	uint32_t last_data_sent;
	uint32_t last_ack_sent;
	uint32_t last_data_recv;
	uint32_t last_ack_recv;
	uint32_t pmtu;
	uint32_t rcv_ssthresh;
	uint32_t rtt;
	uint32_t rttvar;
	uint32_t snd_ssthresh;
	uint32_t snd_cwnd;
	uint32_t advmss;
	uint32_t reordering;
	uint32_t rcv_rtt;
	uint32_t rcv_space;
	uint32_t total_retrans;
	uint64_t pacing_rate;
	uint64_t max_pacing_rate;
	uint64_t bytes_acked;
	uint64_t bytes_received;
	uint32_t segs_out;
	uint32_t segs_in;
	uint32_t notsent_bytes;
	uint32_t min_rtt;
	uint32_t data_segs_in;
	uint32_t data_segs_out;
	uint64_t delivery_rate;
	uint64_t busy_time;
	uint64_t rwnd_limited;
	uint64_t sndbuf_limited;
	uint32_t delivered; /* 192: end of 4.x-era prefix */
	uint32_t delivered_ce;
	uint64_t bytes_sent;
	uint64_t bytes_retrans;
	uint32_t dsack_dups;
	uint32_t reord_seen; /* 224: 4.19 */
	uint32_t rcv_ooopack;
	uint32_t snd_wnd; /* 232: 5.4 .. 6.1 */
	uint32_t rcv_wnd;
	uint32_t rehash; /* 240: 6.2 .. 6.6 */
	uint16_t total_rto;
	uint16_t total_rto_recoveries;
	uint32_t total_rto_time; /* 248: 6.7 .. 6.17 */
	uint32_t received_ce;
	uint32_t delivered_e1_bytes;
	uint32_t delivered_e0_bytes;
	uint32_t delivered_ce_bytes;
	uint32_t received_e1_bytes;
	uint32_t received_e0_bytes;
	uint32_t received_ce_bytes;
	uint16_t accecn_fail_mode;
	uint16_t accecn_opt_seen; /* 280: 6.18 */
};

#define TS_PRESENT_NSID 31

#define TS_CONG_NAME_MAX 16 /* TCP_CA_NAME_MAX */
#define TS_SKMEM_VARS	 9  /* SK_MEMINFO_VARS as of 6.x */

struct ts_record {
	/* Daemon-side facts, stamped by the poller, not the parser. */
	const char *hostname;
	const char *netns;
	const char *container_id;      /* NULL outside containers */
	const char *container_runtime; /* "docker", "containerd", ... */
	const char *cgroup_path;       /* cgroup_id's path (--cgroup-path) */
	const char *event; /* "poll", "open", "change", "snapshot", "close" */
	uint64_t netns_inode;
	uint32_t nsid;
	uint64_t timestamp_ns;	 /* CLOCK_REALTIME at receive of the datagram */
	uint64_t poll_seq;	 /* which poll produced this record */
	uint64_t record_counter; /* unique over the daemon's life */

	/* Which INET_DIAG_* attributes were present: bit (1u << type); bit
	 * TS_PRESENT_NSID when the kernel has an nsid for the namespace (0 is
	 * a valid nsid, so the value alone cannot say). */
	uint32_t present;

	/* struct inet_diag_msg */
	uint8_t family;
	uint8_t state;
	uint8_t timer;
	uint8_t retrans;
	uint16_t sport; /* host order */
	uint16_t dport; /* host order */
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t ifindex;
	uint64_t cookie;
	uint32_t expires;
	uint32_t rqueue;
	uint32_t wqueue;
	uint32_t uid;
	uint32_t inode;

	/* INET_DIAG_MEMINFO */
	uint32_t mem_rmem, mem_wmem, mem_fmem, mem_tmem;

	/* INET_DIAG_INFO */
	uint16_t tcp_info_size; /* bytes the kernel sent (may exceed sizeof) */
	struct ts_tcp_info info;

	/* INET_DIAG_CONG */
	char cong[TS_CONG_NAME_MAX]; /* NUL-terminated, truncated if longer */
	uint32_t cong_enum;	     /* enum CongestionAlgorithm */

	uint8_t tos;		       /* INET_DIAG_TOS */
	uint8_t tclass;		       /* INET_DIAG_TCLASS */
	uint8_t shutdown;	       /* INET_DIAG_SHUTDOWN */
	uint8_t v6only;		       /* INET_DIAG_SKV6ONLY */
	uint32_t skmem[TS_SKMEM_VARS]; /* INET_DIAG_SKMEMINFO */

	/* INET_DIAG_VEGASINFO */
	uint32_t vegas_enabled, vegas_rttcnt, vegas_rtt, vegas_minrtt;
	/* INET_DIAG_DCTCPINFO */
	uint32_t dctcp_enabled, dctcp_ce_state, dctcp_alpha, dctcp_ab_ecn,
		dctcp_ab_tot;
	/* INET_DIAG_BBRINFO */
	uint32_t bbr_bw_lo, bbr_bw_hi;
	uint64_t bbr_bw; /* bytes/s: (hi << 32) | lo */
	uint32_t bbr_min_rtt, bbr_pacing_gain, bbr_cwnd_gain;

	uint32_t class_id;  /* INET_DIAG_CLASS_ID */
	uint64_t cgroup_id; /* INET_DIAG_CGROUP_ID */
	uint32_t sockopt;   /* INET_DIAG_SOCKOPT, the two raw flag bytes */
	uint32_t mark;	    /* INET_DIAG_MARK */
};

/* enum CongestionAlgorithm of the reference table. */
enum ts_cong_algo {
	TS_CONG_UNSPECIFIED = 0,
	TS_CONG_CUBIC = 1,
	TS_CONG_DCTCP = 2,
	TS_CONG_VEGAS = 3,
	TS_CONG_PRAGUE = 4,
	TS_CONG_BBR1 = 5,
	TS_CONG_BBR2 = 6,
	TS_CONG_BBR3 = 7,
};

/* Maps a kernel congestion-control name to the reference enum. "bbr" is
 * BBRv1 upstream; "bbr2"/"bbr3" are the out-of-tree names. */
uint32_t ts_cong_from_name(const char *name);

/* "established", "syn-sent", ... (ss's names); "unknown" past the table. */
const char *ts_tcp_state_name(unsigned state);
/* Inverse of ts_tcp_state_name; -EINVAL for an unknown name. */
int ts_tcp_state_from_name(const char *name, unsigned *state_out);

#define TS_TCP_STATE_MAX 13 /* TCP_BOUND_INACTIVE, 6.8+ */
/* Every real TCP state: 1..12, excluding BOUND_INACTIVE (13), whose dump
 * walks the bind table. */
#define TS_TCP_STATES_ALL (((1u << 13) - 1) & ~1u)

#endif
