/*
 * test_caps_drop - the capability drop of src/service/caps.c, against the
 * real kernel, each case in a child process of its own (root needed: the
 * test skips otherwise):
 *  - root (with an ambient capability too): permitted, effective and
 *    bounding become the three kept capabilities, inheritable and
 *    ambient empty, in the calling thread
 *    and in a thread made after the drop; nothing is printed;
 *  - the systemd unit's sets (an unprivileged uid with the three as
 *    ambient capabilities): left as they are, nothing printed, and no
 *    capset is needed (it works with capset refused, as the unit's
 *    seccomp filter does);
 *  - root without CAP_SYS_PTRACE: the two others kept, one line says
 *    what is lost without it;
 *  - an ordinary user (no capability): nothing changes, nothing printed;
 *  - root with capset refused (seccomp): -EPERM and one line saying the
 *    drop failed (main then exits 1).
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "service/caps.h"

#define BIT(c)	 (1ull << (c))
#define KEPT	 (BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_PTRACE) | BIT(CAP_NET_ADMIN))
#define UNIT_UID 61234 /* as DynamicUser= picks one: no passwd entry */

struct sets {
	uint64_t inh, prm, eff, bnd, amb;
};

/* The five sets of a status file (/proc/self/status, thread-self). */
static int read_sets(const char *path, struct sets *out)
{
	FILE *f = fopen(path, "re");
	char line[256];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char key[16];
		if (sscanf(line, "Cap%15[^:]:%llx", key, &v) != 2)
			continue;
		n++;
		if (!strcmp(key, "Inh"))
			out->inh = v;
		else if (!strcmp(key, "Prm"))
			out->prm = v;
		else if (!strcmp(key, "Eff"))
			out->eff = v;
		else if (!strcmp(key, "Bnd"))
			out->bnd = v;
		else if (!strcmp(key, "Amb"))
			out->amb = v;
		else
			n--;
	}
	fclose(f);
	return n == 5 ? 0 : -EBADMSG;
}

static void *thread_sets(void *arg)
{
	CHECK(read_sets("/proc/thread-self/status", arg) == 0);
	return NULL;
}

/* Runs ts_caps_drop() with err into a buffer: its return value. */
static int drop(char *msg, size_t n)
{
	FILE *err = fmemopen(msg, n, "w");
	int rc;

	memset(msg, 0, n);
	if (!err)
		return -errno;
	rc = ts_caps_drop(err);
	fclose(err);
	return rc;
}

/* Runs fn in a child; the child's failed checks are its exit status. */
static void in_child(const char *what, void (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		fn();
		fflush(NULL);
		_exit(check_failures ? 1 : 0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "case '%s' failed\n", what);
		check_failures++;
	}
}

static void root_drop(void)
{
	cap_value_t chown = CAP_CHOWN;
	cap_t c = cap_get_proc();
	struct sets s, t;
	pthread_t th;
	char msg[512];

	/* an ambient capability tcpscope could have been started with */
	CHECK(cap_set_flag(c, CAP_INHERITABLE, 1, &chown, CAP_SET) == 0);
	CHECK(cap_set_proc(c) == 0);
	CHECK(cap_set_ambient(CAP_CHOWN, CAP_SET) == 0);
	cap_free(c);
	CHECK(drop(msg, sizeof(msg)) == 0);
	CHECK(msg[0] == '\0');
	CHECK(read_sets("/proc/thread-self/status", &s) == 0);
	CHECK_EQ(s.prm, KEPT);
	CHECK_EQ(s.eff, KEPT);
	CHECK_EQ(s.bnd, KEPT);
	CHECK_EQ(s.inh, 0);
	CHECK_EQ(s.amb, 0);
	/* the setns opener and the workers are made after the drop */
	CHECK(pthread_create(&th, NULL, thread_sets, &t) == 0);
	pthread_join(th, NULL);
	CHECK(memcmp(&s, &t, sizeof(s)) == 0);
}

/* As systemd starts the unit: keep the capabilities over the uid change,
 * then permitted = effective = inheritable = ambient = the kept ones. */
