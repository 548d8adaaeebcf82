/* parse.c - number and duration parsing (see parse.h). */
#include "parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parses the leading digits; *end points past them. */
static int leading_u64(const char *s, uint64_t *out, const char **end)
{
	char *e;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno)
		return -EINVAL;
	*out = v;
	*end = e;
	return 0;
}

int ts_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *end;
	uint64_t v;

	if (leading_u64(s, &v, &end) < 0 || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int ts_parse_duration_ms(const char *s, uint64_t lo_ms, uint64_t hi_ms,
			 uint64_t *ms_out)
{
	const char *unit;
	uint64_t v, mult;

	if (leading_u64(s, &v, &unit) < 0)
		return -EINVAL;
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1000;
	else if (strcmp(unit, "ms") == 0)
		mult = 1;
	else if (strcmp(unit, "m") == 0)
		mult = 60000;
	else if (strcmp(unit, "h") == 0)
		mult = 3600000;
	else
		return -EINVAL;
	/* checked before multiplying: a product that wraps could land in
	 * range */
	if (v > UINT64_MAX / mult || v * mult < lo_ms || v * mult > hi_ms)
		return -EINVAL;
	*ms_out = v * mult;
	return 0;
}
