/* fields.c - the field descriptor table (see fields.h for the contract). */
#include "fields.h"

#include <errno.h>
#include <stdio.h>

#include "../util/list.h"

#include <linux/inet_diag.h>

#define OFF(m) ((uint16_t)offsetof(struct ts_record, m))
#define ISZ(m)                                                                 \
	((uint16_t)(offsetof(struct ts_tcp_info, m) +                          \
		    sizeof(((struct ts_tcp_info *)0)->m)))

/* The JSON key text is built here, at compile time, so marshalling a
 * record never measures or assembles a key. */
#define KEY(n)                                                                 \
	.name = n,                                                             \
	.json_key = "\"" n "\":", .json_key_len = sizeof("\"" n "\":") - 1
#define F(n, num, pt, k, grp, m)                                               \
	{                                                                      \
		KEY(n), .proto_num = num, .proto_type = TS_PT_##pt,            \
			.kind = TS_FK_##k, .group = grp, .offset = OFF(m)      \
	}
/* tcp_info member: present when INFO was sent and long enough. */
#define TI(n, num, pt, k, m)                                                   \
	{                                                                      \
		KEY(n), .proto_num = num, .proto_type = TS_PT_##pt,            \
			.kind = TS_FK_##k, .group = INET_DIAG_INFO,            \
			.offset = OFF(info.m), .end = ISZ(m)                   \
	}
#define TB(n, num, m, sh, w)                                                   \
	{                                                                      \
		KEY(n), .proto_num = num, .proto_type = TS_PT_UINT32,          \
			.kind = TS_FK_BITS, .group = INET_DIAG_INFO,           \
			.bit_shift = sh, .bit_width = w,                       \
			.offset = OFF(info.m), .end = ISZ(m)                   \
	}

#define A TS_GROUP_ALWAYS

