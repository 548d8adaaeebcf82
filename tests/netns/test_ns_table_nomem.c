/*
 * test_ns_table_nomem.c - a reconcile that runs out of memory leaves the
 * namespace table consistent: whichever allocation fails (the k-th, for
 * every k a reconcile makes), every target the poll is handed afterwards is
 * a live namespace (never one the reconcile released), the host is among
 * them, and the poll over them works; the next reconcile with memory
 * catches up. Namespaces come and go between reconciles, over 2 workers.
 *
 * The allocator fails on demand: this test is linked with
 * -Wl,--wrap=malloc,calloc,realloc,free, so the table's allocations go
 * through the wrappers below; free poisons the block, so that a target
 * left pointing at a released entry is seen even without ASan (which
 * reports it as a use after free). Needs CAP_SYS_ADMIN (skips otherwise).
 */
#include <malloc.h>

#include "ns_table_test.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static long fail_at = -1; /* allocations left before one fails; -1: none */
static int failed_one;	  /* the armed failure happened */

static int fail_now(void)
{
	if (fail_at < 0 || fail_at-- > 0)
		return 0;
	failed_one = 1;
	errno = ENOMEM;
	return 1;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	return fail_now() ? NULL : __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __real_realloc(p, n);
}

void __wrap_free(void *p)
{
	if (p)
		memset(p, 0xdb, malloc_usable_size(p));
	__real_free(p);
}

#define NNS	 4
#define NWORKERS 2

static struct poll_loop loops[NWORKERS];
static struct nt_tree tree;
static int nsfd[NNS];
static unsigned linked; /* bit i: names[i] is linked */
static const char *const names[NNS] = { "a", "b", "c", "d" };
static uint64_t host_ino, seq;

static void set_links(unsigned mask)
{
	for (int i = 0; i < NNS; i++)
		if ((linked ^ mask) & 1u << i)
			nt_link(&tree, names[i], mask & 1u << i ? nsfd[i] : -1);
	linked = mask;
}

/* Every target is the host or a linked namespace, each at most once, and
 * a poll over them works; with `exact`, every linked namespace and the
 * host are there (else the host may be missing only from a first
 * reconcile that could not add it). */
static void check_targets(struct ns_table *t, int exact, int first)
{
	unsigned seen[NNS] = { 0 }, host = 0;
	uint64_t records = 0;

	for (unsigned w = 0; w < NWORKERS; w++) {
		size_t n;
		struct poll_target *const *v = ns_table_targets(t, w, &n);
		for (size_t k = 0; k < n; k++) {
			uint64_t ino = v[k]->netns_inode;
			int found = ino == host_ino;
			host += found;
			for (int i = 0; i < NNS; i++)
				if (ino == nt_ino(nsfd[i])) {
					CHECK(linked & 1u << i);
					seen[i]++;
					found = 1;
				}
			CHECK(found);
		}
	}
	CHECK(host == 1 || (host == 0 && first && !exact));
	for (int i = 0; i < NNS; i++) {
		CHECK(seen[i] <= 1);
		if (exact)
			CHECK_EQ(seen[i], !!(linked & 1u << i));
	}
	CHECK_EQ(nt_poll(t, loops, ++seq, &records), 0);
	CHECK(records > 0 || !host); /* the host has this test's listener */
}

/* From links `from` (reconciled with memory) to `to`, reconciled with its
 * k-th allocation failing, then again with memory. 0 when the reconcile
 * made fewer than k + 1 allocations: no k left to try. `first`: the
 * table is new, the failing reconcile is its first (every array grows). */
static int step_failing(struct ns_table *t, int first, unsigned from,
			unsigned to, long k)
{
	struct ns_reconcile_stats st;

	set_links(from);
	if (!first) {
		CHECK(ns_table_reconcile(t, &st) == 0);
		check_targets(t, 1, 0);
	}
	set_links(to);
	failed_one = 0;
	fail_at = k;
	(void)ns_table_reconcile(t, &st);
	fail_at = -1;
	check_targets(t, 0, first);
	if (failed_one) /* what could not be added is counted, with why */
		CHECK(st.failed > 0 && st.error == -ENOMEM &&
		      strstr(st.errmsg, strerror(ENOMEM)));
	CHECK(ns_table_reconcile(t, &st) == 0);
	check_targets(t, 1, 0);
	return failed_one;
}

int main(void)
{
	static const struct poll_config pc = {
		.engine = POLL_ENGINE_SYSCALL,
		.families = POLL_FAM_INET | POLL_FAM_INET6,
		.states = 1u << 10, /* listeners: the host may hold many more */
	};
	struct ns_table t;
	struct ns_table_cfg cfg;
	int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	long tries = 0;

	for (int i = 0; i < NNS; i++)
		nsfd[i] = nt_netns();
	host_ino = nt_ino(self);
	if (lst < 0 || listen(lst, 1) < 0) {
		perror("listen");
		return 1;
	}
	nt_tree_make(&tree);
	cfg = nt_cfg(&tree, NWORKERS, loops, &pc);
	/* 1: the first reconcile (every array grows) failing anywhere */
	for (long k = 0;; k++, tries++) {
		CHECK(ns_table_init(&t, &cfg) == 0);
		int more = step_failing(&t, 1, 3, 3, k);
		ns_table_release(&t);
		if (!more)
			break;
	}
	/* 2: namespaces come and go ({a,b} -> {b,c} -> {c,d} ...), each
	 * step's reconcile failing anywhere */
	CHECK(ns_table_init(&t, &cfg) == 0);
	for (int s = 0; s < NNS; s++) {
		unsigned from = (3u << s | 3u >> (NNS - s)) & 15;
		unsigned to = (3u << (s + 1) | 3u >> (NNS - s - 1)) & 15;
		for (long k = 0; step_failing(&t, 0, from, to, k); k++)
			tries++;
	}
	fprintf(stderr, "%ld reconciles with a failed allocation\n", tries);
	CHECK(tries > NNS);
	ns_table_release(&t);
	for (unsigned w = 0; w < NWORKERS; w++)
		poll_loop_release(&loops[w]);
	set_links(0);
	nt_tree_remove(&tree);
	close(lst);
	close(self);
	return check_exit();
}