static void become_unit_user(void)
{
	cap_value_t v[] = { CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_NET_ADMIN };
	cap_t c = cap_init();

	CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == 0);
	CHECK(setresgid(UNIT_UID, UNIT_UID, UNIT_UID) == 0);
	CHECK(setresuid(UNIT_UID, UNIT_UID, UNIT_UID) == 0);
	CHECK(cap_set_flag(c, CAP_PERMITTED, 3, v, CAP_SET) == 0);
	CHECK(cap_set_flag(c, CAP_EFFECTIVE, 3, v, CAP_SET) == 0);
	CHECK(cap_set_flag(c, CAP_INHERITABLE, 3, v, CAP_SET) == 0);
	CHECK(cap_set_proc(c) == 0);
	cap_free(c);
	for (unsigned i = 0; i < 3; i++)
		CHECK(cap_set_ambient(v[i], CAP_SET) == 0);
}

/* capset fails with EPERM from now on, as under the unit's
 * SystemCallFilter=~@privileged. */
static int refuse_capset(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_capset, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	return 0;
}

static void unit_sets(void)
{
	struct sets before, after;
	char msg[512];

	become_unit_user();
	CHECK(read_sets("/proc/self/status", &before) == 0);
	CHECK_EQ(before.amb, KEPT);
	CHECK(refuse_capset() == 0);
	CHECK(drop(msg, sizeof(msg)) == 0);
	CHECK(msg[0] == '\0');
	CHECK(read_sets("/proc/self/status", &after) == 0);
	CHECK(memcmp(&before, &after, sizeof(before)) == 0);
}

static void root_without_ptrace(void)
{
	cap_value_t p = CAP_SYS_PTRACE;
	cap_t c = cap_get_proc();
	struct sets s;
	char msg[512];

	CHECK(cap_set_flag(c, CAP_PERMITTED, 1, &p, CAP_CLEAR) == 0);
	CHECK(cap_set_flag(c, CAP_EFFECTIVE, 1, &p, CAP_CLEAR) == 0);
	CHECK(cap_set_proc(c) == 0);
	cap_free(c);
	CHECK(drop(msg, sizeof(msg)) == 0);
	CHECK(read_sets("/proc/self/status", &s) == 0);
	CHECK_EQ(s.prm, KEPT & ~BIT(CAP_SYS_PTRACE));
	CHECK_EQ(s.eff, KEPT & ~BIT(CAP_SYS_PTRACE));
	CHECK(strncmp(msg, "tcpscope: without CAP_SYS_PTRACE: ", 34) == 0);
	CHECK(strchr(msg, '\n') == msg + strlen(msg) - 1); /* one line */
}

static void ordinary_user(void)
{
	struct sets before, after;
	char msg[512];

	CHECK(setresgid(65534, 65534, 65534) == 0);
	CHECK(setresuid(65534, 65534, 65534) == 0);
	CHECK(read_sets("/proc/self/status", &before) == 0);
	CHECK_EQ(before.prm, 0);
	CHECK(drop(msg, sizeof(msg)) == 0);
	CHECK(msg[0] == '\0');
	CHECK(read_sets("/proc/self/status", &after) == 0);
	CHECK(memcmp(&before, &after, sizeof(before)) == 0);
}

static void root_capset_refused(void)
{
	char msg[512];

	CHECK(refuse_capset() == 0);
	CHECK(drop(msg, sizeof(msg)) == -EPERM);
	CHECK(strcmp(msg, "tcpscope: cannot drop capabilities: Operation not "
			  "permitted\n") == 0);
}

int main(void)
{
	if (geteuid() != 0)
		TEST_SKIP("needs root (drops capabilities, changes uid)");
	if (!CAP_AMBIENT_SUPPORTED())
		TEST_SKIP("no ambient capabilities in this kernel");
	in_child("root", root_drop);
	in_child("the unit's ambient sets", unit_sets);
	in_child("root without CAP_SYS_PTRACE", root_without_ptrace);
	in_child("an ordinary user", ordinary_user);
	in_child("root, capset refused", root_capset_refused);
	return check_exit();
}
