/* secret.c - password masking (see secret.h). */
#include "secret.h"

#include <stdio.h>
#include <string.h>

void ts_mask_url(const char *url, char *out, size_t n)
{
	const char *auth = strstr(url, "://");
	const char *end, *at, *colon;

	if (n == 0)
		return;
	if (!auth) {
		snprintf(out, n, "%s", url);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	at = memrchr(auth, '@', (size_t)(end - auth));
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (!colon) {
		snprintf(out, n, "%s", url);
		return;
	}
	snprintf(out, n, "%.*s***%s", (int)(colon + 1 - url), url, at);
}
