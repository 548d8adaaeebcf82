/*
 * test_json.c - the JSON-lines marshaller: output is strict JSON (checked
 * by an independent validator), addresses are canonical text, strings are
 * escaped, absent data is omitted, and a short buffer is never overrun.
 */
#include <string.h>

#include "check.h"
#include "json_check.h"
#include "record/fields.h"
#include "record/json.h"
#include "unit_util.h"

static struct jc_obj obj; /* large: keep it off the stack */
static char out[JSON_RECORD_MAX];

/* Marshals and validates; returns the length (0 on any failure). */
static size_t emit(const struct ts_record *r, int line)
{
	size_t n = json_record(out, sizeof(out), r);
	if (!n) {
		fprintf(stderr, "line %d: json_record returned 0\n", line);
		check_failures++;
		return 0;
	}
	if (jc_line(out, n, &obj)) {
		fprintf(stderr, "line %d: invalid JSON: %s at %zu: %.*s\n",
			line, obj.err, obj.errpos, (int)n, out);
		check_failures++;
		return 0;
	}
	return n;
}

#define EMIT(r)	     emit((r), __LINE__)
#define IS(key, raw) CHECK(jc_is(&obj, (key), (raw)))
#define HAS(key)     CHECK(jc_has(&obj, (key)))
#define LACKS(key)   CHECK(!jc_has(&obj, (key)))

static void test_minimal(void)
{
	struct ts_record r;

	memset(&r, 0, sizeof(r));
	EMIT(&r);
	IS("timestamp_ns", "0");
	IS("inet_diag_msg_state_name", "\"unknown\"");
	IS("inet_diag_msg_socket_source", "\"0.0.0.0\"");
	LACKS("hostname");
	LACKS("netns");
	LACKS("tcp_info_size");
	LACKS("tcp_info_state");
	LACKS("mem_info_rmem");
	LACKS("congestion_algorithm_string");
	LACKS("sk_mem_info_rmem_alloc");
	LACKS("bbr_info_bw");
	LACKS("mark");

	r.hostname = "h1";
	r.netns = "";
	r.state = 1;
	r.sport = 65535;
	r.cookie = UINT64_MAX;
	r.timestamp_ns = 1725474762143766565ull;
	EMIT(&r);
	IS("hostname", "\"h1\"");
	IS("netns", "\"\"");
	IS("inet_diag_msg_state", "1");
	IS("inet_diag_msg_state_name", "\"established\"");
	IS("inet_diag_msg_socket_source_port", "65535");
	IS("inet_diag_msg_socket_cookie", "18446744073709551615");
	IS("timestamp_ns", "1725474762143766565");
}

static void check_addr(int family, const char *in, const char *want)
{
	struct ts_record r;
	char q[64];

	memset(&r, 0, sizeof(r));
	r.family = (uint8_t)family;
	/* bytes past an IPv4 address must not leak into its text */
	memset(r.src, 0xee, sizeof(r.src));
	CHECK_EQ(inet_pton(family, in, r.src), 1);
	memcpy(r.dst, r.src, sizeof(r.dst));
	snprintf(q, sizeof(q), "\"%s\"", want);
	EMIT(&r);
	IS("inet_diag_msg_socket_source", q);
	IS("inet_diag_msg_socket_destination", q);
}

