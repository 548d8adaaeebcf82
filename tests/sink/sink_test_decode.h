/*
 * sink_test_decode.h - decoding payloads with protobuf-c and comparing the
 * records with tcpscope's JSON lines of the same poll (part of
 * sink_test.h). The JSON is the independent view: its marshaller shares
 * only ts_fields[] with the protobuf encoder under test.
 */
#ifndef TS_SINK_TEST_DECODE_H
#define TS_SINK_TEST_DECODE_H

/* JSON lines of one run, indexed by record_counter. */
struct st_set {
	char *text;
	size_t n;
	char **line;
	uint64_t *counter;
	unsigned char *seen;
};

/* Finds "key": and copies its raw value (string: unescaped, no quotes).
 * Returns 1 = string, 0 = number, -1 = absent. */
static inline int st_json_get(const char *line, const char *key, char *val,
			      size_t vlen)
{
	char pat[192];
	const char *p;
	size_t i = 0;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	if (*p != '"') {
		while (*p && *p != ',' && *p != '}' && i + 1 < vlen)
			val[i++] = *p++;
		val[i] = '\0';
		return 0;
	}
	for (p++; *p && *p != '"' && i + 1 < vlen; p++) {
		if (*p == '\\' && p[1] == 'u') {
			val[i++] = (char)strtol((char[]){ p[4], p[5], 0 }, NULL,
						16);
			p += 5;
		} else if (*p == '\\') {
			val[i++] = *++p;
		} else {
			val[i++] = *p;
		}
	}
	val[i] = '\0';
	return 1;
}

static inline uint64_t st_counter_of(const char *line)
{
	char v[32];
	return st_json_get(line, "record_counter", v, sizeof(v)) == 0
		       ? strtoull(v, NULL, 10)
		       : 0;
}

static inline int st_cmp_counter(const void *a, const void *b)
{
	uint64_t x = st_counter_of(*(char *const *)a);
	uint64_t y = st_counter_of(*(char *const *)b);
	return x < y ? -1 : x > y;
}

/* Loads a JSON-lines file (or buffer when path is NULL). */
static inline void st_set_load(struct st_set *s, const char *path,
			       const uint8_t *data, size_t len)
{
	char *text, *save = NULL;
	memset(s, 0, sizeof(*s));
	if (path) {
		FILE *f = fopen(path, "r");
		struct stat st;
		if (!f || fstat(fileno(f), &st) < 0)
			return;
		len = (size_t)st.st_size;
		text = malloc(len + 1);
		len = fread(text, 1, len, f);
		fclose(f);
	} else {
		text = malloc(len + 1);
		if (len) /* data may be NULL when empty */
			memcpy(text, data, len);
	}
	text[len] = '\0';
	s->text = text;
	for (char *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		s->line = realloc(s->line, (s->n + 1) * sizeof(*s->line));
		s->line[s->n++] = l;
	}
	if (s->n) /* qsort with a NULL array is undefined even when empty */
		qsort(s->line, s->n, sizeof(*s->line), st_cmp_counter);
	s->counter = calloc(s->n + 1, sizeof(*s->counter));
	s->seen = calloc(s->n + 1, 1);
	for (size_t i = 0; i < s->n; i++)
		s->counter[i] = st_counter_of(s->line[i]);
}

static inline long st_set_find(const struct st_set *s, uint64_t counter)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->counter[mid] < counter)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->counter[lo] == counter ? (long)lo : -1;
}

/* Compares every field of the message with the JSON line; returns the
 * number of differences (the first few are printed). */
