/* secret.c - password masking (see secret.h). */
#include "secret.h"

#include <stdio.h>
#include <string.h>

/* Option keys whose value is a credential (a library's pass-through
 * properties: kafka.sasl.password, kafka.ssl.key.pem, ...). */
static int secret_key(const char *k, size_t n)
{
	static const char *const words[] = { "password", "secret", "token",
					     "key.pem", "oauthbearer.config" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t w = strlen(words[i]);
		for (size_t j = 0; j + w <= n; j++)
			if (strncmp(k + j, words[i], w) == 0)
				return 1;
	}
	return 0;
}

/* Appends s[0..n) to out (size cap, used *len), truncating. */
static void put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + 1 >= cap)
		return;
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
}

/* The query q ("k=v&k=v", up to '#'), each credential's value as ***. */
static void put_query(char *out, size_t cap, size_t *len, const char *q)
{
	while (*q && *q != '#') {
		size_t n = strcspn(q, "&#");
		const char *eq = memchr(q, '=', n);
		if (eq && secret_key(q, (size_t)(eq - q))) {
			put(out, cap, len, q, (size_t)(eq + 1 - q));
			put(out, cap, len, "***", 3);
		} else {
			put(out, cap, len, q, n);
		}
		q += n;
		if (*q == '&')
			put(out, cap, len, q++, 1);
	}
	put(out, cap, len, q, strlen(q));
}

void ts_mask_url(const char *url, char *out, size_t n)
{
	const char *auth = strstr(url, "://");
	const char *end, *at, *colon, *q = strchr(url, '?');
	size_t len = 0;

	if (n == 0)
		return;
	out[0] = '\0';
	end = url + strlen(url);
	if (auth) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		at = memrchr(auth, '@', (size_t)(end - auth));
		colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			put(out, n, &len, url, (size_t)(colon + 1 - url));
			put(out, n, &len, "***", 3);
			url = at;
		}
	}
	if (!q) {
		put(out, n, &len, url, strlen(url));
		return;
	}
	put(out, n, &len, url, (size_t)(q + 1 - url));
	put_query(out, n, &len, q + 1);
}
