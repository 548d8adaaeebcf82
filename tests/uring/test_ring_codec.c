/*
 * test_ring_codec.c - the user_data codec: every operation and id round
 * trips; reserved bits 55..32, operation 0 and unknown operations are
 * rejected; the opcode check names a missing opcode, not a number.
 */
#include <liburing.h>
#include <string.h>

#include "check.h"
#include "engine/ring.h"

static void round_trip(void)
{
	static const uint32_t ids[] = { 0,     1,	    255,
					65536, 0x7fffffffu, 0xffffffffu };

	for (unsigned op = 1; op <= RING_OP_MAX; op++) {
		for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			uint64_t ud = ring_ud_encode((enum ring_op)op, ids[i]);
			enum ring_op got_op = 0;
			uint32_t got_id = 0;
			CHECK_EQ(ud & RING_UD_RESERVED, 0);
			CHECK_EQ(ud >> 56, op);
			CHECK_EQ(ring_ud_decode(ud, &got_op, &got_id), 0);
			CHECK_EQ(got_op, op);
			CHECK_EQ(got_id, ids[i]);
		}
	}
}

static void rejects(void)
{
	enum ring_op op = RING_OP_SEND;
	uint32_t id = 42;
	uint64_t good = ring_ud_encode(RING_OP_SEND, 7);

	/* every reserved bit on its own */
	for (int b = 32; b <= 55; b++)
		CHECK_EQ(ring_ud_decode(good | 1ull << b, &op, &id), -EINVAL);
	CHECK_EQ(ring_ud_decode(7, &op, &id), -EINVAL); /* op 0 */
	for (unsigned o = RING_OP_MAX + 1; o < 256; o++)
		CHECK_EQ(ring_ud_decode((uint64_t)o << 56 | 7, &op, &id),
			 -EINVAL);
	/* outputs untouched on failure */
	CHECK_EQ(op, RING_OP_SEND);
	CHECK_EQ(id, 42);
}

static void opcode_names(void)
{
	size_t len = sizeof(struct io_uring_probe) +
		     256 * sizeof(struct io_uring_probe_op);
	struct io_uring_probe *p = calloc(1, len);
	char err[128] = "";

	CHECK(p != NULL);
	p->last_op = 255;
	for (int i = 0; i < 256; i++) {
		p->ops[i].op = (uint8_t)i;
		p->ops[i].flags = IO_URING_OP_SUPPORTED;
	}
	CHECK_EQ(ring_probe_check(p, err, sizeof(err)), 0);
	p->ops[IORING_OP_RECVMSG].flags = 0;
	CHECK_EQ(ring_probe_check(p, err, sizeof(err)), -EOPNOTSUPP);
	CHECK(strstr(err, "IORING_OP_RECVMSG") != NULL);
	p->ops[IORING_OP_RECVMSG].flags = IO_URING_OP_SUPPORTED;
	p->ops[IORING_OP_WRITEV].flags = 0;
	CHECK_EQ(ring_probe_check(p, err, sizeof(err)), -EOPNOTSUPP);
	CHECK(strstr(err, "IORING_OP_WRITEV") != NULL);
	CHECK(strcmp(ring_op_name(IORING_OP_SEND), "IORING_OP_SEND") == 0);
	free(p);
}

int main(void)
{
	round_trip();
	rejects();
	opcode_names();
	return check_failures ? 1 : 0;
}