static inline int st_compare(const char *line, const st_msg *m)
{
	int bad = 0;
	char v[512];
	int fam = st_json_get(line, "inet_diag_msg_family", v, sizeof(v)) == 0
			  ? atoi(v)
			  : 0;

	for (unsigned i = 0; i < ST_MSG_DESC.n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &ST_MSG_DESC.fields[i];
		const char *mp = (const char *)m + fd->offset;
		int kind = st_json_get(line, fd->name, v, sizeof(v));
		int ok = 1;
		switch (fd->type) {
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_ENUM: {
			uint32_t x;
			memcpy(&x, mp, sizeof(x));
			ok = kind < 0 ? x == 0
				      : kind == 0 && x == strtoull(v, NULL, 10);
			break;
		}
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_INT64: {
			uint64_t x;
			memcpy(&x, mp, sizeof(x));
			ok = kind < 0 ? x == 0
				      : kind == 0 && x == strtoull(v, NULL, 10);
			break;
		}
		case PROTOBUF_C_TYPE_STRING: {
			const char *x;
			memcpy(&x, mp, sizeof(x));
			ok = kind < 0 ? (!x || !*x)
				      : kind == 1 && x && strcmp(x, v) == 0;
			break;
		}
		case PROTOBUF_C_TYPE_BYTES: {
			ProtobufCBinaryData x;
			uint8_t a[16];
			memcpy(&x, mp, sizeof(x));
			if (kind < 0) {
				ok = x.len == 0;
				break;
			}
			ok = kind == 1 &&
			     inet_pton(fam == AF_INET6 ? AF_INET6 : AF_INET, v,
				       a) == 1 &&
			     x.len == (fam == AF_INET6 ? 16u : 4u) &&
			     memcmp(x.data, a, x.len) == 0;
			break;
		}
		default:
			ok = 0;
		}
		if (!ok && bad++ < 5)
			fprintf(stderr, "field %s (%u) differs: json %s'%s'\n",
				fd->name, fd->id, kind < 0 ? "(absent) " : "",
				kind < 0 ? "" : v);
	}
	return bad;
}

static inline int st_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int s = 0; s < 64 && *p < end; s += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << s;
		if (b < 0x80)
			return 0;
	}
	return -1;
}

/* Decodes payload bytes of a protobuf format and checks every record
 * against s (marking it seen). Returns the records decoded, or -1 when the
 * bytes are not whole frames. */
