/*
 * pcap.c - pure reader of classic pcap files held in memory (see pcap.h).
 *
 * Contract: no I/O, no allocation. Both byte orders and both timestamp
 * resolutions (0xa1b2c3d4 us, 0xa1b23c4d ns) are accepted; every length is
 * checked against the bytes that remain before anything is read, so any
 * truncation or an absurd caplen yields -EBADMSG. Packets point into the
 * caller's buffer. Output parameters are untouched on failure.
 */
#include "pcap.h"

#include <errno.h>
#include <string.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du

static uint32_t rd32(const unsigned char *p, int swapped)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return swapped ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(const unsigned char *p, int swapped)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return swapped ? __builtin_bswap16(v) : v;
}

int pcap_reader_init(struct pcap_reader *r, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	struct pcap_reader t;
	uint32_t magic;

	if (!b || len < PCAP_GLOBAL_HDR)
		return -EBADMSG;
	memset(&t, 0, sizeof(t));
	memcpy(&magic, b, sizeof(magic));
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		t.swapped = 0;
	} else if (__builtin_bswap32(magic) == PCAP_MAGIC_US ||
		   __builtin_bswap32(magic) == PCAP_MAGIC_NS) {
		t.swapped = 1;
		magic = __builtin_bswap32(magic);
	} else {
		return -EBADMSG;
	}
	t.nsec = magic == PCAP_MAGIC_NS;
	/* Every pcap writer since 1998 writes major version 2; anything
	 * else is a different format that merely shares the magic. */
	if (rd16(b + 4, t.swapped) != 2)
		return -EBADMSG;
	t.snaplen = rd32(b + 16, t.swapped);
	/* The upper bits of the link-type word carry FCS flags (pcap spec). */
	t.linktype = rd32(b + 20, t.swapped) & 0xffffu;
	t.buf = b;
	t.len = len;
	t.off = PCAP_GLOBAL_HDR;
	*r = t;
	return 0;
}

void pcap_reader_rebase(struct pcap_reader *r, const void *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->off = 0;
}

int pcap_next(struct pcap_reader *r, struct pcap_pkt *pkt)
{
	const unsigned char *h;
	size_t left;
	uint32_t sec, frac, caplen, origlen;

	if (r->off > r->len)
		return -EBADMSG;
	left = r->len - r->off;
	if (left == 0)
		return 0;
	if (left < PCAP_REC_HDR)
		return -EBADMSG;
	h = r->buf + r->off;
	sec = rd32(h, r->swapped);
	frac = rd32(h + 4, r->swapped);
	caplen = rd32(h + 8, r->swapped);
	origlen = rd32(h + 12, r->swapped);
	if (caplen > PCAP_MAX_CAPLEN || caplen > left - PCAP_REC_HDR)
		return -EBADMSG;

	pkt->data = h + PCAP_REC_HDR;
	pkt->caplen = caplen;
	pkt->origlen = origlen;
	pkt->ts_ns = (uint64_t)sec * 1000000000u +
		     (uint64_t)frac * (r->nsec ? 1u : 1000u);
	r->off += PCAP_REC_HDR + caplen;
	return 1;
}
