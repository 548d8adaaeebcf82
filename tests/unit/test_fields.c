/*
 * test_fields.c - the field descriptor table against itself and against
 * the xtcp2 wire reference: names, protobuf numbers and types must match
 * the reference exactly (consumers built for xtcp2 decode our records), our
 * own additions must stay clear of its number space, and each descriptor
 * must point at a member of the right size inside struct ts_record.
 */
#include <limits.h>
#include <string.h>

#include "check.h"
#include "record/fields.h"
#include "unit_util.h"

#define REF_NAME "xtcp2-flat-record-fields.tsv"
#define OUR_BASE 3000 /* our additions are numbered from here */

struct ref {
	char name[64];
	uint32_t num;
	char type[32];
	int used;
};

static struct ref refs[512];
static size_t nrefs;

static size_t kind_size(uint8_t kind)
{
	switch (kind) {
	case TS_FK_U8:
	case TS_FK_BITS:
	case TS_FK_STATE_NAME:
		return 1;
	case TS_FK_U16:
		return 2;
	case TS_FK_U32:
		return 4;
	case TS_FK_U64:
		return 8;
	case TS_FK_ADDR:
		return 16;
	case TS_FK_STR:
		return TS_CONG_NAME_MAX;
	case TS_FK_STRPTR:
		return sizeof(const char *);
	default:
		return 0;
	}
}

/* Which wire types can carry a value of this in-memory kind. */
static int kind_fits_type(uint8_t kind, uint8_t pt)
{
	switch (kind) {
	case TS_FK_U8:
	case TS_FK_U16:
	case TS_FK_U32:
	case TS_FK_BITS:
		return pt == TS_PT_UINT32 || pt == TS_PT_UINT64 ||
		       pt == TS_PT_ENUM;
	case TS_FK_U64:
		return pt == TS_PT_UINT64 || pt == TS_PT_INT64;
	case TS_FK_ADDR:
		return pt == TS_PT_BYTES;
	case TS_FK_STR:
	case TS_FK_STRPTR:
	case TS_FK_STATE_NAME:
		return pt == TS_PT_STRING;
	default:
		return 0;
	}
}

static void check_one(const struct ts_field *f)
{
	const size_t info_off = offsetof(struct ts_record, info);
	size_t sz = kind_size(f->kind);

	CHECK(f->name && f->name[0]);
	CHECK(strspn(f->name, "abcdefghijklmnopqrstuvwxyz0123456789_") ==
	      strlen(f->name));
	CHECK(f->proto_num > 0);
	CHECK(sz > 0);
	CHECK(f->offset + sz <= sizeof(struct ts_record));
	CHECK(f->group < 32);
	CHECK(kind_fits_type(f->kind, f->proto_type));
	if (f->kind == TS_FK_BITS)
		CHECK(f->bit_width > 0 && f->bit_shift + f->bit_width <= 8);
	if (f->end) { /* a tcp_info member: `end` locates it in the struct */
		CHECK_EQ(f->group, INET_DIAG_INFO);
		CHECK(f->offset >= info_off);
		CHECK_EQ(f->end, f->offset - info_off + sz);
		CHECK(f->end <= sizeof(struct ts_tcp_info));
	} else if (f->group == INET_DIAG_INFO) {
		CHECK(strcmp(f->name, "tcp_info_size") == 0);
	}
	if (!kind_fits_type(f->kind, f->proto_type) ||
	    f->offset + sz > sizeof(struct ts_record))
		fprintf(stderr, "  ... in field %s\n", f->name);
}

static void test_table(void)
{
	CHECK(ts_nfields > 100);
	for (size_t i = 0; i < ts_nfields; i++) {
		check_one(&ts_fields[i]);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(ts_fields[i].name, ts_fields[j].name) ||
			    ts_fields[i].proto_num == ts_fields[j].proto_num) {
				fprintf(stderr,
					"%s (%u) clashes with %s (%u)\n",
					ts_fields[i].name,
					ts_fields[i].proto_num,
					ts_fields[j].name,
					ts_fields[j].proto_num);
				check_failures++;
			}
		}
	}
}

static const char *ref_path(char *buf, size_t cap)
{
	const char *env = getenv("TCPSCOPE_REFERENCE");
	const char *fx = getenv("TCPSCOPE_FIXTURES");

	if (env)
		return env;
	if (!fx)
		fx = getenv("TCPSCOPE_FIXTURES_DEFAULT");
	if (!fx)
		return NULL;
	return ut_path(buf, cap, fx, "../../reference/" REF_NAME);
}

/* Reads "field<TAB>number<TAB>proto_type" rows; 0 when unreadable. */
static size_t load_refs(const char *path)
{
	FILE *f = path ? fopen(path, "r") : NULL;
	char line[512];

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && nrefs < 512) {
		struct ref *r = &refs[nrefs];
		if (line[0] == '#' || !strncmp(line, "field\t", 6))
			continue;
		if (sscanf(line, "%63[^\t]\t%u\t%31s", r->name, &r->num,
			   r->type) == 3)
			nrefs++;
		else if (line[0] != '\n')
			fprintf(stderr, "unparsed reference row: %s", line);
	}
	fclose(f);
	return nrefs;
}

static const char *wire_name(uint8_t pt)
{
	static const char *const names[] = {
		[TS_PT_UINT32] = "uint32", [TS_PT_UINT64] = "uint64",
		[TS_PT_INT64] = "int64",   [TS_PT_STRING] = "string",
		[TS_PT_BYTES] = "bytes",   [TS_PT_ENUM] = "CongestionAlgorithm",
	};
	return pt < sizeof(names) / sizeof(names[0]) ? names[pt] : "?";
}

