/* timeutil.c - duration parsing (see timeutil.h). */
#include "timeutil.h"

#include <errno.h>
#include <string.h>

int ts_parse_duration_ms(const char *s, uint64_t *ms_out)
{
	uint64_t v = 0, mult;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '\0' || strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "m") == 0)
		mult = 60000;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	*ms_out = v * mult;
	return 0;
}
