/*
 * check.h - the minimal assertion kit every C test uses.
 *
 * A test is one executable per feature: it runs its cases, each CHECK that
 * fails prints file:line and the expression, and check_exit() returns 1 if
 * any failed. TEST_SKIP() prints why and exits 77, meson's "skipped".
 * Fixtures: check_fixtures() returns $TCPSCOPE_FIXTURES, else
 * $TCPSCOPE_FIXTURES_DEFAULT (set by meson), or skips when neither exists.
 */
#ifndef TS_CHECK_H
#define TS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int check_failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #cond);                              \
			check_failures++;                                      \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);               \
		if (a_ != b_) {                                                \
			fprintf(stderr,                                        \
				"%s:%d: %s == %s failed: %" PRIu64             \
				" != %" PRIu64 "\n",                           \
				__FILE__, __LINE__, #a, #b, a_, b_);           \
			check_failures++;                                      \
		}                                                              \
	} while (0)

/* xorshift64: a repeatable pseudo-random sequence for tests that try many
 * inputs, so a failure reruns the same way. *state must not be 0. */
static inline uint64_t check_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#define TEST_SKIP(...)                                                         \
	do {                                                                   \
		fprintf(stderr, "SKIP: " __VA_ARGS__);                         \
		fprintf(stderr, "\n");                                         \
		exit(77);                                                      \
	} while (0)

static inline const char *check_fixtures(void)
{
	const char *cands[] = { getenv("TCPSCOPE_FIXTURES"),
				getenv("TCPSCOPE_FIXTURES_DEFAULT") };
	struct stat st;
	for (unsigned i = 0; i < 2; i++)
		if (cands[i] && stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
			return cands[i];
	TEST_SKIP("sock_diag fixtures not found (set TCPSCOPE_FIXTURES to "
		  "../shared/fixtures/sockdiag)");
	return NULL;
}

static inline int check_exit(void)
{
	if (check_failures)
		fprintf(stderr, "%d check(s) failed\n", check_failures);
	return check_failures ? 1 : 0;
}

#endif
