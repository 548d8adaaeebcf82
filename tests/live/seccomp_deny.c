/*
 * seccomp_deny - runs a program with io_uring_setup(2) refused.
 *
 *   seccomp_deny ERRNO[:MIN_ENTRIES] PROGRAM [ARG...]
 *
 * Installs a seccomp filter (prctl(PR_SET_NO_NEW_PRIVS), then
 * seccomp(SECCOMP_SET_MODE_FILTER)) that makes io_uring_setup fail with
 * ERRNO (a name such as EPERM or ENOSYS, or a number) and allows every other
 * system call, checks that the filter works, then execv()s PROGRAM: the
 * filter is inherited by it and by its threads. With MIN_ENTRIES, only
 * rings of at least that many entries (io_uring_setup's first argument)
 * are refused: a small probe ring works, the real one does not (as with a
 * tight RLIMIT_MEMLOCK on kernels before 5.12). A system call of another
 * architecture (e.g. the 32-bit ABI on x86-64) kills the process: the
 * filter would not know its numbers.
 * Exit status: 2 on a usage error; 126 when the filter cannot be installed
 * here (the test skips that part; the reason is on stderr, starting with
 * "seccomp_deny: cannot"); 127 when PROGRAM cannot be executed.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425 /* the same on every architecture */
#endif

#if defined(__x86_64__) && defined(__ILP32__)
#define DENY_ARCH 0 /* x32: syscall numbers carry __X32_SYSCALL_BIT */
#elif defined(__x86_64__)
#define DENY_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define DENY_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define DENY_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && !defined(__ARMEB__)
#define DENY_ARCH AUDIT_ARCH_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define DENY_ARCH AUDIT_ARCH_RISCV64
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define DENY_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define DENY_ARCH AUDIT_ARCH_S390X
#elif defined(__loongarch64)
#define DENY_ARCH AUDIT_ARCH_LOONGARCH64
#else
#define DENY_ARCH 0
#endif

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EPERM", EPERM },   { "ENOSYS", ENOSYS }, { "EACCES", EACCES },
	{ "EINVAL", EINVAL }, { "ENOMEM", ENOMEM },
};

static int parse_errno(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(s, errnos[i].name) == 0)
			return errnos[i].err;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 4095 || v == EFAULT)
		return -1;
	return (int)v;
}

/* The low 32 bits of io_uring_setup's first argument (entries, a u32). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG0_LO offsetof(struct seccomp_data, args[0])
#else
#define ARG0_LO (offsetof(struct seccomp_data, args[0]) + 4)
#endif

int main(int argc, char **argv)
{
	char spec[32], *colon, *end;
	unsigned long min_entries = 0;
	int err = -1;

	if (argc >= 3 && strlen(argv[1]) < sizeof(spec)) {
		strcpy(spec, argv[1]);
		colon = strchr(spec, ':');
		if (colon) {
			*colon = 0;
			errno = 0;
			min_entries = strtoul(colon + 1, &end, 10);
			if (errno || end == colon + 1 || *end ||
			    min_entries > 65536)
				spec[0] = 0;
		}
		err = parse_errno(spec);
	}
	if (err < 0) {
		fprintf(stderr, "usage: seccomp_deny ERRNO[:MIN_ENTRIES] "
				"PROGRAM [ARG...] (ERRNO: EPERM, ENOSYS, ... or "
				"a number, not EFAULT)\n");
		return 2;
	}
	if (DENY_ARCH == 0) {
		fprintf(stderr, "seccomp_deny: cannot filter on this "
				"architecture (no AUDIT_ARCH known)\n");
		return 126;
	}

	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, DENY_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0_LO),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (unsigned)min_entries, 0, 1),
		BPF_STMT(BPF_RET | BPF_K,
			 SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = {
		.len = (unsigned short)(sizeof(prog) / sizeof(prog[0])),
		.filter = prog,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "seccomp_deny: cannot set no_new_privs: %s\n",
			strerror(errno));
		return 126;
	}
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
		fprintf(stderr, "seccomp_deny: cannot install the filter: %s\n",
			strerror(errno));
		return 126;
	}
	/* the real call fails with EFAULT (no params): the filter's errno
	 * (EFAULT is refused above) proves that the filter answered */
	errno = 0;
	if (syscall(__NR_io_uring_setup, min_entries ? min_entries : 1, NULL) !=
		    -1 ||
	    errno != err) {
		fprintf(stderr,
			"seccomp_deny: cannot verify the filter: io_uring_setup "
			"gave errno %d (%s), expected %d\n",
			errno, strerror(errno), err);
		return 126;
	}
	execv(argv[2], argv + 2);
	fprintf(stderr, "seccomp_deny: cannot execute %s: %s\n", argv[2],
		strerror(errno));
	return 127;
}
