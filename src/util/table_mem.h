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
 */
#ifndef TS_TABLE_MEM_H
#define TS_TABLE_MEM_H

#include <stddef.h>

int ts_table_calloc(size_t nmemb, size_t size, void **out);

#endif
