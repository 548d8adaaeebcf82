/*
 * json.h - JSON-lines marshaller for struct ts_record.
 *
 * Contract: json_record() writes one JSON object and a '\n' into the
 * caller's buffer, walking ts_fields[] (keys are the reference field names;
 * fields whose attribute was absent are omitted). Addresses are text (IPv4
 * dotted quad, IPv6 RFC 5952), strings are escaped so the output is always
 * valid JSON. No allocation, no I/O: the hot path of every JSON sink.
 * Thread-safety: reentrant.
 */
#ifndef TS_JSON_H
#define TS_JSON_H

#include <stddef.h>

#include "record.h"

/* Upper bound of one record's JSON; a buffer with this much room always
 * fits a record. */
#define JSON_RECORD_MAX 16384

/* Returns bytes written (> 0), or 0 when `cap` is too small (nothing is
 * guaranteed about the buffer's contents then). */
size_t json_record(char *out, size_t cap, const struct ts_record *r);
/* s as a quoted JSON string, escaped as records' strings are: bytes
 * written, or 0 when `cap` is too small. */
size_t json_string(char *out, size_t cap, const char *s);

struct ts_field_set;
/* The same, with only the fields of `fs` (NULL: every field). */
size_t json_record_fields(char *out, size_t cap, const struct ts_record *r,
			  const struct ts_field_set *fs);

#endif