const struct ts_field ts_fields[] = {
	F("timestamp_ns", 10, INT64, U64, A, timestamp_ns),
	F("hostname", 20, STRING, STRPTR, A, hostname),
	F("netns", 30, STRING, STRPTR, A, netns),
	F("netns_inode", 31, UINT64, U64, A, netns_inode),
	F("nsid", 32, UINT32, U32, TS_PRESENT_NSID, nsid),
	F("container_id", 40, STRING, STRPTR, A, container_id),
	F("container_runtime", 41, STRING, STRPTR, A, container_runtime),
	F("record_counter", 60, UINT64, U64, A, record_counter),
	F("poll_seq", 3001, UINT64, U64, A, poll_seq),
	F("event", 3008, STRING, STRPTR, A, event),

	F("inet_diag_msg_family", 1001, UINT32, U8, A, family),
	F("inet_diag_msg_state", 1002, UINT32, U8, A, state),
	F("inet_diag_msg_state_name", 3002, STRING, STATE_NAME, A, state),
	F("inet_diag_msg_timer", 1003, UINT32, U8, A, timer),
	F("inet_diag_msg_retrans", 1004, UINT32, U8, A, retrans),
	F("inet_diag_msg_socket_source_port", 1005, UINT32, U16, A, sport),
	F("inet_diag_msg_socket_destination_port", 1006, UINT32, U16, A, dport),
	F("inet_diag_msg_socket_source", 1007, BYTES, ADDR, A, src),
	F("inet_diag_msg_socket_destination", 1008, BYTES, ADDR, A, dst),
	F("inet_diag_msg_socket_interface", 1009, UINT32, U32, A, ifindex),
	F("inet_diag_msg_socket_cookie", 1010, UINT64, U64, A, cookie),
	F("inet_diag_msg_expires", 1013, UINT32, U32, A, expires),
	F("inet_diag_msg_rqueue", 1014, UINT32, U32, A, rqueue),
	F("inet_diag_msg_wqueue", 1015, UINT32, U32, A, wqueue),
	F("inet_diag_msg_uid", 1016, UINT32, U32, A, uid),
	F("inet_diag_msg_inode", 1017, UINT32, U32, A, inode),

	F("mem_info_rmem", 1101, UINT32, U32, INET_DIAG_MEMINFO, mem_rmem),
	F("mem_info_wmem", 1102, UINT32, U32, INET_DIAG_MEMINFO, mem_wmem),
	F("mem_info_fmem", 1103, UINT32, U32, INET_DIAG_MEMINFO, mem_fmem),
	F("mem_info_tmem", 1104, UINT32, U32, INET_DIAG_MEMINFO, mem_tmem),

	F("tcp_info_size", 3003, UINT32, U16, INET_DIAG_INFO, tcp_info_size),
	TI("tcp_info_state", 1201, UINT32, U8, state),
	TI("tcp_info_ca_state", 1202, UINT32, U8, ca_state),
	TI("tcp_info_retransmits", 1203, UINT32, U8, retransmits),
	TI("tcp_info_probes", 1204, UINT32, U8, probes),
	TI("tcp_info_backoff", 1205, UINT32, U8, backoff),
	TI("tcp_info_options", 1206, UINT32, U8, options),
	TB("tcp_info_send_scale", 1207, wscale, 0, 4),
	TB("tcp_info_rcv_scale", 1208, wscale, 4, 4),
	TB("tcp_info_delivery_rate_app_limited", 1209, flags7, 0, 1),
	TB("tcp_info_fast_open_client_failed", 1210, flags7, 1, 2),
	TI("tcp_info_rto", 1215, UINT32, U32, rto),
	TI("tcp_info_ato", 1216, UINT32, U32, ato),
	TI("tcp_info_snd_mss", 1217, UINT32, U32, snd_mss),
	TI("tcp_info_rcv_mss", 1218, UINT32, U32, rcv_mss),
	TI("tcp_info_unacked", 1219, UINT32, U32, unacked),
	TI("tcp_info_sacked", 1220, UINT32, U32, sacked),
	TI("tcp_info_lost", 1221, UINT32, U32, lost),
	TI("tcp_info_retrans", 1222, UINT32, U32, retrans),
	TI("tcp_info_fackets", 1223, UINT32, U32, fackets),
	TI("tcp_info_last_data_sent", 1224, UINT32, U32, last_data_sent),
	TI("tcp_info_last_ack_sent", 1225, UINT32, U32, last_ack_sent),
	TI("tcp_info_last_data_recv", 1226, UINT32, U32, last_data_recv),
	TI("tcp_info_last_ack_recv", 1227, UINT32, U32, last_ack_recv),
	TI("tcp_info_pmtu", 1228, UINT32, U32, pmtu),
	TI("tcp_info_rcv_ssthresh", 1229, UINT32, U32, rcv_ssthresh),
	TI("tcp_info_rtt", 1230, UINT32, U32, rtt),
	TI("tcp_info_rtt_var", 1231, UINT32, U32, rttvar),
	TI("tcp_info_snd_ssthresh", 1232, UINT32, U32, snd_ssthresh),
	TI("tcp_info_snd_cwnd", 1233, UINT32, U32, snd_cwnd),
	TI("tcp_info_adv_mss", 1234, UINT32, U32, advmss),
	TI("tcp_info_reordering", 1235, UINT32, U32, reordering),
	TI("tcp_info_rcv_rtt", 1236, UINT32, U32, rcv_rtt),
	TI("tcp_info_rcv_space", 1237, UINT32, U32, rcv_space),
	TI("tcp_info_total_retrans", 1238, UINT32, U32, total_retrans),
	TI("tcp_info_pacing_rate", 1239, UINT64, U64, pacing_rate),
	TI("tcp_info_max_pacing_rate", 1240, UINT64, U64, max_pacing_rate),
	TI("tcp_info_bytes_acked", 1241, UINT64, U64, bytes_acked),
	TI("tcp_info_bytes_received", 1242, UINT64, U64, bytes_received),
	TI("tcp_info_segs_out", 1243, UINT32, U32, segs_out),
	TI("tcp_info_segs_in", 1244, UINT32, U32, segs_in),
	TI("tcp_info_not_sent_bytes", 1245, UINT32, U32, notsent_bytes),
	TI("tcp_info_min_rtt", 1246, UINT32, U32, min_rtt),
	TI("tcp_info_data_segs_in", 1247, UINT32, U32, data_segs_in),
	TI("tcp_info_data_segs_out", 1248, UINT32, U32, data_segs_out),
	TI("tcp_info_delivery_rate", 1249, UINT64, U64, delivery_rate),
	TI("tcp_info_busy_time", 1250, UINT64, U64, busy_time),
	TI("tcp_info_rwnd_limited", 1251, UINT64, U64, rwnd_limited),
	TI("tcp_info_sndbuf_limited", 1252, UINT64, U64, sndbuf_limited),
	TI("tcp_info_delivered", 1253, UINT32, U32, delivered),
	TI("tcp_info_delivered_ce", 1254, UINT32, U32, delivered_ce),
	TI("tcp_info_bytes_sent", 1255, UINT64, U64, bytes_sent),
	TI("tcp_info_bytes_retrans", 1256, UINT64, U64, bytes_retrans),
	TI("tcp_info_dsack_dups", 1257, UINT32, U32, dsack_dups),
	TI("tcp_info_reord_seen", 1258, UINT32, U32, reord_seen),
	TI("tcp_info_rcv_ooopack", 1259, UINT32, U32, rcv_ooopack),
	TI("tcp_info_snd_wnd", 1260, UINT32, U32, snd_wnd),
	TI("tcp_info_rcv_wnd", 1261, UINT32, U32, rcv_wnd),
	TI("tcp_info_rehash", 1262, UINT32, U32, rehash),
	TI("tcp_info_total_rto", 1263, UINT32, U16, total_rto),
	TI("tcp_info_total_rto_recoveries", 1264, UINT32, U16,
	   total_rto_recoveries),
	TI("tcp_info_total_rto_time", 1265, UINT32, U32, total_rto_time),
	TI("tcp_info_received_ce", 3010, UINT32, U32, received_ce),
	TI("tcp_info_delivered_e1_bytes", 3011, UINT32, U32,
	   delivered_e1_bytes),
	TI("tcp_info_delivered_e0_bytes", 3012, UINT32, U32,
	   delivered_e0_bytes),
	TI("tcp_info_delivered_ce_bytes", 3013, UINT32, U32,
	   delivered_ce_bytes),
	TI("tcp_info_received_e1_bytes", 3014, UINT32, U32, received_e1_bytes),
	TI("tcp_info_received_e0_bytes", 3015, UINT32, U32, received_e0_bytes),
	TI("tcp_info_received_ce_bytes", 3016, UINT32, U32, received_ce_bytes),
	TI("tcp_info_accecn_fail_mode", 3017, UINT32, U16, accecn_fail_mode),
	TI("tcp_info_accecn_opt_seen", 3018, UINT32, U16, accecn_opt_seen),

	F("congestion_algorithm_string", 1300, STRING, STR, INET_DIAG_CONG,
	  cong),
	F("congestion_algorithm_enum", 1301, ENUM, U32, INET_DIAG_CONG,
	  cong_enum),
	F("type_of_service", 1401, UINT32, U8, INET_DIAG_TOS, tos),
	F("traffic_class", 1402, UINT32, U8, INET_DIAG_TCLASS, tclass),

	F("sk_mem_info_rmem_alloc", 1501, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[0]),
	F("sk_mem_info_rcv_buf", 1502, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[1]),
	F("sk_mem_info_wmem_alloc", 1503, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[2]),
	F("sk_mem_info_snd_buf", 1504, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[3]),
	F("sk_mem_info_fwd_alloc", 1505, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[4]),
	F("sk_mem_info_wmem_queued", 1506, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[5]),
	F("sk_mem_info_optmem", 1507, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[6]),
	F("sk_mem_info_backlog", 1508, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[7]),
	F("sk_mem_info_drops", 1509, UINT32, U32, INET_DIAG_SKMEMINFO,
	  skmem[8]),
	F("shutdown_state", 1600, UINT32, U8, INET_DIAG_SHUTDOWN, shutdown),

	F("vegas_info_enabled", 1701, UINT32, U32, INET_DIAG_VEGASINFO,
	  vegas_enabled),
	F("vegas_info_rtt_cnt", 1702, UINT32, U32, INET_DIAG_VEGASINFO,
	  vegas_rttcnt),
	F("vegas_info_rtt", 1703, UINT32, U32, INET_DIAG_VEGASINFO, vegas_rtt),
	F("vegas_info_min_rtt", 1704, UINT32, U32, INET_DIAG_VEGASINFO,
	  vegas_minrtt),
	F("dctcp_info_enabled", 1801, UINT32, U32, INET_DIAG_DCTCPINFO,
	  dctcp_enabled),
	F("dctcp_info_ce_state", 1802, UINT32, U32, INET_DIAG_DCTCPINFO,
	  dctcp_ce_state),
	F("dctcp_info_alpha", 1803, UINT32, U32, INET_DIAG_DCTCPINFO,
	  dctcp_alpha),
	F("dctcp_info_ab_ecn", 1804, UINT32, U32, INET_DIAG_DCTCPINFO,
	  dctcp_ab_ecn),
	F("dctcp_info_ab_tot", 1805, UINT32, U32, INET_DIAG_DCTCPINFO,
	  dctcp_ab_tot),
	F("bbr_info_bw_lo", 1901, UINT32, U32, INET_DIAG_BBRINFO, bbr_bw_lo),
	F("bbr_info_bw_hi", 1902, UINT32, U32, INET_DIAG_BBRINFO, bbr_bw_hi),
	F("bbr_info_bw", 3006, UINT64, U64, INET_DIAG_BBRINFO, bbr_bw),
	F("bbr_info_min_rtt", 1903, UINT32, U32, INET_DIAG_BBRINFO,
	  bbr_min_rtt),
	F("bbr_info_pacing_gain", 1904, UINT32, U32, INET_DIAG_BBRINFO,
	  bbr_pacing_gain),
	F("bbr_info_cwnd_gain", 1905, UINT32, U32, INET_DIAG_BBRINFO,
	  bbr_cwnd_gain),

	F("class_id", 2001, UINT32, U32, INET_DIAG_CLASS_ID, class_id),
	F("sock_opt", 2002, UINT32, U32, INET_DIAG_SOCKOPT, sockopt),
	F("c_group", 2103, UINT64, U64, INET_DIAG_CGROUP_ID, cgroup_id),
	F("cgroup_path", 3007, STRING, STRPTR, INET_DIAG_CGROUP_ID,
	  cgroup_path),
	F("mark", 3004, UINT32, U32, INET_DIAG_MARK, mark),
	F("skv6only", 3005, UINT32, U8, INET_DIAG_SKV6ONLY, v6only),
};

