/* table_mem.c - big zeroed tables on huge pages (see table_mem.h). */
#include "table_mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_2M ((size_t)2 << 20)

int ts_table_calloc(size_t nmemb, size_t size, void **out)
{
	size_t n, round;
	void *p;

	if (size && nmemb > SIZE_MAX / size)
		return -ENOMEM;
	n = nmemb * size;
	/* aligned_alloc wants a multiple of the alignment */
	round = (n + HUGE_2M - 1) & ~(HUGE_2M - 1);
	if (round < n)
		return -ENOMEM;
	p = aligned_alloc(HUGE_2M, round ? round : HUGE_2M);
	if (!p)
		return -ENOMEM;
	(void)madvise(p, round, MADV_HUGEPAGE); /* advice: may be refused */
	memset(p, 0, round);
	*out = p;
	return 0;
}

void ts_table_next_gen(uint32_t *gen, void *a, void *b, size_t n)
{
	if (++*gen != 0)
		return;
	memset(a, 0, n);
	memset(b, 0, n);
	*gen = 2; /* zeroed slots carry 0, and 1 is the last poll's */
}
