/*
 * test_pcap.c - the pcap reader on hand-built files, and replay of every
 * capture in the shared sock_diag fixtures.
 *
 * Contract: header parsing in both byte orders and both timestamp
 * resolutions, every truncation and oversized caplen rejected with -EBADMSG
 * and outputs untouched; then each kernel folder's *.pcap is replayed:
 * every capture decodes without errors, and each tcp_N_sockets capture
 * shows, in every ss run (an AF_INET dump then an AF_INET6 dump), the N
 * dual-stack listeners on ports 4000..4000+N-1 and both ends of every
 * client connection, with each record stamped with its dump's ordinal,
 * family and capture time. Truncating a real capture at every byte must
 * never read outside it (run under ASan).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "pcap/pcap.h"
#include "pcap/replay.h"

static const char *const kernels[] = { "4_19_319", "5_4_281", "6_1_103",
				       "6_6_44", "6_8_12" };

/* ---- building pcap bytes in memory ---------------------------------- */

struct pbuf {
	unsigned char b[4096];
	size_t n;
	int be; /* write big-endian */
};

static void put32(struct pbuf *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p->b[p->n + (size_t)i] =
			(unsigned char)(v >> (p->be ? 24 - 8 * i : 8 * i));
	p->n += 4;
}

static void put16(struct pbuf *p, uint16_t v)
{
	p->b[p->n++] = (unsigned char)(p->be ? v >> 8 : v);
	p->b[p->n++] = (unsigned char)(p->be ? v : v >> 8);
}

static void global_hdr(struct pbuf *p, uint32_t magic, uint32_t linktype)
{
	put32(p, magic);
	put16(p, 2);
	put16(p, 4);
	put32(p, 0);	 /* thiszone */
	put32(p, 0);	 /* sigfigs */
	put32(p, 65535); /* snaplen */
	put32(p, linktype);
}

static void record(struct pbuf *p, uint32_t sec, uint32_t frac, uint32_t caplen,
		   uint32_t origlen, size_t fill)
{
	put32(p, sec);
	put32(p, frac);
	put32(p, caplen);
	put32(p, origlen);
	for (size_t i = 0; i < fill; i++)
		p->b[p->n++] = (unsigned char)(0xa0 + i);
}

/* ---- reader ----------------------------------------------------------- */

static void test_orders(int be, int nsec)
{
	struct pbuf p = { .be = be };
	struct pcap_reader r;
	struct pcap_pkt k;
	const uint16_t one = 1;
	const int host_be = *(const unsigned char *)&one == 0;

	global_hdr(&p, nsec ? 0xa1b23c4d : 0xa1b2c3d4, 253u | 0x10000000u);
	record(&p, 1700000000, nsec ? 123456789 : 654321, 5, 60, 5);
	record(&p, 1700000001, 0, 0, 0, 0);
	CHECK_EQ(pcap_reader_init(&r, p.b, p.n), 0);
	CHECK_EQ(r.swapped, be != host_be);
	CHECK_EQ(r.nsec, nsec);
	CHECK_EQ(r.linktype, PCAP_LINKTYPE_NETLINK); /* FCS bits masked */
	CHECK_EQ(r.snaplen, 65535);

	CHECK_EQ(pcap_next(&r, &k), 1);
	CHECK(k.data == p.b + 24 + 16);
	CHECK_EQ(k.caplen, 5);
	CHECK_EQ(k.origlen, 60);
	CHECK_EQ(k.ts_ns, 1700000000ull * 1000000000ull +
				  (nsec ? 123456789ull : 654321000ull));
	CHECK_EQ(k.data[0], 0xa0);
	CHECK_EQ(k.data[4], 0xa4);
	CHECK_EQ(pcap_next(&r, &k), 1); /* an empty record is legal */
	CHECK_EQ(k.caplen, 0);
	CHECK_EQ(k.ts_ns, 1700000001ull * 1000000000ull);
	CHECK_EQ(pcap_next(&r, &k), 0); /* clean end, and it stays there */
	CHECK_EQ(pcap_next(&r, &k), 0);
}

static void test_bad_headers(void)
{
	struct pbuf p = { .be = 0 };
	struct pcap_reader r, before;

	global_hdr(&p, 0xa1b2c3d4, 253);
	memset(&r, 0x5a, sizeof(r));
	before = r;
	for (size_t n = 0; n < 24; n++)
		CHECK_EQ(pcap_reader_init(&r, p.b, n), -EBADMSG);
	CHECK_EQ(pcap_reader_init(&r, NULL, 0), -EBADMSG);
	CHECK(memcmp(&r, &before, sizeof(r)) == 0);

	p.b[0] ^= 0xff; /* not a magic */
	CHECK_EQ(pcap_reader_init(&r, p.b, p.n), -EBADMSG);
	p.b[0] ^= 0xff;
	p.b[4] = 3; /* major version 3 */
	CHECK_EQ(pcap_reader_init(&r, p.b, p.n), -EBADMSG);
	CHECK(memcmp(&r, &before, sizeof(r)) == 0);
	p.b[4] = 2;
	CHECK_EQ(pcap_reader_init(&r, p.b, p.n), 0);
	CHECK_EQ(pcap_next(&r, &(struct pcap_pkt){ 0 }), 0); /* no records */
}

