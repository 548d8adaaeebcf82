/*
 * table_mem.h - zeroed memory for the big per-socket tables (--emit
 * changes, --metrics-tcp: megabytes, probed at random once per socket per
 * poll), on transparent huge pages where the kernel gives them.
 *
 * Why: with 4 KiB pages each probe of a 12 MB table also misses the TLB;
 * with THP in "madvise" mode (Debian's default) plain calloc memory never
 * gets huge pages. Measured: --metrics-tcp's user time per socket fell from
 * 0.07-0.15 us to 0.003-0.05 us at 100k (docs/benchmarks.md, "Features").
 *
 * Contract: ts_table_calloc() is calloc(nmemb, size) aligned to 2 MiB and
 * advised MADV_HUGEPAGE (advice refused: still zeroed memory); 0 or
 * -ENOMEM (overflow included), *out untouched on failure. Release with
 * free(). Start-up only: never on the per-socket path.
 *
 * Both users keep two tables, this poll's and the last one's, keyed by
 * socket cookie with linear probing. A slot is live only while it carries
 * its table's poll number (`gen`), so starting a poll swaps the tables
 * and clears nothing (a memset of a 12 MB table a poll cost 0.03-0.06 us
 * a socket). ts_table_next_gen() gives the new poll's number, this poll's
 * table being `gen`, the last one's `gen - 1`; once in 2^32 polls it
 * clears both tables (n bytes each) and starts again above the numbers
 * zeroed slots carry, so that poll sees every socket as new.
 * ts_cookie_slot() is a cookie's first slot in a table of n (a power of
 * two) slots.
 */
#ifndef TS_TABLE_MEM_H
#define TS_TABLE_MEM_H

#include <stddef.h>
#include <stdint.h>

int ts_table_calloc(size_t nmemb, size_t size, void **out);
void ts_table_next_gen(uint32_t *gen, void *a, void *b, size_t n);

static inline size_t ts_cookie_slot(uint64_t cookie, size_t n)
{
	return (size_t)((cookie * 0x9e3779b97f4a7c15ull) >> 17) & (n - 1);
}

#endif
