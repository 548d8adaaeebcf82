/*
 * fuzz_nl_parse.c - libFuzzer harness of the SOCK_DIAG reply parser.
 *
 * The input is one received datagram. It is fed to a parser (no seq/port
 * checks, so the fuzzer reaches every message type), every record is run
 * through the JSON marshaller (kernel strings and sizes end up there), and
 * the same bytes are decoded as a bare inet_diag_msg and as a bare run of
 * attributes. The parser's own invariants are asserted with abort() so a
 * broken contract shows up as a crash, not only a memory error.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/nl_parse.h"
#include "record/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	uint64_t calls;
	int stop_at; /* make the callback fail at this record (0: never) */
};

static int on_record(struct ts_record *r, void *arg)
{
	static char out[JSON_RECORD_MAX];
	struct ctx *c = arg;

	r->hostname = "fuzz";
	r->netns = "";
	/* every parsed record must fit the documented bound */
	if (json_record(out, sizeof(out), r) == 0)
		abort();
	c->calls++;
	return c->stop_at && c->calls == (uint64_t)c->stop_at ? -ECANCELED : 0;
}

static void feed_checked(const uint8_t *data, size_t size, int stop_at)
{
	static struct nl_parser p;
	struct ctx c = { 0, stop_at };

	nl_parser_init(&p, 0, 0, 0, on_record, &c);
	int rc = nl_parser_feed(&p, data, size);
	if (rc < 0 && (p.error != rc || p.done))
		abort();
	if (rc == 1 && (!p.done || p.error))
		abort();
	if (rc == 0 && (p.error || p.done))
		abort();
	if (c.calls != p.records || p.records > p.messages)
		abort();
	if (memchr(p.errmsg, '\0', sizeof(p.errmsg)) == NULL)
		abort();
	/* a finished or failed parser answers the same without parsing */
	if (rc != 0 && nl_parser_feed(&p, data, size) != rc)
		abort();
	if (c.calls != p.records)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ts_record rec;
	uint64_t unknown = 0;

	feed_checked(data, size, 0);
	feed_checked(data, size, 2);

	/* the building blocks on the raw bytes */
	if (nl_decode_msg(data, size, &rec, &unknown) == 0 &&
	    rec.tcp_info_size > 0 && !(rec.present & (1u << INET_DIAG_INFO)))
		abort(); /* a size without INET_DIAG_INFO */
	memset(&rec, 0, sizeof(rec));
	(void)nl_decode_attrs(data, size, &rec, &unknown);
	return 0;
}
