/* Minimal checking for the runtime test programs.
 *
 * Checks are counted in groups; each group prints one line, and
 * check_summary() prints "N passed, M failed" and gives the exit status.
 * A failed check prints its location and message to stderr. */
#ifndef RYOT_TEST_CHECK_H
#define RYOT_TEST_CHECK_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

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

/* The whole file at `path`, NUL-terminated (malloc'd; *size excludes the
 * NUL), or NULL. */
static inline char *test_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *size = (size_t)n;
    return buf;
}

/* A fresh folder dir[len] for a test's files ($TMPDIR or /tmp), removed
 * with everything in it by test_tmpdir_remove(dir). */
static inline int test_tmpdir_create(char *dir, size_t len, const char *test_name)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/ryot-%s-XXXXXX", base ? base : "/tmp", test_name);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

static inline int test_tmpdir_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static inline void test_tmpdir_remove(const char *dir)
{
    if (nftw(dir, test_tmpdir_remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static inline int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