const size_t ts_nfields = sizeof(ts_fields) / sizeof(ts_fields[0]);
/* proto.c compiles the table into plan[TS_FIELDS_MAX]: a table that grew
 * past it would lose fields silently, so it fails the build instead */
_Static_assert(sizeof(ts_fields) / sizeof(ts_fields[0]) <= TS_FIELDS_MAX,
	       "ts_fields[] outgrew TS_FIELDS_MAX (proto.c's plan)");

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fields.c: ts_field_access's shift-and-mask loads assume little endian"
#endif

void ts_field_access_init(struct ts_field_access *a, const struct ts_field *f)
{
	static const uint64_t width[] = {
		[TS_FK_U8] = 0xff,
		[TS_FK_U16] = 0xffff,
		[TS_FK_U32] = 0xffffffffull,
		[TS_FK_U64] = ~0ull,
	};
	const size_t last = sizeof(struct ts_record) - 8;

	a->mask = f->group == TS_GROUP_ALWAYS ? 0 : 1u << f->group;
	a->end = f->end;
	a->offset = f->offset;
	a->kind = f->kind;
	/* 8 bytes ending inside the record, shifted down to the member */
	a->load = (uint16_t)(f->offset <= last ? f->offset : last);
	a->shift = (uint8_t)(8 * (f->offset - a->load) +
			     (f->kind == TS_FK_BITS ? f->bit_shift : 0));
	a->vmask = f->kind == TS_FK_BITS  ? (1ull << f->bit_width) - 1
		   : f->kind <= TS_FK_U64 ? width[f->kind]
					  : 0;
}

