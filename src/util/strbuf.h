/*
 * strbuf.h - text appended into a caller's fixed buffer.
 *
 * Contract: ts_sb_init() takes a buffer of cap bytes (cap >= 1); every
 * append writes what fits and marks the buffer `full` when something did
 * not, so that a caller checks once at the end, never mid-way. The text
 * is always NUL-terminated; len excludes the NUL. Nothing allocates.
 * Thread-safety: a ts_sb belongs to one thread.
 */
#ifndef TS_STRBUF_H
#define TS_STRBUF_H

#include <stddef.h>

struct ts_sb {
	char *p;
	size_t len, cap;
	int full; /* something did not fit */
};

void ts_sb_init(struct ts_sb *b, char *buf, size_t cap);
void ts_sb_printf(struct ts_sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ts_sb_put(struct ts_sb *b, const char *s, size_t n);
/* The free room after the text (for a writer of its own, which then
 * calls ts_sb_advance with what it wrote, or 0 when it did not fit). */
char *ts_sb_room(struct ts_sb *b, size_t *room);
void ts_sb_advance(struct ts_sb *b, size_t n);

#endif