static void test_bad_records(void)
{
	struct pbuf p = { .be = 1 };
	struct pcap_reader r;
	struct pcap_pkt k, before;

	global_hdr(&p, 0xa1b2c3d4, 253);
	record(&p, 1, 2, 8, 8, 8);
	size_t full = p.n;
	memset(&k, 0x77, sizeof(k));
	before = k;
	/* every cut inside the record: header or data truncated */
	for (size_t n = 25; n < full; n++) {
		CHECK_EQ(pcap_reader_init(&r, p.b, n), 0);
		CHECK_EQ(pcap_next(&r, &k), -EBADMSG);
		CHECK_EQ(pcap_next(&r, &k), -EBADMSG); /* no progress past it */
	}
	CHECK(memcmp(&k, &before, sizeof(k)) == 0);

	/* caplen one more than the bytes left */
	p.n = 24;
	record(&p, 1, 2, 9, 9, 8);
	CHECK_EQ(pcap_reader_init(&r, p.b, p.n), 0);
	CHECK_EQ(pcap_next(&r, &k), -EBADMSG);
	/* a huge caplen must not wrap the bounds check */
	p.n = 24;
	record(&p, 1, 2, 0xffffffffu, 8, 8);
	CHECK_EQ(pcap_reader_init(&r, p.b, p.n), 0);
	CHECK_EQ(pcap_next(&r, &k), -EBADMSG);
	CHECK(memcmp(&k, &before, sizeof(k)) == 0);
}

static void test_caplen_limit(void)
{
	static unsigned char big[24 + 16 + 256 * 1024 + 1];
	struct pbuf p = { .be = 0 };
	struct pcap_reader r;
	struct pcap_pkt k;

	global_hdr(&p, 0xa1b2c3d4, 253);
	record(&p, 0, 0, 256 * 1024, 256 * 1024, 0);
	memcpy(big, p.b, p.n);
	/* exactly 256 KiB: accepted */
	CHECK_EQ(pcap_reader_init(&r, big, sizeof(big) - 1), 0);
	CHECK_EQ(pcap_next(&r, &k), 1);
	CHECK_EQ(k.caplen, 256 * 1024);
	CHECK_EQ(pcap_next(&r, &k), 0);
	/* one byte more, with the bytes present: still refused */
	p.n = 24;
	record(&p, 0, 0, 256 * 1024 + 1, 256 * 1024 + 1, 0);
	memcpy(big, p.b, p.n);
	CHECK_EQ(pcap_reader_init(&r, big, sizeof(big)), 0);
	CHECK_EQ(pcap_next(&r, &k), -EBADMSG);
}

/* ---- fixtures --------------------------------------------------------- */

#define MAX_RECS  16384
#define MAX_DUMPS 64

struct rec_key {
	uint64_t seq, ts;
	uint8_t family, state;
	uint16_t sport, dport;
};

struct collect {
	size_t n;
	int overflow;
	uint64_t last_ts, last_seq;
	int order_ok; /* timestamps and ordinals never go backwards */
	struct rec_key r[MAX_RECS];
};

static struct collect col;

static int on_rec(struct ts_record *rec, void *arg)
{
	struct collect *c = arg;

	if (rec->timestamp_ns < c->last_ts || rec->poll_seq < c->last_seq)
		c->order_ok = 0;
	c->last_ts = rec->timestamp_ns;
	c->last_seq = rec->poll_seq;
	if (c->n == MAX_RECS) {
		c->overflow = 1;
		return 0;
	}
	c->r[c->n++] = (struct rec_key){ rec->poll_seq, rec->timestamp_ns,
					 rec->family,	rec->state,
					 rec->sport,	rec->dport };
	return 0;
}

struct file_buf {
	unsigned char *b;
	size_t n;
};

static int read_file(const char *path, struct file_buf *f)
{
	FILE *fp = fopen(path, "rb");
	long n;

	if (!fp)
		return -errno;
	if (fseek(fp, 0, SEEK_END) < 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) < 0) {
		fclose(fp);
		return -EIO;
	}
	/* exact size (at least 1 byte): ASan then catches any overread */
	f->b = malloc(n ? (size_t)n : 1);
	f->n = (size_t)n;
	if (!f->b || fread(f->b, 1, f->n, fp) != f->n) {
		free(f->b);
		fclose(fp);
		return -EIO;
	}
	fclose(fp);
	return 0;
}

