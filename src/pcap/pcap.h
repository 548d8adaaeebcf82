/*
 * pcap.h - pure reader of classic pcap files held in memory.
 *
 * Contract: pcap_reader_init() checks the global header (both byte orders,
 * micro- and nanosecond magics); pcap_next() hands out packets one by one as
 * pointers into the caller's buffer (no copy, no allocation). Every length
 * is checked: a truncated or oversized record yields -EBADMSG, never a read
 * past the buffer. The buffer must outlive the reader and its packets.
 * A capture read in pieces (streaming) goes on in the next buffer with
 * pcap_reader_rebase(); a record cut by the end of one buffer yields
 * -EBADMSG there and is read whole from the next.
 * Thread-safety: a reader is used by one thread at a time.
 */
#ifndef TS_PCAP_H
#define TS_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_LINKTYPE_NETLINK 253
#define PCAP_GLOBAL_HDR	      24u
#define PCAP_REC_HDR	      16u
/* No sane capture has a bigger record (libpcap's own MAXIMUM_SNAPLEN is
 * 256 KiB); a larger caplen means a corrupt or hostile file. */
#define PCAP_MAX_CAPLEN (256u * 1024u)

struct pcap_reader {
	const unsigned char *buf;
	size_t len;
	size_t off;
	int swapped;	   /* file byte order differs from ours */
	int nsec;	   /* timestamps in ns (magic 0xa1b23c4d) */
	uint32_t linktype; /* PCAP_LINKTYPE_NETLINK for sock_diag captures */
	uint32_t snaplen;
};

struct pcap_pkt {
	const unsigned char *data; /* caplen bytes inside the reader's buffer */
	uint32_t caplen;
	uint32_t origlen;
	uint64_t ts_ns;
};

/* 0, or -EBADMSG (not a pcap / truncated header). */
int pcap_reader_init(struct pcap_reader *r, const void *buf, size_t len);

/* Goes on with the same capture in buf, which holds its bytes from a
 * record boundary on (the bytes of a cut record first). */
void pcap_reader_rebase(struct pcap_reader *r, const void *buf, size_t len);

/* 1 and *pkt filled; 0 at the clean end; -EBADMSG for a truncated record.
 * *pkt is untouched unless 1 is returned. */
int pcap_next(struct pcap_reader *r, struct pcap_pkt *pkt);

#endif
