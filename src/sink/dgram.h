/*
 * dgram.h - what the datagram destinations (udp, unixgram) share: one
 * connected non-blocking socket, a batch whose payloads are datagrams, and
 * sendmmsg(2) with a bounded wait.
 *
 * Contract: dgram_init() sets up the batch and the mmsghdr table (owned,
 * freed by dgram_release(), which accepts NULL, a zeroed struct (it closes
 * no fd: fd 0 of a zeroed struct is not the destination's) and a struct
 * released already). dgram_emit() is the batch's emit(): it sends every
 * payload with MSG_DONTWAIT; on EAGAIN it waits for POLLOUT, at most
 * wait_ms per poll in total (through ts_wait_fd(): a stop request cuts the
 * wait, the exit deadline clips it), then drops (and counts) what is left.
 * A send error drops that datagram only, except a lost peer (unixgram),
 * which drops the rest and asks the owner to reconnect (fd set to -1).
 * With recverr (udp), the ICMP reports queued on the socket are read after
 * a round of sends that was refused or stopped short (and by the owner at
 * every flush), each counted as an error; a send refused with the
 * error of a report just read (the kernel hands a pending ICMP error to the
 * next send) is tried again, since the report is the error and belongs to
 * an earlier datagram. dgram_poll_done() resets the per-poll budget.
 * When the sink has a ring (uring engine), the same datagrams go as
 * unlinked SENDMSG SQEs with MSG_DONTWAIT, one io_uring_enter per emit;
 * each gets its own result, so the refused ones are sent again after
 * POLLOUT while the others are delivered.
 * Thread-safety: one thread at a time.
 */
#ifndef TS_DGRAM_H
#define TS_DGRAM_H

#include <stdint.h>
#include <sys/socket.h>

#include "batch.h"
#include "sink.h"

#define DGRAM_MAXPL    64
#define DGRAM_ARENA    (1024 * 1024)
#define DGRAM_MAX_ROWS 1000
#define DGRAM_WAIT_MS  100
#define DGRAM_ERRQ_MAX 128 /* ICMP reports read per round */

struct dgram {
	struct sink *s;
	int ready;	      /* set by dgram_init(): fd is ours to close */
	int fd;		      /* -1: not connected (unixgram) */
	uint32_t wait_ms;     /* per-poll budget for POLLOUT waits */
	uint64_t waited_ns;   /* spent in this poll */
	int last_err;	      /* errno of the last failure, for the log */
	uint64_t lost_peer;   /* times the peer went away */
	int recverr;	      /* udp: ICMP errors are queued (IP_RECVERR) */
	uint64_t icmp_errors; /* of st.errors: ICMP reports read */
	unsigned flags;	      /* DGRAM_F_* */
	struct batch b;
	struct mmsghdr *msgs;
	struct iovec *iov;
	int *res; /* per-datagram results of a send through the ring */
};

enum {
	/* the peer is a local socket that can go away and come back
	 * (unixgram): ECONNREFUSED/ENOENT mean it is gone, not one refused
	 * datagram (as an ICMP error on UDP is) */
	DGRAM_F_LOCAL_PEER = 1,
};

int dgram_init(struct dgram *d, struct sink *s, uint32_t max_bytes,
	       uint32_t max_rows, int32_t wait_ms, unsigned flags);
void dgram_emit(void *ctx, const struct batch_payload *p, unsigned n);
void dgram_poll_done(struct dgram *d);
/* With recverr: reads the ICMP reports queued on the socket (up to
 * DGRAM_ERRQ_MAX), counting each as an error; their errnos go to
 * errs[0..cap). The number stored. Reading them also clears the socket's
 * pending error, so the next send is not refused for it. */
unsigned dgram_read_icmp(struct dgram *d, int *errs, unsigned cap);
void dgram_release(struct dgram *d);

uint64_t dgram_now_ns(void);

#endif