static void test_addresses(void)
{
	check_addr(AF_INET, "127.0.0.1", "127.0.0.1");
	check_addr(AF_INET, "10.255.0.254", "10.255.0.254");
	check_addr(AF_INET, "0.0.0.0", "0.0.0.0");
	/* every octet width (1, 2, 3 digits) and the extremes */
	check_addr(AF_INET, "255.255.255.255", "255.255.255.255");
	check_addr(AF_INET, "1.22.100.9", "1.22.100.9");
	check_addr(AF_INET, "99.100.199.200", "99.100.199.200");
	/* RFC 5952: lower case, longest zero run (first on a tie) as "::",
	 * never for a single zero field, mixed notation for v4-mapped */
	check_addr(AF_INET6, "::1", "::1");
	check_addr(AF_INET6, "::", "::");
	check_addr(AF_INET6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	check_addr(AF_INET6, "::ffff:127.0.0.1", "::ffff:127.0.0.1");
	check_addr(AF_INET6, "::FFFF:7f00:1", "::ffff:127.0.0.1");
	check_addr(AF_INET6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	check_addr(AF_INET6, "2001:0:0:1:0:0:0:1", "2001:0:0:1::1");
	check_addr(AF_INET6, "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	check_addr(AF_INET6, "2001:db8:abcd:0:0:0:0:0", "2001:db8:abcd::");
	check_addr(AF_INET6, "fe80:0000:0000:0000:01ff:fe23:4567:890a",
		   "fe80::1ff:fe23:4567:890a");
	check_addr(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_escapes(void)
{
	struct ts_record r;

	memset(&r, 0, sizeof(r));
	r.present = 1u << INET_DIAG_CONG;
	memcpy(r.cong, "a\"b\\c\x01\x1f\x7f\xff/", 11);
	r.hostname = "tab\there\nnl \xc3\xa9 \x80";
	r.netns = "\"\\\"";
	EMIT(&r);
	/* bytes >= 0x7f are escaped one by one: kernel strings need not
	 * be UTF-8, and escaping keeps the line valid whatever they hold */
	IS("congestion_algorithm_string",
	   "\"a\\\"b\\\\c\\u0001\\u001f\\u007f\\u00ff/\"");
	IS("hostname", "\"tab\\u0009here\\u000anl \\u00c3\\u00a9 \\u0080\"");
	IS("netns", "\"\\\"\\\\\\\"\"");

	/* a name that fills cong[] entirely (15 chars + NUL) */
	memcpy(r.cong, "0123456789abcde", 16);
	EMIT(&r);
	IS("congestion_algorithm_string", "\"0123456789abcde\"");
	IS("congestion_algorithm_enum", "0");
}

static void test_absent_groups(void)
{
	struct ts_record r;

	memset(&r, 0, sizeof(r));
	r.present = 1u << INET_DIAG_MEMINFO;
	r.mem_fmem = 4096;
	EMIT(&r);
	IS("mem_info_fmem", "4096");
	IS("mem_info_rmem", "0"); /* present and zero is not absent */
	LACKS("tcp_info_size");
	LACKS("congestion_algorithm_enum");
	LACKS("sk_mem_info_snd_buf");
	LACKS("type_of_service");
	LACKS("traffic_class");
	LACKS("shutdown_state");
	LACKS("vegas_info_rtt");
	LACKS("dctcp_info_alpha");
	LACKS("bbr_info_bw_lo");
	LACKS("class_id");
	LACKS("sock_opt");
	LACKS("c_group");
	LACKS("skv6only");

	r.present = (1u << INET_DIAG_TOS) | (1u << INET_DIAG_BBRINFO) |
		    (1u << INET_DIAG_SKMEMINFO);
	r.tos = 0x2e;
	r.bbr_bw_lo = 1;
	r.bbr_bw_hi = 2;
	r.bbr_bw = (2ull << 32) | 1;
	r.skmem[8] = 7;
	EMIT(&r);
	LACKS("mem_info_fmem");
	IS("type_of_service", "46");
	IS("bbr_info_bw", "8589934593");
	IS("bbr_info_bw_hi", "2");
	IS("sk_mem_info_drops", "7");
	LACKS("traffic_class");
}

static void check_info_size(unsigned size, const char *last, const char *next)
{
	struct ts_record r;
	char sz[16];

	memset(&r, 0, sizeof(r));
	r.present = 1u << INET_DIAG_INFO;
	r.tcp_info_size = (uint16_t)size;
	snprintf(sz, sizeof(sz), "%u", size);
	EMIT(&r);
	IS("tcp_info_size", sz);
	if (last)
		HAS(last);
	if (next)
		LACKS(next);
}

static void test_tcp_info_size(void)
{
	check_info_size(0, NULL, "tcp_info_state");
	check_info_size(1, "tcp_info_state", "tcp_info_ca_state");
	check_info_size(8, "tcp_info_fast_open_client_failed", "tcp_info_rto");
	check_info_size(104, "tcp_info_total_retrans", "tcp_info_pacing_rate");
	check_info_size(223, "tcp_info_dsack_dups", "tcp_info_reord_seen");
	check_info_size(224, "tcp_info_reord_seen", "tcp_info_rcv_ooopack");
	check_info_size(224, "tcp_info_reord_seen", "tcp_info_snd_wnd");
	check_info_size(232, "tcp_info_snd_wnd", "tcp_info_rcv_wnd");
	check_info_size(240, "tcp_info_rehash", "tcp_info_total_rto");
	check_info_size(248, "tcp_info_total_rto_time", "tcp_info_received_ce");
	check_info_size(280, "tcp_info_accecn_opt_seen", NULL);
	check_info_size(65535, "tcp_info_accecn_opt_seen", NULL);
}

static void check_bits(uint8_t wscale, uint8_t flags7, const char *snd,
		       const char *rcv, const char *app, const char *tfo)
{
	struct ts_record r;

	memset(&r, 0, sizeof(r));
	r.present = 1u << INET_DIAG_INFO;
	r.tcp_info_size = 248;
	r.info.wscale = wscale;
	r.info.flags7 = flags7;
	r.info.options = 0x1f;
	EMIT(&r);
	IS("tcp_info_send_scale", snd);
	IS("tcp_info_rcv_scale", rcv);
	IS("tcp_info_delivery_rate_app_limited", app);
	IS("tcp_info_fast_open_client_failed", tfo);
	IS("tcp_info_options", "31");
}

static void test_bitfields(void)
{
	check_bits(0x97, 0x07, "7", "9", "1", "3");
	check_bits(0x99, 0x01, "9", "9", "1", "0");
	check_bits(0x0e, 0x06, "14", "0", "0", "3");
	check_bits(0xf0, 0x02, "0", "15", "0", "1");
	check_bits(0x00, 0xf8, "0", "0", "0", "0");
}

/*
 * Every field as long as it can be: the worst case for the buffer. String
 * pointers other than hostname/netns (container facts) get 64 hex digits,
 * the length of a container id; runtime names are shorter.
 */
static void full_record(struct ts_record *r, const char *host,
			const char *netns)
{
	static char other[65];

	memset(other, 'f', 64);
	memset(r, 0xff, sizeof(*r));
	for (size_t i = 0; i < ts_nfields; i++) {
		const char *s = other;
		if (ts_fields[i].kind != TS_FK_STRPTR)
			continue;
		if (!strcmp(ts_fields[i].name, "hostname"))
			s = host;
		else if (!strcmp(ts_fields[i].name, "netns"))
			s = netns;
		memcpy((char *)r + ts_fields[i].offset, &s, sizeof(s));
	}
	r->family = AF_INET6;
	r->state = 13;
	r->tcp_info_size = UINT16_MAX;
	memset(r->cong, 0x01, sizeof(r->cong) - 1); /* 6 bytes out each */
	r->cong[sizeof(r->cong) - 1] = '\0';
}

static void test_full_record(void)
{
	static char host[256], netns[256];
	struct ts_record r;

	memset(host, 0x01, 255);
	memset(netns, 0xff, 255);
	full_record(&r, host, netns);
	size_t n = EMIT(&r);
	printf("worst-case record: %zu bytes of %d\n", n, JSON_RECORD_MAX);
	CHECK(n > 0 && n <= JSON_RECORD_MAX);
	/* the fully populated record carries every field of the table */
	CHECK_EQ(obj.n, ts_nfields);
	for (size_t i = 0; i < ts_nfields; i++)
		if (!jc_has(&obj, ts_fields[i].name)) {
			fprintf(stderr, "missing %s\n", ts_fields[i].name);
			check_failures++;
		}
	IS("inet_diag_msg_state_name", "\"bound-inactive\"");
	IS("inet_diag_msg_socket_source",
	   "\"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\"");
	IS("tcp_info_pacing_rate", "18446744073709551615");
	IS("tcp_info_total_rto", "65535");
	IS("tcp_info_state", "255");

	/* long printable names too */
	memset(host, 'h', 255);
	memset(netns, 'n', 255);
	n = EMIT(&r);
	CHECK(n > 0);
}

/* Every cap below the needed size returns 0 and writes nothing past cap. */
static void test_small_caps(void)
{
	static char host[256], netns[256];
	static char full[JSON_RECORD_MAX];
	struct ts_record r;
	enum { CANARY = 64 };

	memset(host, 'x', 255);
	memset(netns, 0x02, 40);
	full_record(&r, host, netns);
	size_t len = json_record(full, sizeof(full), &r);
	CHECK(len > 0);
	for (size_t cap = 0; cap < len; cap++) {
		/* exact-size block: ASan traps any write past cap */
		char *exact = malloc(cap ? cap : 1);
		char *canary = malloc(cap + CANARY);
		memset(canary, 0xa5, cap + CANARY);
		size_t a = json_record(exact, cap, &r);
		size_t b = json_record(canary, cap, &r);
		if (a || b) {
			fprintf(stderr, "cap %zu: returned %zu/%zu\n", cap, a,
				b);
			check_failures++;
		}
		for (size_t i = cap; i < cap + CANARY; i++)
			if ((unsigned char)canary[i] != 0xa5) {
				fprintf(stderr, "cap %zu: wrote byte %zu\n",
					cap, i);
				check_failures++;
				break;
			}
		free(exact);
		free(canary);
	}
	/* exactly enough */
	char *exact = malloc(len);
	CHECK_EQ(json_record(exact, len, &r), len);
	CHECK(memcmp(exact, full, len) == 0);
	free(exact);
}

int main(void)
{
	test_minimal();
	test_addresses();
	test_escapes();
	test_absent_groups();
	test_tcp_info_size();
	test_bitfields();
	test_full_record();
	test_small_caps();
	return check_exit();
}
