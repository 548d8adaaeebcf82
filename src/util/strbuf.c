/* strbuf.c - bounded text buffers (see strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ts_sb_init(struct ts_sb *b, char *buf, size_t cap)
{
	b->p = buf;
	b->len = 0;
	b->cap = cap;
	b->full = 0;
	buf[0] = '\0';
}

void ts_sb_printf(struct ts_sb *b, const char *fmt, ...)
{
	size_t room = b->cap - b->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		b->full = 1;
		b->p[b->len] = '\0'; /* no partial line */
		return;
	}
	b->len += (size_t)n;
}

void ts_sb_put(struct ts_sb *b, const char *s, size_t n)
{
	if (n >= b->cap - b->len) {
		b->full = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

char *ts_sb_room(struct ts_sb *b, size_t *room)
{
	*room = b->cap - b->len - 1; /* the NUL's byte kept */
	return b->p + b->len;
}

void ts_sb_advance(struct ts_sb *b, size_t n)
{
	if (n == 0) {
		b->full = 1;
		return;
	}
	b->len += n;
	b->p[b->len] = '\0';
}
