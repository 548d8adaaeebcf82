/*
 * secret.h - keeping passwords out of logs.
 * Contract: ts_mask_url() copies a URL with the password of its userinfo
 * (scheme://user:PASSWORD@host..., scheme://:PASSWORD@host...) replaced by
 * "***"; a URL without one is copied as is. Always NUL-terminates `out`
 * (truncating). Pure and reentrant.
 */
#ifndef TS_SECRET_H
#define TS_SECRET_H

#include <stddef.h>

void ts_mask_url(const char *url, char *out, size_t n);

#endif
