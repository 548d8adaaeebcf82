/*
 * test_filter - the --filter compiler against a truth table: every
 * expression is compiled, then run (as the kernel runs it) on sockets
 * whose answer is known; the bytecode passes the kernel's audit rules
 * (every op on the yes-chain, jumps forward, 4-byte aligned, within
 * len + 4); bad expressions name their token and column.
 */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <string.h>

#include "check.h"
#include "netlink/nl_filter.h"

static struct nl_filter_sock sock(int af, const char *src, unsigned sport,
				  const char *dst, unsigned dport)
{
	struct nl_filter_sock s = { .family = (uint8_t)af,
				    .sport = (uint16_t)sport,
				    .dport = (uint16_t)dport };
	inet_pton(af, src, s.src);
	inet_pton(af, dst, s.dst);
	return s;
}

static void expect(const char *expr, const struct nl_filter_sock *s, int want)
{
	uint8_t bc[NL_FILTER_MAX];
	size_t len = 0;
	char err[200] = "";

	if (nl_filter_compile(expr, bc, sizeof(bc), &len, err, sizeof(err))) {
		fprintf(stderr, "'%s': %s\n", expr, err);
		check_failures++;
		return;
	}
	CHECK(nl_filter_valid(bc, len));
	if (nl_filter_run(bc, len, s) != want) {
		fprintf(stderr, "'%s' on %u->%u: expected %d\n", expr, s->sport,
			s->dport, want);
		check_failures++;
	}
}

static void bad(const char *expr, const char *word)
{
	uint8_t bc[NL_FILTER_MAX] = { 0xa5 };
	size_t len = 7;
	char err[200] = "";

	CHECK(nl_filter_compile(expr, bc, sizeof(bc), &len, err, sizeof(err)) !=
	      0);
	CHECK(len == 7 && bc[0] == 0xa5);
	if (!strstr(err, word)) {
		fprintf(stderr, "'%s': '%s' lacks '%s'\n", expr, err, word);
		check_failures++;
	}
}

int main(void)
{
	struct nl_filter_sock a =
		sock(AF_INET, "127.0.0.1", 40000, "127.0.0.1", 443);
	struct nl_filter_sock b =
		sock(AF_INET, "10.1.2.3", 22, "192.168.0.9", 51000);
	struct nl_filter_sock c = sock(AF_INET6, "::1", 8443, "::1", 60000);
	struct nl_filter_sock m =
		sock(AF_INET6, "::ffff:10.9.8.7", 5000, "::1", 80);

	expect("dport = :443", &a, 1);
	expect("dport = 443", &a, 1);
	expect("dport = :443", &b, 0);
	expect("dport != :443", &a, 0);
	expect("dport != :443", &b, 1);
	expect("sport < :40000", &a, 0);
	expect("sport <= :40000", &a, 1);
	expect("sport > :39999", &a, 1);
	expect("sport > :40000", &a, 0);
	expect("sport gt :65535", &a, 0);
	expect("sport lt :0", &a, 0);
	expect("sport ge :0", &a, 1);
	expect("src 10.0.0.0/8", &b, 1);
	expect("src 10.0.0.0/8", &a, 0);
	expect("src 10.1.2.0/23", &b, 1);
	expect("src 10.1.4.0/23", &b, 0);
	expect("dst 192.168.0.9:51000", &b, 1);
	expect("dst 192.168.0.9:51001", &b, 0);
	expect("src *:22", &b, 1);
	expect("src :22", &b, 1);
	expect("src [::1]:8443", &c, 1);
	expect("src ::1/128", &c, 1);
	expect("src 127.0.0.1", &c, 0);
	/* an IPv4 condition matches an IPv4-mapped address, as the kernel */
	expect("src 10.0.0.0/8", &m, 1);
	expect("dport = :443 or sport = :22", &a, 1);
	expect("dport = :443 or sport = :22", &b, 1);
	expect("dport = :443 or sport = :22", &c, 0);
	expect("dport = :443 and sport = :22", &a, 0);
	expect("not dport = :443", &a, 0);
	expect("! ( dport = :443 or dport = :51000 )", &c, 1);
	expect("! ( dport = :443 or dport = :51000 )", &b, 0);
	expect("src 127.0.0.1 dport = :443", &a, 1); /* juxtaposition */
	expect("(sport = :1 or sport = :2 or sport = :22) and "
	       "not (dst 10.0.0.0/8 or dst 192.168.0.0/16)",
	       &b, 0);
	expect("(sport = :1 or sport = :2 or sport = :22) and "
	       "not (dst 10.0.0.0/8 or dst 172.16.0.0/12)",
	       &b, 1);
	expect("not not not dport = :443", &a, 0);
	expect("sport = :8443 || sport = :22 , sport = :5000", &m, 1);

	/* the audit itself refuses what the kernel would: a no-jump into
	 * a port op's argument, an unaligned jump, a jump past len + 4 */
	struct inet_diag_bc_op into[3] = {
		{ INET_DIAG_BC_JMP, 4, 8 },
		{ INET_DIAG_BC_S_GE, 8, 12 },
		{ 0, 0, 80 },
	};
	CHECK(!nl_filter_valid((const uint8_t *)into, sizeof(into)));
	into[0].no = 6;
	CHECK(!nl_filter_valid((const uint8_t *)into, sizeof(into)));
	into[0].no = 20;
	CHECK(!nl_filter_valid((const uint8_t *)into, sizeof(into)));
	into[0].no = 16; /* the end + 4: reject, a valid jump */
	CHECK(nl_filter_valid((const uint8_t *)into, sizeof(into)));
	bad("dport = :x", "':x' (column 9)");
	bad("dport", "at the end");
	bad("dport :443", "comparison");
	bad("src 300.1.1.1", "300.1.1.1");
	bad("src [::1", "[::1");
	bad("( dport = :1", "expected ')'");
	bad("dport = :1 )", "')' (column 12)");
	bad("", "empty");
	bad("   ", "empty");
	bad("and", "'and'");
	/* nesting and length are bounded */
	char deep[400];
	memset(deep, '(', 100);
	strcpy(deep + 100, "dport = :1");
	bad(deep, "too deep");
	char longx[8192] = "";
	for (int i = 0; i < 200; i++)
		strcat(longx, i ? " or dport = :1" : "dport = :1");
	bad(longx, "too");
	return check_exit();
}