size_t ts_field_runs(const void *entries, size_t stride, size_t n,
		     struct ts_field_run *runs)
{
	size_t nr = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ts_field_access *a =
			(const void *)((const char *)entries + i * stride);
		struct ts_field_run *last = nr ? &runs[nr - 1] : NULL;
		int is_int = a->kind <= TS_FK_BITS;

		if (last && last->mask == a->mask && last->end <= a->end &&
		    last->ints == is_int) {
			last->n++;
			last->end = a->end;
			continue;
		}
		runs[nr++] = (struct ts_field_run){ .mask = a->mask,
						    .first = (uint16_t)i,
						    .n = 1,
						    .end = a->end,
						    .ints = (uint8_t)is_int };
	}
	return nr;
}

/* ---- field selection ---------------------------------------------------- */

static const struct {
	const char *name, *prefix;
} groups[] = {
	{ "tcp_info", "tcp_info_" },
	{ "skmem", "sk_mem_info_" },
	{ "meminfo", "mem_info_" },
	{ "bbr", "bbr_info_" },
	{ "dctcp", "dctcp_info_" },
	{ "vegas", "vegas_info_" },
	{ "socket", "inet_diag_msg_socket_" },
	{ "congestion", "congestion_algorithm_" },
};

/* Edit distance, for the names an unknown one is closest to. */
static unsigned distance(const char *a, size_t la, const char *b)
{
	unsigned row[64], lb = (unsigned)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0]++, cur;
		for (unsigned j = 1; j <= lb; j++) {
			cur = row[j];
			unsigned sub = prev + (a[i - 1] != b[j - 1]);
			unsigned del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins)
					   : (del < ins ? del : ins);
			prev = cur;
		}
	}
	return row[lb];
}

