/* list.c - comma-separated lists (see list.h). */
#include "list.h"

#include <errno.h>
#include <string.h>

int ts_list_each(const char *list, ts_list_fn fn, void *ctx, const char **bad)
{
	const char *p = list;

	for (;;) {
		size_t n = strcspn(p, ",");
		int rc = n ? fn(p, n, ctx) : -EINVAL;
		if (rc < 0) {
			if (bad)
				*bad = p;
			return rc;
		}
		if (p[n] == '\0')
			return 0;
		p += n + 1;
	}
}