static void check_against_ref(const struct ts_field *f, uint32_t ref_max)
{
	if (f->proto_num >= OUR_BASE) {
		if (f->proto_num <= ref_max) {
			fprintf(stderr, "%s: our number %u not above %u\n",
				f->name, f->proto_num, ref_max);
			check_failures++;
		}
		return;
	}
	for (size_t i = 0; i < nrefs; i++) {
		if (refs[i].num != f->proto_num)
			continue;
		refs[i].used = 1;
		if (strcmp(refs[i].name, f->name) ||
		    strcmp(refs[i].type, wire_name(f->proto_type))) {
			fprintf(stderr, "%u: ours %s %s, reference %s %s\n",
				f->proto_num, f->name, wire_name(f->proto_type),
				refs[i].name, refs[i].type);
			check_failures++;
		}
		return;
	}
	fprintf(stderr, "%s (%u): not in the reference\n", f->name,
		f->proto_num);
	check_failures++;
}

/* The prebuilt JSON keys: exactly "\"name\":", NUL-padded within
 * TS_JSON_KEY_PAD (json.c copies the whole pad at once). */
static void test_json_keys(void)
{
	for (size_t i = 0; i < ts_nfields; i++) {
		const struct ts_field *f = &ts_fields[i];
		char want[TS_JSON_KEY_PAD + 8];
		int n = snprintf(want, sizeof(want), "\"%s\":", f->name);
		CHECK(n > 0 && (size_t)n < TS_JSON_KEY_PAD);
		CHECK_EQ(f->json_key_len, n);
		CHECK(memcmp(f->json_key, want, (size_t)n) == 0);
		for (size_t j = (size_t)n; j < TS_JSON_KEY_PAD; j++)
			CHECK(f->json_key[j] == '\0');
	}
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	return check_rand(&rng);
}

/* The marshallers' compiled view of a field (ts_field_access) tells the
 * same presence and value as ts_field_present()/ts_field_uint(), on
 * random records with every tcp_info size and random attributes; and the
 * runs they are cut into are contiguous, share their mask, and see the
 * same fields as the per-field rule. */
static void test_access(void)
{
	static struct ts_field_access acc[TS_FIELDS_MAX];
	static struct ts_field_run runs[TS_FIELDS_MAX];
	static struct ts_record r;
	size_t nr;
	int bad = 0;

	for (size_t i = 0; i < ts_nfields; i++)
		ts_field_access_init(&acc[i], &ts_fields[i]);
	nr = ts_field_runs(acc, sizeof(acc[0]), ts_nfields, runs);
	CHECK(nr > 0 && nr <= ts_nfields);
	for (size_t k = 0, next = 0; k < nr; k++) {
		CHECK_EQ(runs[k].first, next);
		next += runs[k].n;
		for (size_t i = runs[k].first; i < next; i++)
			CHECK_EQ(acc[i].mask, runs[k].mask);
		if (k == nr - 1)
			CHECK_EQ(next, ts_nfields);
	}
	for (int round = 0; round < 20000; round++) {
		unsigned char *p = (unsigned char *)&r;
		for (size_t i = 0; i < sizeof(r); i++)
			p[i] = (unsigned char)rnd();
		r.present = round % 3 ? (uint32_t)rnd() : ~0u;
		r.tcp_info_size = (uint16_t)(rnd() % (sizeof(r.info) + 16));
		if (round % 5 == 0)
			memset(&r.hostname, 0, sizeof(r.hostname));
		for (size_t k = 0; k < nr; k++) {
			size_t vis = ts_run_visible(
				&runs[k], acc, sizeof(acc[0]), r.tcp_info_size);
			for (size_t i = runs[k].first;
			     i < (size_t)runs[k].first + runs[k].n; i++) {
				const struct ts_field *f = &ts_fields[i];
				int want = ts_field_present(f, &r);
				int run_has = (r.present & runs[k].mask) ==
						      runs[k].mask &&
					      i - runs[k].first < vis;
				int got = ts_access_present(&acc[i], r.present,
							    r.tcp_info_size);
				/* a NULL string pointer is the marshaller's
				 * own test */
				if (f->kind == TS_FK_STRPTR && !want)
					continue;
				if (want != got || want != run_has)
					bad++;
				if (f->kind <= TS_FK_BITS &&
				    ts_field_uint(f, &r) !=
					    ts_access_uint(&acc[i], &r))
					bad++;
			}
		}
	}
	CHECK_EQ(bad, 0);
}

int main(void)
{
	char buf[PATH_MAX];
	uint32_t ref_max = 0;
	size_t missing = 0;

	test_table();
	test_json_keys();
	test_access();
	if (!load_refs(ref_path(buf, sizeof(buf)))) {
		if (check_failures)
			return check_exit();
		TEST_SKIP("reference table " REF_NAME " not found (set "
			  "TCPSCOPE_REFERENCE)");
	}
	for (size_t i = 0; i < nrefs; i++)
		if (refs[i].num > ref_max)
			ref_max = refs[i].num;
	CHECK(ref_max < OUR_BASE);
	for (size_t i = 0; i < ts_nfields; i++)
		check_against_ref(&ts_fields[i], ref_max);
	/* informational: fields of later work (host, NIC, LLDP, ...) */
	for (size_t i = 0; i < nrefs; i++)
		if (!refs[i].used) {
			printf("not yet provided: %s (%u, %s)\n", refs[i].name,
			       refs[i].num, refs[i].type);
			missing++;
		}
	printf("%zu reference fields, %zu provided, %zu not yet\n", nrefs,
	       nrefs - missing, missing);
	return check_exit();
}