static void suggest(const char *item, size_t n, char *err, size_t errlen)
{
	const char *best[3] = { NULL, NULL, NULL };
	unsigned bd[3] = { 99, 99, 99 };
	size_t len;

	for (size_t i = 0; i < ts_nfields + sizeof(groups) / sizeof(groups[0]);
	     i++) {
		const char *name = i < ts_nfields ? ts_fields[i].name
						  : groups[i - ts_nfields].name;
		unsigned d = distance(item, n, name);
		for (int k = 0; k < 3; k++)
			if (d < bd[k]) {
				for (int m = 2; m > k; m--) {
					bd[m] = bd[m - 1];
					best[m] = best[m - 1];
				}
				bd[k] = d;
				best[k] = name;
				break;
			}
	}
	len = (size_t)snprintf(err, errlen, "unknown field '%.*s'", (int)n,
			       item);
	for (int k = 0; k < 3 && best[k] && len < errlen; k++)
		len += (size_t)snprintf(err + len, errlen - len, "%s%s",
					k ? ", " : " (closest: ", best[k]);
	if (best[0] && len < errlen)
		snprintf(err + len, errlen - len, ")");
}

static int add_field(const char *item, size_t n, struct ts_field_set *s)
{
	int found = 0;

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		if (strlen(groups[g].name) == n &&
		    strncmp(item, groups[g].name, n) == 0) {
			size_t pl = strlen(groups[g].prefix);
			for (size_t i = 0; i < ts_nfields; i++)
				if (strncmp(ts_fields[i].name, groups[g].prefix,
					    pl) == 0) {
					s->w[i >> 6] |= 1ull << (i & 63);
					found = 1;
				}
			return found ? 0 : -EINVAL;
		}
	for (size_t i = 0; i < ts_nfields; i++)
		if (strlen(ts_fields[i].name) == n &&
		    strncmp(item, ts_fields[i].name, n) == 0) {
			s->w[i >> 6] |= 1ull << (i & 63);
			return 0;
		}
	return -EINVAL;
}

struct parse_ctx {
	struct ts_field_set set;
	char *err;
	size_t errlen;
};

static int add_item(const char *item, size_t n, void *arg)
{
	struct parse_ctx *c = arg;

	if (add_field(item, n, &c->set) < 0) {
		suggest(item, n, c->err, c->errlen);
		return -ENOENT;
	}
	return 0;
}

int ts_field_set_parse(const char *list, struct ts_field_set *out, char *err,
		       size_t errlen)
{
	struct parse_ctx c = { .err = err, .errlen = errlen };
	int rc = ts_list_each(list, add_item, &c, NULL);

	if (rc == -EINVAL)
		snprintf(err, errlen, "an empty field name");
	if (rc < 0)
		return -EINVAL;
	*out = c.set;
	return 0;
}