static inline long st_check_proto(enum sink_format fmt, const uint8_t *p,
				  size_t n, struct st_set *s, int *bad)
{
	const uint8_t *end = p + n;
	long got = 0;
	while (p < end) {
		uint64_t len;
		if (st_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
			return -1;
		st_msg **rows, *one;
		size_t nrows = 1;
		XtcpFlatRecord__V1__Envelope *env = NULL;
		if (fmt == SINK_FMT_PROTOBUF_LIST) {
			env = xtcp_flat_record__v1__envelope__unpack(NULL, len,
								     p);
			if (!env)
				return -1;
			rows = env->row;
			nrows = env->n_row;
		} else {
			one = xtcp_flat_record__v1__xtcp_flat_record__unpack(
				NULL, len, p);
			if (!one)
				return -1;
			rows = &one;
		}
		for (size_t i = 0; i < nrows; i++, got++) {
			long k = st_set_find(s, rows[i]->record_counter);
			if (k < 0 || s->seen[k]++) {
				fprintf(stderr,
					"record %llu unexpected or repeated\n",
					(unsigned long long)rows[i]
						->record_counter);
				(*bad)++;
				continue;
			}
			*bad += st_compare(s->line[k], rows[i]) != 0;
		}
		if (env)
			xtcp_flat_record__v1__envelope__free_unpacked(env,
								      NULL);
		else
			xtcp_flat_record__v1__xtcp_flat_record__free_unpacked(
				one, NULL);
		p += len;
	}
	return got;
}

/* JSON payloads: every line must equal the reference line of its record. */
static inline long st_check_json(const uint8_t *p, size_t n, struct st_set *s,
				 int *bad)
{
	struct st_set got;
	long cnt;
	if (n && p[n - 1] != '\n')
		return -1;
	st_set_load(&got, NULL, p, n);
	for (size_t i = 0; i < got.n; i++) {
		long k = st_set_find(s, got.counter[i]);
		if (k < 0 || s->seen[k]++ ||
		    strcmp(s->line[k], got.line[i]) != 0) {
			fprintf(stderr, "json record %llu differs or repeats\n",
				(unsigned long long)got.counter[i]);
			(*bad)++;
		}
	}
	cnt = (long)got.n;
	free(got.text);
	free(got.line);
	free(got.counter);
	free(got.seen);
	return cnt;
}

static inline long st_check(enum sink_format fmt, const uint8_t *p, size_t n,
			    struct st_set *s, int *bad)
{
	return fmt == SINK_FMT_JSON ? st_check_json(p, n, s, bad)
				    : st_check_proto(fmt, p, n, s, bad);
}

/* Bytes of buf that are whole varint-prefixed frames (a reader that hung
 * up mid-frame has a partial one at the end). */
static inline size_t st_whole_frames(const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *end = p + n;
	while (q < end) {
		const uint8_t *f = q;
		uint64_t len;
		if (st_varint(&q, end, &len) < 0 || len > (uint64_t)(end - q))
			return (size_t)(f - p);
		q += len;
	}
	return n;
}

/* "URL: N sent, M dropped" from the last summary line naming url. */
static inline int st_summary(const char *err_path, const char *url,
			     unsigned long long *sent,
			     unsigned long long *dropped, int *polls)
{
	FILE *f = fopen(err_path, "r");
	char line[4096], pat[512];
	int found = 0;
	snprintf(pat, sizeof(pat), "%s: ", url);
	*polls = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat);
		if (strstr(line, "tcpscope: poll "))
			(*polls)++;
		if (p && sscanf(p + strlen(pat), "%llu sent, %llu dropped",
				sent, dropped) == 2)
			found = 1;
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* Sockets polled, summed over the summary lines of stderr. */
static inline unsigned long long st_polled(const char *err_path, int *polls)
{
	FILE *f = fopen(err_path, "r");
	char line[4096];
	unsigned long long n = 0, k;
	*polls = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "tcpscope: poll ");
		if (p &&
		    sscanf(p, "tcpscope: poll %*u: %llu sockets", &k) == 1) {
			n += k;
			(*polls)++;
		}
	}
	if (f)
		fclose(f);
	return n;
}

/* The errors of the last summary line naming url ("URL: N sent, N dropped
 * (N oversize), N errors"); 0 when there is none. */
static inline unsigned long long st_errors(const char *err_path,
					   const char *url)
{
	FILE *f = fopen(err_path, "r");
	char line[4096], pat[512];
	unsigned long long s, d, o, e = 0;

	snprintf(pat, sizeof(pat), "%s: ", url);
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, pat);
		if (p)
			(void)sscanf(p + strlen(pat),
				     "%llu sent, %llu dropped (%llu oversize), "
				     "%llu errors",
				     &s, &d, &o, &e);
	}
	if (f)
		fclose(f);
	return e;
}

/* Lines of the file that contain every one of the (NULL-ended) words. */
static inline int st_lines_with(const char *path, const char *word, ...)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		va_list ap;
		int all = 1;
		va_start(ap, word);
		for (const char *w = word; w && all;
		     w = va_arg(ap, const char *))
			all = strstr(line, w) != NULL;
		va_end(ap);
		n += all;
	}
	if (f)
		fclose(f);
	return n;
}

/* Waits until stderr shows `n` polls; 0, or -1 at the deadline. */
static inline int st_wait_polls(const char *err_path, int n, int timeout_ms)
{
	uint64_t end = st_now_ms() + (uint64_t)timeout_ms;
	int polls = 0;
	while (st_polled(err_path, &polls), polls < n) {
		if (st_now_ms() > end)
			return -1;
		usleep(20000);
	}
	return 0;
}

static inline void st_set_free(struct st_set *s)
{
	free(s->text);
	free(s->line);
	free(s->counter);
	free(s->seen);
}

static inline void st_set_unsee(struct st_set *s)
{
	memset(s->seen, 0, s->n + 1);
}

#endif
