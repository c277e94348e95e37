/* Arena (runtime/arena.c): alignment, zero fill, mark/reset, exhaustion
 * messages, per-thread scratch layout, huge-page advice, and (under
 * AddressSanitizer) poisoning of the space that was not handed out. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "error.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static bool message_has(const char *a, const char *b, const char *c)
{
    const char *m = ryot_last_error();
    return strstr(m, a) && (!b || strstr(m, b)) && (!c || strstr(m, c));
}

static void test_init_errors(void)
{
    group_begin("arena_init rejects bad sizes");
    struct arena a;
    CHECK(arena_init(&a, 0) == -1 && message_has("0 bytes", NULL, NULL), "size 0: '%s'", ryot_last_error());
    CHECK(a.base == NULL, "base after failure");
    CHECK(arena_init(&a, SIZE_MAX) == -1 && message_has("18446744073709551615", NULL, NULL), "SIZE_MAX: '%s'",
          ryot_last_error());
    CHECK(arena_alloc(&a, 16, 0) == NULL && message_has("not initialised", NULL, NULL),
          "alloc from a failed arena: '%s'", ryot_last_error());
    arena_destroy(&a);
    arena_destroy(&a);
    group_end();
}

static void test_alignment(void)
{
    group_begin("arena_alloc aligns, zero-fills, never overlaps");
    struct arena a;
    CHECK(arena_init(&a, 1 << 20) == 0, "%s", ryot_last_error());
    unsigned char *prev_end = a.base;
    const size_t sizes[] = { 1, 3, 64, 100, 4095, 7 };
    for (size_t align = 1; align <= 8192; align *= 2)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            const size_t size = sizes[k];
            unsigned char *p = arena_alloc(&a, size, align);
            CHECK(p != NULL, "align %zu size %zu: %s", align, size, ryot_last_error());
            if (!p)
                continue;
            CHECK((uintptr_t)p % align == 0, "align %zu: %p", align, (void *)p);
            CHECK(p >= prev_end, "align %zu size %zu overlaps the previous allocation", align, size);
            CHECK(all_zero(p, size), "align %zu size %zu not zero-filled", align, size);
            CHECK(a.used == (size_t)(p - a.base) + size, "used %zu", a.used);
            memset(p, 0xa5, size);
            prev_end = p + size;
        }
    unsigned char *d = arena_alloc(&a, 10, 0);
    CHECK(d && (uintptr_t)d % ARENA_ALIGN == 0, "align 0 means %d", ARENA_ALIGN);
    unsigned char *z = arena_alloc(&a, 0, 0);
    CHECK(z && (uintptr_t)z % ARENA_ALIGN == 0, "size 0 gives an aligned pointer");
    const size_t bad[] = { 3, 48, 65, SIZE_MAX };
    for (int i = 0; i < 4; i++) {
        const size_t used = a.used;
        CHECK(arena_alloc(&a, 8, bad[i]) == NULL && message_has("not a power of two", NULL, NULL),
              "alignment %zu: '%s'", bad[i], ryot_last_error());
        CHECK(a.used == used, "failed alloc changed used");
    }
    arena_destroy(&a);
    CHECK(a.base == NULL && a.used == 0 && a.size == 0, "destroy clears the struct");
    group_end();
}

/* The line starting with `key` in the smaps entry of the mapping holding
 * `addr`, into out; false when there is none. */
static bool smaps_line(const void *addr, const char *key, char *out, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    bool in_region = false, found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in_region = lo <= (uintptr_t)addr && (uintptr_t)addr < hi;
        else if (in_region && !strncmp(line, key, strlen(key)))
            found = snprintf(out, n, "%s", line) >= 0;
    }
    if (f)
        fclose(f);
    return found;
}

/* Resident bytes of the mapping holding `addr` (smaps "Rss:", in kB). */
static size_t resident_bytes(const void *addr)
{
    char line[512];
    size_t kb = 0;
    if (smaps_line(addr, "Rss:", line, sizeof line))
        sscanf(line, "Rss: %zu kB", &kb);
    return kb * 1024;
}

