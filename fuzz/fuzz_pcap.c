/*
 * fuzz_pcap.c - libFuzzer harness of the pcap reader and the replay of
 * SOCK_DIAG dumps recorded in a netlink pcap.
 *
 * The input is a whole pcap file. pcap_next() must hand out packets that
 * lie inside the buffer, and replay_buffer() must end with counters that
 * agree with each other; every replayed record also goes through the JSON
 * marshaller. Broken invariants abort() so libFuzzer reports them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "pcap/pcap.h"
#include "pcap/replay.h"
#include "record/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_record(struct ts_record *r, void *arg)
{
	static char out[JSON_RECORD_MAX];
	uint64_t *n = arg;

	if (json_record(out, sizeof(out), r) == 0 || r->poll_seq == 0)
		abort();
	(*n)++;
	return 0;
}

static void walk(const uint8_t *data, size_t size)
{
	struct pcap_reader r;
	struct pcap_pkt pkt;
	int rc;

	if (pcap_reader_init(&r, data, size) < 0)
		return;
	while ((rc = pcap_next(&r, &pkt)) == 1) {
		if (pkt.data < data || pkt.data + pkt.caplen > data + size)
			abort();
		if (r.off > size)
			abort();
	}
	if (rc != 0 && rc != -EBADMSG)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct replay_stats st;
	uint64_t n = 0;

	walk(data, size);
	if (replay_buffer(data, size, on_record, &n, &st) == 0) {
		if (n != st.records || st.datagrams > st.packets ||
		    st.requests > st.packets || st.dumps_done > st.requests ||
		    st.dump_intr > st.dumps_done)
			abort();
	}
	return 0;
}
