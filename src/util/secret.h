/*
 * secret.h - keeping passwords out of logs.
 * Contract: ts_mask_url() copies a URL with the password of its userinfo
 * (scheme://user:PASSWORD@host..., scheme://:PASSWORD@host...) replaced by
 * "***", and so is the value of every query option whose key names a
 * credential (contains password, secret, token, key.pem or
 * oauthbearer.config: kafka.sasl.password=..., a library's pass-through
 * properties); a URL without either is copied as is. Always NUL-terminates
 * `out` (truncating, never in the middle of a masked value). Pure and
 * reentrant.
 */
#ifndef TS_SECRET_H
#define TS_SECRET_H

#include <stddef.h>

void ts_mask_url(const char *url, char *out, size_t n);

#endif