struct walk {
	uint8_t family[MAX_DUMPS]; /* sdiag_family of each request */
	unsigned requests;
	uint64_t first_ts, last_ts;
};

/* Walks a capture independently of replay.c: finds the SOCK_DIAG requests
 * and the capture's time span. */
static void walk_capture(const struct file_buf *f, struct walk *w)
{
	struct pcap_reader r;
	struct pcap_pkt k;
	struct nlmsghdr h;

	memset(w, 0, sizeof(*w));
	if (pcap_reader_init(&r, f->b, f->n) < 0)
		return;
	while (pcap_next(&r, &k) == 1) {
		if (!w->first_ts)
			w->first_ts = k.ts_ns;
		w->last_ts = k.ts_ns;
		if (k.caplen < 16 + sizeof(h) + 1 || k.data[14] != 0 ||
		    k.data[15] != NETLINK_SOCK_DIAG)
			continue;
		memcpy(&h, k.data + 16, sizeof(h));
		if ((h.nlmsg_flags & NLM_F_REQUEST) &&
		    h.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    w->requests < MAX_DUMPS)
			w->family[w->requests++] = k.data[16 + sizeof(h)];
	}
}

static int all_zero(const struct file_buf *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->b[i])
			return 0;
	return 1;
}

static int has_peer(size_t from, size_t to, const struct rec_key *cl)
{
	for (size_t i = from; i < to; i++) {
		const struct rec_key *s = &col.r[i];
		if (s->family == AF_INET6 && s->state == 1 &&
		    s->sport == cl->dport && s->dport == cl->sport)
			return 1;
	}
	return 0;
}

/* One ss run = dumps `d4` (AF_INET) and `d4 + 1` (AF_INET6). */
static void check_run(const char *name, unsigned n, uint64_t d4)
{
	static uint8_t seen[1000];
	size_t first = 0, mid, end;
	unsigned listeners = 0, clients = 0, paired = 0;

	while (first < col.n && col.r[first].seq < d4)
		first++;
	for (mid = first; mid < col.n && col.r[mid].seq == d4; mid++)
		;
	for (end = mid; end < col.n && col.r[end].seq == d4 + 1; end++)
		;
	memset(seen, 0, sizeof(seen));
	for (size_t i = mid; i < end; i++) {
		const struct rec_key *k = &col.r[i];
		unsigned port = (unsigned)k->sport - 4000u;
		if (k->state == 10 && port < n && !seen[port]) {
			seen[port] = 1;
			listeners++;
		}
	}
	for (size_t i = first; i < mid; i++) {
		const struct rec_key *k = &col.r[i];
		if (k->state != 1 || (unsigned)k->dport - 4000u >= n)
			continue;
		clients++;
		paired += (unsigned)has_peer(mid, end, k);
	}
	if (listeners != n || paired != clients || end - first < n)
		fprintf(stderr,
			"%s run %" PRIu64 ": %u/%u listeners, %u/%u "
			"clients with a server end, %zu records\n",
			name, (d4 + 1) / 2, listeners, n, paired, clients,
			end - first);
	CHECK_EQ(listeners, n);
	CHECK_EQ(paired, clients);
	CHECK(end - first >= n);
}

/* The tcp_N_sockets assertions; `w` is the independent walk. */
static void check_tcp_n(const char *name, unsigned n, const struct walk *w,
			const struct replay_stats *st)
{
	CHECK(st->requests > 0);
	CHECK_EQ(st->requests, w->requests);
	CHECK_EQ(st->dumps_done, st->requests);
	CHECK_EQ(st->errors, 0);
	CHECK_EQ(st->dump_intr, 0);
	CHECK_EQ(st->records, col.n);
	CHECK(!col.overflow);
	CHECK(col.order_ok);
	CHECK(n <= 1000);
	for (size_t i = 0; i < col.n; i++) {
		const struct rec_key *k = &col.r[i];
		if (k->seq < 1 || k->seq > w->requests ||
		    k->family != w->family[k->seq - 1] || k->ts < w->first_ts ||
		    k->ts > w->last_ts) {
			fprintf(stderr,
				"%s: record %zu: dump %" PRIu64
				", family %u, ts %" PRIu64 "\n",
				name, i, k->seq, k->family, k->ts);
			CHECK(0);
			break;
		}
	}
	/* ss dumps AF_INET, then AF_INET6, once per run */
	CHECK(w->requests % 2 == 0);
	for (unsigned d = 0; d + 1 < w->requests && d + 1 < MAX_DUMPS; d += 2) {
		CHECK_EQ(w->family[d], AF_INET);
		CHECK_EQ(w->family[d + 1], AF_INET6);
		check_run(name, n, d + 1);
	}
}

