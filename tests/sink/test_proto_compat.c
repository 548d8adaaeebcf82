/*
 * test_proto_compat.c - wire compatibility with xtcp2:
 *  - every field of the reference table (TSV) is in our .proto with the
 *    same name, number and type, and our additions are numbered above all
 *    of the table's; every ts_fields[] entry matches the .proto;
 *  - a protobuf-list payload from the real tcpscope decodes with
 *    `protoc --decode=xtcp_flat_record.v1.Envelope` and the values protoc
 *    prints equal tcpscope's JSON of the same poll.
 */
#include "sink_test.h"

static const ProtobufCFieldDescriptor *field(const char *name)
{
	return protobuf_c_message_descriptor_get_field_by_name(&ST_MSG_DESC,
							       name);
}

static int type_of(const char *t)
{
	if (strcmp(t, "uint32") == 0)
		return PROTOBUF_C_TYPE_UINT32;
	if (strcmp(t, "uint64") == 0)
		return PROTOBUF_C_TYPE_UINT64;
	if (strcmp(t, "int64") == 0)
		return PROTOBUF_C_TYPE_INT64;
	if (strcmp(t, "string") == 0)
		return PROTOBUF_C_TYPE_STRING;
	if (strcmp(t, "bytes") == 0)
		return PROTOBUF_C_TYPE_BYTES;
	if (strcmp(t, "CongestionAlgorithm") == 0)
		return PROTOBUF_C_TYPE_ENUM;
	return -1;
}

static void test_tsv(void)
{
	const char *path = getenv("TCPSCOPE_REFERENCE_TSV");
	const char *fix = getenv("TCPSCOPE_FIXTURES");
	char line[512], name[128], type[64], alt[4096];
	unsigned num, max = 0, rows = 0;
	FILE *f = path ? fopen(path, "r") : NULL;
	unsigned char *in_tsv;

	/* A checkout outside the shared tree's sibling finds the table where
	 * the fixtures it was pointed at live: shared/fixtures/sockdiag and
	 * shared/reference are siblings' children. */
	if (!f && fix &&
	    snprintf(alt, sizeof(alt),
		     "%s/../../reference/xtcp2-flat-record-fields.tsv",
		     fix) < (int)sizeof(alt))
		f = fopen(alt, "r");

	if (!f)
		TEST_SKIP(
			"reference table not found (TCPSCOPE_REFERENCE_TSV=%s)",
			path ? path : "unset");
	/* allocated after the skip: exit(77) must not leave a leak */
	in_tsv = calloc(ST_MSG_DESC.n_fields, 1);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || strncmp(line, "field\t", 6) == 0)
			continue;
		if (sscanf(line, "%127[^\t]\t%u\t%63s", name, &num, type) != 3)
			continue;
		const ProtobufCFieldDescriptor *fd = field(name);
		rows++;
		if (num > max)
			max = num;
		if (!fd || fd->id != num || (int)fd->type != type_of(type) ||
		    fd->label != PROTOBUF_C_LABEL_NONE) {
			fprintf(stderr,
				"reference field %s = %u (%s): ours %s %u\n",
				name, num, type, fd ? "differs:" : "missing",
				fd ? fd->id : 0);
			check_failures++;
			continue;
		}
		in_tsv[fd - ST_MSG_DESC.fields] = 1;
	}
	fclose(f);
	CHECK(rows > 150);
	for (unsigned i = 0; i < ST_MSG_DESC.n_fields; i++)
		if (!in_tsv[i] && ST_MSG_DESC.fields[i].id <= max) {
			fprintf(stderr, "our field %s = %u is not above %u\n",
				ST_MSG_DESC.fields[i].name,
				ST_MSG_DESC.fields[i].id, max);
			check_failures++;
		}
	free(in_tsv);

	/* Envelope { repeated XtcpFlatRecord row = 10; } */
	const ProtobufCFieldDescriptor *row =
		protobuf_c_message_descriptor_get_field_by_name(
			&xtcp_flat_record__v1__envelope__descriptor, "row");
	CHECK(row && row->id == 10 && row->label == PROTOBUF_C_LABEL_REPEATED &&
	      row->type == PROTOBUF_C_TYPE_MESSAGE);
	CHECK(strcmp(ST_MSG_DESC.name, "xtcp_flat_record.v1.XtcpFlatRecord") ==
	      0);
}

/* What our encoder writes is what the .proto says. */
static void test_fields_table(void)
{
	static const int pt[] = {
		[TS_PT_UINT32] = PROTOBUF_C_TYPE_UINT32,
		[TS_PT_UINT64] = PROTOBUF_C_TYPE_UINT64,
		[TS_PT_INT64] = PROTOBUF_C_TYPE_INT64,
		[TS_PT_STRING] = PROTOBUF_C_TYPE_STRING,
		[TS_PT_BYTES] = PROTOBUF_C_TYPE_BYTES,
		[TS_PT_ENUM] = PROTOBUF_C_TYPE_ENUM,
	};
	for (size_t i = 0; i < ts_nfields; i++) {
		const struct ts_field *f = &ts_fields[i];
		const ProtobufCFieldDescriptor *fd = field(f->name);
		if (!fd || fd->id != f->proto_num ||
		    (int)fd->type != pt[f->proto_type]) {
			fprintf(stderr, "ts_fields %s = %u: .proto %s\n",
				f->name, f->proto_num,
				fd ? "differs" : "lacks it");
			check_failures++;
		}
	}
}

