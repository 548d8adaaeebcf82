/*
 * test_roundtrip.c - every destination and format end to end: the real
 * tcpscope polls a private namespace holding known sockets and sends each
 * record to stdout, a file, UDP on 127.0.0.1 and ::1, a unix stream and a
 * unix datagram socket at once; receivers here decode what arrived with
 * protobuf-c and compare it, field by field, with the JSON file written by
 * the same poll (same record_counter values). Also: the per-destination
 * default formats, and small max_bytes/max_rows on real datagrams.
 */
#include "sink_test.h"

enum { D_STDOUT, D_FILE, D_UDP4, D_UDP6, D_UNIX, D_UNIXGRAM, ND };
static const char *dname[ND] = { "stdout", "file", "udp4",
				 "udp6",   "unix", "unixgram" };

struct dest {
	int fd, conn;
	char url[256];
	struct st_buf b;
};

static const char *bin;
static char dir[] = "/tmp/ts-rt-XXXXXX";

/* Polls every receiver until tcpscope exits and they stay quiet. */
static void collect(struct dest *d, pid_t pid, int *status)
{
	uint64_t quiet_since = 0;
	int exited = 0;

	for (;;) {
		struct pollfd pf[ND];
		int n = 0, idx[ND];
		for (int i = D_UDP4; i < ND; i++) {
			int fd = i == D_UNIX && d[i].conn >= 0 ? d[i].conn
							       : d[i].fd;
			if (fd < 0)
				continue;
			pf[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
			idx[n++] = i;
		}
		int r = poll(pf, (nfds_t)n, 20);
		for (int k = 0; r > 0 && k < n; k++) {
			int i = idx[k];
			if (!(pf[k].revents & (POLLIN | POLLHUP)))
				continue;
			if (i == D_UNIX && d[i].conn < 0)
				d[i].conn = accept(d[i].fd, NULL, NULL);
			else if (i == D_UNIX &&
				 st_read_stream(d[i].conn, &d[i].b) < 0) {
				close(d[i].conn);
				d[i].conn =
					-2; /* done: one connection expected */
				d[i].fd = -1;
			} else if (i != D_UNIX)
				while (st_read_dgram(d[i].fd, &d[i].b))
					;
		}
		if (!exited && waitpid(pid, status, WNOHANG) == pid)
			exited = 1;
		if (r > 0)
			quiet_since = 0;
		else if (exited && !quiet_since)
			quiet_since = st_now_ms();
		if (exited && quiet_since && st_now_ms() - quiet_since > 200)
			return;
	}
}

static void file_into(const char *path, struct st_buf *b)
{
	FILE *f = fopen(path, "rb");
	uint8_t tmp[65536];
	size_t n;
	while (f && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		st_buf_add(b, tmp, n);
	if (f)
		fclose(f);
}

/* Decodes what each destination got and compares it with ref. */
static void verify(struct dest *d, struct st_set *refp, enum sink_format fmt,
		   const char *query, size_t max_bytes, int run_no)
{
	struct st_set ref = *refp;

	for (int i = 0; i < ND; i++) {
		enum sink_format f = fmt != SINK_FMT_AUTO ? fmt
				     : i <= D_FILE	  ? SINK_FMT_JSON
						   : SINK_FMT_PROTOBUF_LIST;
		int bad = 0;
		long got = 0;
		if (i >= D_UDP4 && d[i].fd < 0 && d[i].conn != -2)
			continue;
		st_set_unsee(&ref);
		if (i == D_UDP4 || i == D_UDP6 || i == D_UNIXGRAM) {
			/* each datagram decodes alone and respects max_bytes */
			size_t off = 0;
			for (size_t k = 0; k < d[i].b.ncut;
			     off += d[i].b.cut[k++]) {
				long n = st_check(f, d[i].b.p + off,
						  d[i].b.cut[k], &ref, &bad);
				CHECK(n > 0 && d[i].b.cut[k] <= max_bytes);
				got += n;
			}
		} else {
			got = st_check(f, d[i].b.p, d[i].b.len, &ref, &bad);
		}
		fprintf(stderr,
			"run %d (%s%s) %s: %ld of %zu records, %d "
			"bad, %zu datagrams\n",
			run_no, sink_format_name(f), query, dname[i], got,
			ref.n, bad, d[i].b.ncut);
		CHECK_EQ(got, ref.n);
		CHECK_EQ(bad, 0);
		if (d[i].fd >= 0)
			close(d[i].fd);
		free(d[i].b.p);
		free(d[i].b.cut);
	}
}

/* One run. fmt: the --format given (AUTO: none); query: added to every
 * destination URL; max_bytes: the bound expected on datagrams. */
static void run(enum sink_format fmt, const char *query, size_t max_bytes,
		int run_no)
{
	struct dest d[ND];
	char jpath[128], fpath[128], spath[128], upath[128], gpath[128],
		epath[128], jurl[160], fmtarg[32];
	struct st_set ref;
	char *argv[40];
	int argc = 0, status = -1;

	memset(d, 0, sizeof(d));
	snprintf(jpath, sizeof(jpath), "%s/ref%d.json", dir, run_no);
	snprintf(fpath, sizeof(fpath), "%s/out%d", dir, run_no);
	snprintf(spath, sizeof(spath), "%s/stdout%d", dir, run_no);
	snprintf(upath, sizeof(upath), "%s/s%d.sock", dir, run_no);
	snprintf(gpath, sizeof(gpath), "%s/g%d.sock", dir, run_no);
	snprintf(epath, sizeof(epath), "%s/stderr%d", dir, run_no);
	snprintf(jurl, sizeof(jurl), "file:%s?format=json", jpath);
	for (int i = 0; i < ND; i++)
		d[i].fd = d[i].conn = -1;
	d[D_UDP4].fd =
		st_udp_rx(AF_INET, d[D_UDP4].url, sizeof(d[0].url), query);
	d[D_UDP6].fd =
		st_udp_rx(AF_INET6, d[D_UDP6].url, sizeof(d[0].url), query);
	d[D_UNIX].fd = st_unix_rx(SOCK_STREAM, upath);
	d[D_UNIXGRAM].fd = st_unix_rx(SOCK_DGRAM, gpath);
	snprintf(d[D_STDOUT].url, sizeof(d[0].url), "stdout%s", query);
	snprintf(d[D_FILE].url, sizeof(d[0].url), "file:%s%s", fpath, query);
	snprintf(d[D_UNIX].url, sizeof(d[0].url), "unix:%s%s", upath, query);
	snprintf(d[D_UNIXGRAM].url, sizeof(d[0].url), "unixgram:%s%s", gpath,
		 query);
	CHECK(d[D_UDP4].fd >= 0 && d[D_UNIX].fd >= 0 && d[D_UNIXGRAM].fd >= 0);
	if (d[D_UDP6].fd < 0)
		fprintf(stderr, "note: no IPv6 loopback, udp6 not tested\n");

	argv[argc++] = (char *)bin;
	argv[argc++] = "--once";
	argv[argc++] = "--netns";
	argv[argc++] = "host";
	if (fmt != SINK_FMT_AUTO) {
		snprintf(fmtarg, sizeof(fmtarg), "%s", sink_format_name(fmt));
		argv[argc++] = "--format";
		argv[argc++] = fmtarg;
	}
	argv[argc++] = "--dest";
	argv[argc++] = jurl;
	for (int i = 0; i < ND; i++)
		if (i < D_UDP4 || d[i].fd >= 0) {
			argv[argc++] = "--dest";
			argv[argc++] = d[i].url;
		}
	argv[argc] = NULL;
	pid_t pid = st_spawn(argv, spath, epath);
	collect(d, pid, &status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	file_into(spath, &d[D_STDOUT].b);
	file_into(fpath, &d[D_FILE].b);
	st_set_load(&ref, jpath, NULL, 0);
	CHECK(ref.n >= 100);

	verify(d, &ref, fmt, query, max_bytes, run_no);
	free(ref.text);
	free(ref.line);
	free(ref.counter);
	free(ref.seen);
}

int main(void)
{
	char cmd[128];

	bin = st_bin();
	st_sandbox();
	CHECK(st_make_conns(120) >= 100);
	CHECK(mkdtemp(dir) != NULL);
	run(SINK_FMT_PROTOBUF_LIST, "", 212992, 1);
	run(SINK_FMT_PROTOBUF, "", 212992, 2);
	run(SINK_FMT_JSON, "", 212992, 3);
	run(SINK_FMT_AUTO, "", 212992, 4); /* per-destination defaults */
	/* several datagrams per poll, row and byte limits on the wire */
	run(SINK_FMT_PROTOBUF_LIST, "?max_bytes=1500&max_rows=5", 1500, 5);
	run(SINK_FMT_PROTOBUF, "?max_bytes=2000", 2000, 6);
	run(SINK_FMT_JSON, "?max_bytes=4000&max_rows=3", 4000, 7);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (check_failures == 0)
		CHECK_EQ(system(cmd), 0);
	return check_exit();
}