static void test_prefault(void)
{
    group_begin("prefault");
    struct arena a;
    CHECK(arena_init(&a, (size_t)16 << 20) == 0, "%s", ryot_last_error());
    unsigned char *p = arena_alloc(&a, (size_t)6 << 20, 0);
    CHECK(p != NULL, "%s", ryot_last_error());
    p[0] = 7;
    const size_t before = resident_bytes(a.base);
    /* two halves, as two threads would, and a range past the fill level */
    const bool done = arena_prefault(&a, 0, (size_t)3 << 20) && arena_prefault(&a, (size_t)3 << 20, (size_t)64 << 20);
    CHECK(p[0] == 7 && all_zero(p + 1, ((size_t)6 << 20) - 1), "contents kept");
    if (done) {
        const size_t after = resident_bytes(a.base);
        CHECK(after >= ((size_t)6 << 20) && after > before, "6 MiB resident after prefault (%zu before, %zu after)",
              before, after);
        CHECK(after < ((size_t)16 << 20), "nothing past the fill level faulted in (%zu resident)", after);
    } else {
        printf("  (this kernel has no MADV_POPULATE_WRITE: pages stay lazy)\n");
    }
    arena_destroy(&a);
    group_end();
}

static void test_large_alignment(void)
{
    group_begin("huge-page alignment and advice");
    struct arena a;
    const size_t size = (size_t)8 << 20;
    CHECK(arena_init(&a, size) == 0, "%s", ryot_last_error());
    CHECK((uintptr_t)a.base % (2u << 20) == 0, "8 MiB region starts on a 2 MiB boundary: %p", (void *)a.base);
    unsigned char *p = arena_alloc(&a, 100, 0);
    unsigned char *q = arena_alloc(&a, 4096, (size_t)2 << 20);
    CHECK(p && q && (uintptr_t)q % (2u << 20) == 0 && q > p, "2 MiB alignment inside the region");
    /* The kernel lists MADV_HUGEPAGE as "hg" in the mapping's VmFlags. */
    char flags[512];
    const bool advised = smaps_line(a.base, "VmFlags:", flags, sizeof flags) && strstr(flags, " hg") != NULL;
    CHECK(advised, "region advised MADV_HUGEPAGE (VmFlags hg)");
    arena_destroy(&a);

    CHECK(arena_init(&a, 4096) == 0, "%s", ryot_last_error());
    CHECK(arena_alloc(&a, 1, (size_t)1 << 40) == NULL && message_has("asked for 1 bytes", NULL, NULL),
          "alignment beyond the region: '%s'", ryot_last_error());
    arena_destroy(&a);
    group_end();
}

static void test_exhaustion(void)
{
    group_begin("exhaustion is an error naming asked and left");
    struct arena a;
    CHECK(arena_init(&a, 4096) == 0, "%s", ryot_last_error());
    CHECK(arena_alloc(&a, 4000, 0) != NULL, "first 4000 bytes");
    CHECK(arena_alloc(&a, 200, 0) == NULL, "200 more bytes fit in 96");
    CHECK(message_has("asked for 200 bytes", "96 of 4096 bytes left", NULL), "message: '%s'", ryot_last_error());
    CHECK(a.used == 4000, "used %zu after the failure", a.used);
    CHECK(arena_alloc(&a, SIZE_MAX, 0) == NULL && message_has("asked for 18446744073709551615", NULL, NULL),
          "SIZE_MAX request: '%s'", ryot_last_error());
    /* 4000 is not 64-aligned: the 96 left are only reachable unaligned. */
    CHECK(arena_alloc(&a, 96, 64) == NULL, "96 bytes at alignment 64 do not fit after padding");
    CHECK(arena_alloc(&a, 96, 32) != NULL && a.used == 4096, "the last 96 bytes at alignment 32");
    CHECK(arena_alloc(&a, 1, 1) == NULL && message_has("asked for 1 bytes", "0 of 4096 bytes left", NULL),
          "full arena: '%s'", ryot_last_error());
    CHECK(arena_alloc(&a, 0, 1) != NULL, "0 bytes from a full arena");
    arena_destroy(&a);
    group_end();
}

static void test_mark_reset(void)
{
    group_begin("mark and reset recycle zeroed scratch");
    struct arena a;
    CHECK(arena_init(&a, 1 << 16) == 0, "%s", ryot_last_error());
    unsigned char *keep = arena_alloc(&a, 100, 0);
    memset(keep, 0x11, 100);
    const size_t mark = arena_mark(&a);
    CHECK(mark == a.used, "mark is the fill level");
    unsigned char *first[3];
    for (int token = 0; token < 5; token++) {
        unsigned char *scratch[3];
        const size_t sizes[3] = { 1000, 33, 5000 };
        for (int i = 0; i < 3; i++) {
            scratch[i] = arena_alloc(&a, sizes[i], 0);
            CHECK(scratch[i] && all_zero(scratch[i], sizes[i]), "token %d buffer %d zeroed", token, i);
            if (token == 0)
                first[i] = scratch[i];
            CHECK(scratch[i] == first[i], "token %d buffer %d at the same address", token, i);
            memset(scratch[i], 0xff, sizes[i]);
        }
        arena_reset(&a, mark);
        CHECK(a.used == mark, "reset to the mark");
    }
    bool kept = true;
    for (int i = 0; i < 100; i++)
        kept &= keep[i] == 0x11;
    CHECK(kept, "memory below the mark untouched");
    arena_reset(&a, a.used + 1);
    CHECK(a.used == mark && message_has("above the fill level", NULL, NULL), "reset above the fill level: '%s'",
          ryot_last_error());
    arena_reset(&a, 0);
    unsigned char *again = arena_alloc(&a, mark, 1);
    CHECK(a.used == mark && again == a.base && all_zero(again, mark), "reset to 0 clears everything");
    arena_destroy(&a);
    group_end();
}