/* "row {" opens a record; "  name: value" its fields: each value protoc
 * prints must equal the JSON's. Returns the differences. */
static int check_text(const char *txt, struct st_set *refp, long *rows_out,
		      long *checked_out)
{
	struct st_set ref = *refp;
	char line[1024];
	int bad = 0;
	FILE *f = fopen(txt, "r");
	long k = -1, rows = 0, checked = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char key[128], val[512], jv[512];
		if (strncmp(line, "row {", 5) == 0) {
			rows++;
			k = -1;
			continue;
		}
		if (sscanf(line, " %127[^:]: %511[^\n]", key, val) != 2)
			continue;
		if (strcmp(key, "record_counter") == 0)
			k = st_set_find(&ref, strtoull(val, NULL, 10));
		if (k < 0)
			continue;
		int kind = st_json_get(ref.line[k], key, jv, sizeof(jv));
		if (val[0] == '"' && strchr(val, '\\'))
			continue; /* bytes: octal escapes, compared via
				     protobuf-c */
		if (val[0] == '"') {
			val[strlen(val) - 1] = '\0';
			memmove(val, val + 1, strlen(val));
		} else if (val[0] == 'C') {
			continue; /* enum name; its number is compared via
				     protobuf-c */
		}
		checked++;
		if (kind < 0 || strcmp(val, jv) != 0) {
			if (bad++ < 5)
				fprintf(stderr, "protoc %s: '%s', json '%s'\n",
					key, val, kind < 0 ? "(absent)" : jv);
		}
	}
	if (f)
		fclose(f);
	*rows_out = rows;
	*checked_out = checked;
	return bad;
}

/* Runs protoc --decode on the first Envelope of a tcpscope run and checks
 * the text against the JSON of the same poll. */
static void test_protoc(void)
{
	const char *bin = st_bin(), *proto = getenv("TCPSCOPE_PROTO");
	const char *protoc = getenv("PROTOC");
	char dir[] = "/tmp/ts-compat-XXXXXX", pb[128], js[128], env[128],
	     txt[128], cmd[1024], dpb[160], djs[160];
	struct st_set ref;
	int bad = 0;

	if (!protoc || !proto)
		TEST_SKIP("protoc (protobuf-compiler) not found");
	st_sandbox();
	st_make_conns(40);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(pb, sizeof(pb), "%s/out.pb", dir);
	snprintf(js, sizeof(js), "%s/out.json", dir);
	snprintf(env, sizeof(env), "%s/envelope.bin", dir);
	snprintf(txt, sizeof(txt), "%s/decoded.txt", dir);
	snprintf(dpb, sizeof(dpb), "file:%s?format=protobuf-list", pb);
	snprintf(djs, sizeof(djs), "file:%s?format=json", js);
	char *argv[] = { (char *)bin, "--once", "--quiet", "--netns", "host",
			 "--dest",    dpb,	"--dest",  djs,	      NULL };
	CHECK_EQ(st_wait(st_spawn(argv, NULL, NULL), 30000), 0);
	st_set_load(&ref, js, NULL, 0);
	CHECK(ref.n >= 80);

	/* strip the ProtobufList varint: protoc reads a bare Envelope */
	FILE *f = fopen(pb, "rb");
	static uint8_t data[1 << 22];
	size_t n = f ? fread(data, 1, sizeof(data), f) : 0;
	const uint8_t *p = data;
	uint64_t len;
	if (f)
		fclose(f);
	CHECK(st_varint(&p, data + n, &len) == 0 && len <= n);
	CHECK_EQ(st_check(SINK_FMT_PROTOBUF_LIST, data, n, &ref, &bad), ref.n);
	CHECK_EQ(bad, 0);
	f = fopen(env, "wb");
	fwrite(p, 1, len, f);
	fclose(f);
	char pdir[512];
	snprintf(pdir, sizeof(pdir), "%s", proto);
	*strrchr(pdir, '/') = '\0';
	snprintf(cmd, sizeof(cmd),
		 "%s --decode=xtcp_flat_record.v1.Envelope --proto_path=%s %s "
		 "< %s > %s",
		 protoc, pdir, proto, env, txt);
	CHECK_EQ(system(cmd), 0);

	long rows = 0, checked = 0;
	bad = check_text(txt, &ref, &rows, &checked);
	CHECK(rows > 0 && rows <= (long)ref.n);
	CHECK(checked > rows * 10);
	CHECK_EQ(bad, 0);
	st_set_free(&ref);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

int main(void)
{
	test_tsv();
	test_fields_table();
	test_protoc();
	return check_exit();
}
