/* Minimal checking for the runtime test programs.
 *
 * Checks are counted in groups; each group prints one line, and
 * check_summary() prints "N passed, M failed" and gives the exit status.
 * A failed check prints its location and message to stderr. */
#ifndef RYOT_TEST_CHECK_H
#define RYOT_TEST_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;
static int group_passed, group_failed;
static const char *group_name;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            group_passed++;                                                     \
        } else {                                                                \
            group_failed++;                                                     \
            fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);              \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

static inline void group_begin(const char *name)
{
    group_name = name;
    group_passed = group_failed = 0;
}

static inline void group_end(void)
{
    if (group_failed)
        printf("%-40s FAILED (%d of %d checks)\n", group_name, group_failed,
               group_passed + group_failed);
    else
        printf("%-40s ok (%d checks)\n", group_name, group_passed);
    fflush(stdout);
    check_passed += group_passed;
    check_failed += group_failed;
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