static void test_per_thread(void)
{
    group_begin("per-thread scratch: whole cache lines each");
    struct arena a;
    CHECK(arena_init(&a, 1 << 16) == 0, "%s", ryot_last_error());
    arena_alloc(&a, 5, 1);  /* leave the fill level unaligned */
    const size_t sizes[] = { 0, 1, 64, 65, 1000 };
    for (int k = 0; k < 5; k++) {
        size_t stride = 0;
        unsigned char *base = arena_alloc_per_thread(&a, 3, sizes[k], &stride);
        CHECK(base != NULL, "%s", ryot_last_error());
        if (!base)
            continue;
        const size_t want = sizes[k] <= 64 ? 64 : (sizes[k] + 63) / 64 * 64;
        CHECK(stride == want, "size %zu: stride %zu, want %zu", sizes[k], stride, want);
        CHECK((uintptr_t)base % 64 == 0, "size %zu: base %p not line aligned", sizes[k], (void *)base);
        /* Thread i's last byte and thread i+1's first byte are on different lines. */
        for (int i = 0; i + 1 < 3; i++) {
            const uintptr_t last = (uintptr_t)base + (size_t)i * stride + (sizes[k] ? sizes[k] - 1 : 0);
            const uintptr_t next = (uintptr_t)base + (size_t)(i + 1) * stride;
            CHECK(last / 64 < next / 64, "size %zu: threads %d and %d share a line", sizes[k], i, i + 1);
        }
        CHECK(all_zero(base, 3 * stride), "size %zu: zero-filled", sizes[k]);
        memset(base, 0x5a, 3 * stride);
    }
    size_t stride = 7;
    CHECK(arena_alloc_per_thread(&a, 0, 64, &stride) == NULL && stride == 7, "0 threads");
    CHECK(arena_alloc_per_thread(&a, 2, 64, NULL) == NULL, "missing stride");
    CHECK(arena_alloc_per_thread(&a, 2, SIZE_MAX - 10, &stride) == NULL, "huge size: '%s'", ryot_last_error());
    CHECK(arena_alloc_per_thread(&a, 1000, SIZE_MAX / 100, &stride) == NULL && message_has("too large", NULL, NULL),
          "overflowing total: '%s'", ryot_last_error());
    CHECK(arena_alloc_per_thread(&a, 1000, 1000, &stride) == NULL && message_has("asked for 1024000", "left", NULL),
          "exhausted: '%s'", ryot_last_error());
    arena_destroy(&a);
    group_end();
}

#ifdef TEST_ASAN
static void test_poisoning(void)
{
    group_begin("unused arena space is poisoned (ASan)");
    struct arena a;
    CHECK(arena_init(&a, 1 << 16) == 0, "%s", ryot_last_error());
    unsigned char *p = arena_alloc(&a, 100, 0);
    unsigned char *q = arena_alloc(&a, 64, 0);
    CHECK(!__asan_address_is_poisoned(p) && !__asan_address_is_poisoned(p + 99), "allocation is addressable");
    CHECK(__asan_address_is_poisoned(p + 100) && __asan_address_is_poisoned(q - 1), "padding after it is poisoned");
    CHECK(__asan_address_is_poisoned(q + 64), "free space is poisoned");
    const size_t mark = arena_mark(&a);
    unsigned char *r = arena_alloc(&a, 10, 0);
    CHECK(!__asan_address_is_poisoned(r + 9), "scratch addressable");
    arena_reset(&a, mark);
    CHECK(__asan_address_is_poisoned(r), "scratch poisoned again after reset");
    unsigned char *base = a.base;
    arena_destroy(&a);
    CHECK(!__asan_address_is_poisoned(base), "unpoisoned before unmapping");
    group_end();
}
#endif

int main(void)
{
    test_init_errors();
    test_alignment();
    test_large_alignment();
    test_prefault();
    test_exhaustion();
    test_mark_reset();
    test_per_thread();
#ifdef TEST_ASAN
    test_poisoning();
#endif
    return check_summary();
}