/* Cuts a real capture at every byte (and flips bytes) on exact-size heap
 * copies: replay must stay inside the buffer and account for the damage. */
static void check_cuts(const struct file_buf *f)
{
	struct replay_stats st;
	unsigned char *copy = malloc(f->n);
	uint32_t x = 12345;
	unsigned clean = 0;

	CHECK(copy != NULL);
	if (!copy)
		return;

	for (size_t n = 0; n < f->n; n++) {
		memcpy(copy, f->b, n);
		col.n = 0;
		int rc = replay_buffer(copy, n, on_rec, &col, &st);
		CHECK(rc == (n < 24 ? -EBADMSG : 0));
		if (n >= 24 && n < f->n && st.dumps_done == st.requests &&
		    st.errors == 0) {
			clean++;
			/* only a cut exactly between records is clean */
			struct pcap_reader r;
			struct pcap_pkt k;
			int last = 1;
			CHECK_EQ(pcap_reader_init(&r, copy, n), 0);
			while ((last = pcap_next(&r, &k)) == 1)
				;
			CHECK_EQ(last, 0);
		}
	}
	for (int round = 0; round < 2000; round++) {
		memcpy(copy, f->b, f->n);
		for (int j = 0; j < 4; j++) {
			x = x * 1103515245u + 12345u;
			copy[24 + (x >> 8) % (f->n - 24)] ^=
				(unsigned char)(x >> 3 | 1);
		}
		col.n = 0;
		(void)replay_buffer(copy, f->n, on_rec, &col, &st);
	}
	printf("cut at %zu offsets (%u between dumps), 2000 corruptions\n",
	       f->n, clean);
	free(copy);
}

static void replay_one(const char *dir, const char *name)
{
	char path[4096];
	struct file_buf f = { NULL, 0 };
	struct replay_stats st;
	struct walk w;
	unsigned n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path) ||
	    read_file(path, &f) < 0) {
		fprintf(stderr, "%s: unreadable\n", path);
		CHECK(0);
		return;
	}
	memset(&col, 0, offsetof(struct collect, r));
	col.order_ok = 1;
	char err[160];
	int rc = replay_file(path, on_rec, &col, &st, err, sizeof(err));
	if (all_zero(&f)) {
		/* a known-broken fixture (all NUL bytes): must be refused */
		fprintf(stderr, "NOTE %s: all NUL bytes, refused with %d\n",
			path, rc);
		CHECK_EQ(rc, -EBADMSG);
		free(f.b);
		return;
	}
	CHECK_EQ(rc, 0);
	CHECK(st.packets > 0);
	CHECK_EQ(st.records, col.n);
	/* the only tolerated "error": a capture that ends inside a dump */
	CHECK_EQ(st.errors, st.requests - st.dumps_done);
	walk_capture(&f, &w);
	if (sscanf(name, "%*[0-9_]tcp_%u_sockets", &n) == 1 ||
	    sscanf(name, "tcp_%u_sockets", &n) == 1) {
		check_tcp_n(path, n, &w, &st);
		printf("%-55s %3" PRIu64 " dumps, %5" PRIu64 " records\n", path,
		       st.requests, st.records);
	}
	if (strcmp(name, "4_19_319_tcp_10_sockets.pcap") == 0)
		check_cuts(&f);
	free(f.b);
}

static int is_pcap(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".pcap") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_fixtures(const char *root)
{
	unsigned tcp_files = 0;

	for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
		char dir[4096], *names[256];
		size_t nn = 0;
		struct dirent *e;
		DIR *d;

		if (snprintf(dir, sizeof(dir), "%s/%s", root, kernels[i]) >=
		    (int)sizeof(dir))
			continue;
		d = opendir(dir);
		CHECK(d != NULL);
		if (!d)
			continue;
		while ((e = readdir(d)) && nn < 256)
			if (is_pcap(e->d_name))
				names[nn++] = strdup(e->d_name);
		closedir(d);
		qsort(names, nn, sizeof(names[0]), cmp_str);
		for (size_t j = 0; j < nn; j++) {
			tcp_files += strstr(names[j], "_sockets") != NULL;
			replay_one(dir, names[j]);
			free(names[j]);
		}
	}
	CHECK(tcp_files >= 15);
}

int main(void)
{
	test_orders(0, 0);
	test_orders(0, 1);
	test_orders(1, 0);
	test_orders(1, 1);
	test_bad_headers();
	test_bad_records();
	test_caplen_limit();
	replay_fixtures(check_fixtures());
	return check_exit();
}
