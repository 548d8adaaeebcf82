/*
 * list.h - the one parser of comma-separated option values (--states,
 * --attrs, --netns, --netns-dirs, ...), so that every list has the same
 * rules: items are separated by single commas; an empty list or an empty
 * item (",,", a leading or a trailing comma) is an error.
 * Contract: the list is not modified. Pure and reentrant.
 */
#ifndef TS_LIST_H
#define TS_LIST_H

#include <stddef.h>

/* Called per item (not NUL-terminated: `len` bytes); a negative return
 * stops the walk and is returned. */
typedef int (*ts_list_fn)(const char *item, size_t len, void *ctx);

/* 0, -EINVAL for an empty item (*bad, when not NULL, points at it), or
 * fn's negative return. */
int ts_list_each(const char *list, ts_list_fn fn, void *ctx, const char **bad);

#endif
