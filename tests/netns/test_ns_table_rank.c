/*
 * test_ns_table_rank.c - the namespace table's ranks. Namespaces: the
 * host, a bind mount (root's), and, found through "processes", U1, U2, U3
 * (owned by user namespaces of their own: anyone can make those) and R2
 * (root's, no bind mount).
 *  - No cap: every one is polled, listed host first, then root's (the
 *    bind mount, R2), then the others.
 *  - --netns-max 4, R2 not there yet: the host, the bind mount and two of
 *    the U are polled, the third is counted over the cap. R2 appears: it
 *    takes the place of one of the U (2 over the cap, and the same again
 *    next time: no churn).
 *  - The bind mount goes: a U is polled in its place.
 *  - The fd limit ranks the same way (see fd_limit_ranks()).
 * Needs CAP_SYS_ADMIN (skips otherwise).
 */
#include <sys/resource.h>

#include "ns_table_test.h"

enum { MNT, U1, U2, R2, U3, NNS };

static struct poll_loop loop;
static struct nt_tree tree;
static int nsfd[NNS];
static uint64_t ino[NNS], host_ino;

/* The index (host = NNS) of each target of the one worker, in order. */
static size_t targets(struct ns_table *t, int *out)
{
	size_t n;
	struct poll_target *const *v = ns_table_targets(t, 0, &n);

	for (size_t k = 0; k < n; k++) {
		out[k] = -1;
		if (v[k]->netns_inode == host_ino)
			out[k] = NNS;
		for (int i = 0; i < NNS; i++)
			if (v[k]->netns_inode == ino[i])
				out[k] = i;
		CHECK(out[k] >= 0);
	}
	return n;
}

static void reconcile(struct ns_table *t, struct ns_reconcile_stats *st)
{
	CHECK(ns_table_reconcile(t, st) == 0);
	CHECK_EQ(st->failed, 0);
	CHECK_EQ(st->skipped, 0);
}

static int in(const int *v, size_t n, int x)
{
	for (size_t k = 0; k < n; k++)
		if (v[k] == x)
			return 1;
	return 0;
}

/* The fd limit ranks the same way: with room for 3 namespaces (2 fds
 * each, past the fds open at start and the reserve), the host, the bind
 * mount and the first U are polled, the other U fail with EMFILE; R2
 * appears and takes the U's place. */
static void fd_limit_ranks(struct ns_table_cfg *cfg)
{
	struct ns_reconcile_stats st;
	struct ns_table t;
	struct rlimit old, rl;
	int v[16];
	size_t n;

	nt_link(&tree, "mnt", nsfd[MNT]);
	nt_proc_link(&tree, 103, -1);
	cfg->netns_max = 0;
	CHECK(ns_table_init(&t, cfg) == 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	rl = old;
	rl.rlim_cur = t.base_fds + NS_FD_RESERVE + 2 * 3;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	for (int with_r2 = 0; with_r2 < 2; with_r2++) {
		if (with_r2)
			nt_proc_link(&tree, 103, nsfd[R2]);
		CHECK(ns_table_reconcile(&t, &st) == 0);
		CHECK_EQ(st.total, NNS + with_r2);
		CHECK_EQ(st.failed, 2 + with_r2);
		CHECK_EQ(st.capped, 0);
		CHECK(st.error == -EMFILE &&
		      strstr(st.errmsg, strerror(EMFILE)) != NULL);
		n = targets(&t, v);
		CHECK(n == 3 && v[0] == NNS && v[1] == MNT &&
		      (with_r2 ? v[2] == R2 : v[2] != R2));
	}
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	ns_table_release(&t);
}

int main(void)
{
	static const struct poll_config pc = {
		.engine = POLL_ENGINE_SYSCALL,
		.families = POLL_FAM_INET,
		.states = 1u << 10,
	};
	struct ns_reconcile_stats st;
	struct ns_table t;
	struct ns_table_cfg cfg;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), v[16];
	size_t n;

	host_ino = nt_ino(self);
	nsfd[MNT] = nt_netns();
	nsfd[R2] = nt_netns();
	nsfd[U1] = nt_user_netns();
	nsfd[U2] = nt_user_netns();
	nsfd[U3] = nt_user_netns();
	for (int i = 0; i < NNS; i++)
		ino[i] = nt_ino(nsfd[i]);
	nt_tree_make(&tree);
	nt_link(&tree, "mnt", nsfd[MNT]);
	nt_proc_link(&tree, 101, nsfd[U1]);
	nt_proc_link(&tree, 102, nsfd[U2]);
	nt_proc_link(&tree, 104, nsfd[U3]);
	nt_proc_link(&tree, 103, nsfd[R2]);
	cfg = nt_cfg(&tree, 1, &loop, &pc);

	/* no cap: all, in rank order */
	CHECK(ns_table_init(&t, &cfg) == 0);
	reconcile(&t, &st);
	CHECK_EQ(st.total, NNS + 1);
	CHECK_EQ(st.capped, 0);
	n = targets(&t, v);
	CHECK_EQ(n, NNS + 1);
	CHECK(n == NNS + 1 && v[0] == NNS && in(v + 1, 2, MNT) &&
	      in(v + 1, 2, R2) && in(v + 3, 3, U1) && in(v + 3, 3, U2) &&
	      in(v + 3, 3, U3));
	ns_table_release(&t);

	/* --netns-max 4: host, bind mount, two of the U */
	nt_proc_link(&tree, 103, -1);
	cfg.netns_max = 4;
	CHECK(ns_table_init(&t, &cfg) == 0);
	reconcile(&t, &st);
	CHECK_EQ(st.total, NNS);
	CHECK_EQ(st.capped, 1);
	n = targets(&t, v);
	CHECK(n == 4 && v[0] == NNS && v[1] == MNT && v[2] != R2 && v[3] != R2);
	/* R2 appears: in place of a U, and the same next time */
	nt_proc_link(&tree, 103, nsfd[R2]);
	int first[4] = { 0 };
	for (int round = 0; round < 2; round++) {
		reconcile(&t, &st);
		CHECK_EQ(st.total, NNS + 1);
		CHECK_EQ(st.capped, 2);
		CHECK_EQ(st.removed, 0);
		n = targets(&t, v);
		CHECK(n == 4 && v[0] == NNS && in(v + 1, 2, MNT) &&
		      in(v + 1, 2, R2) && v[3] != MNT && v[3] != R2);
		if (round == 0)
			memcpy(first, v, sizeof(first));
		else
			CHECK(memcmp(first, v, sizeof(first)) == 0);
	}
	/* the bind mount goes: a U is polled in its place */
	nt_link(&tree, "mnt", -1);
	reconcile(&t, &st);
	CHECK_EQ(st.removed, 1);
	reconcile(&t, &st);
	CHECK_EQ(st.total, NNS);
	CHECK_EQ(st.capped, 1);
	n = targets(&t, v);
	CHECK(n == 4 && v[0] == NNS && v[1] == R2 && v[2] != MNT &&
	      v[3] != MNT && v[2] != v[3]);
	uint64_t records = 0;
	CHECK_EQ(nt_poll(&t, &loop, 1, &records), 0);
	ns_table_release(&t);

	fd_limit_ranks(&cfg);
	poll_loop_release(&loop);
	for (int pid = 101; pid <= 104; pid++)
		nt_proc_link(&tree, pid, -1);
	nt_tree_remove(&tree);
	close(self);
	return check_exit();
}
