/* Aligned bump allocator (see arena.h).
 *
 * Invariant: every byte above `used` is zero.  Fresh mmap pages are zero and
 * arena_reset clears what it takes back, so arena_alloc never has to clear
 * memory, and a large region (the KV cache) is not touched, and so not
 * committed, until it is used or prefaulted.
 *
 * Under AddressSanitizer everything not handed out (free space, alignment
 * padding) is poisoned, so a kernel that writes past its buffer is caught
 * even though the buffer came from the arena and not from malloc. */
#include "arena.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  /* Linux 5.14; older C libraries lack the name */
#endif

/* Regions at least this large are aligned to, and advised as, huge pages. */
#define HUGE_PAGE ((size_t)2 << 20)

static size_t page_size(void)
{
    const long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

static size_t mapped_bytes(size_t size)
{
    const size_t page = page_size();
    return (size + page - 1) / page * page;
}

int arena_init(struct arena *a, size_t size)
{
    a->base = NULL;
    a->size = a->used = 0;
    if (size == 0)
        return ryot_fail("arena: cannot reserve 0 bytes");
    const size_t page = page_size();
    if (size > SIZE_MAX - HUGE_PAGE - page)
        return ryot_fail("arena: cannot reserve %zu bytes: too large", size);
    const size_t length = mapped_bytes(size);
    const bool huge = length >= HUGE_PAGE;
    /* Over-reserve so the region can start on a huge-page boundary, then
     * give back the slack on both sides. */
    const size_t reserve = huge ? length + HUGE_PAGE : length;
    unsigned char *p = mmap(NULL, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return ryot_fail("arena: cannot reserve %zu bytes: %s", size, strerror(errno));
    unsigned char *base = p;
    if (huge) {
        base = (unsigned char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
        if (base > p)
            munmap(p, (size_t)(base - p));
        const size_t tail = reserve - (size_t)(base - p) - length;
        if (tail)
            munmap(base + length, tail);
        /* Advice only: where transparent huge pages are off this fails harmlessly. */
        madvise(base, length, MADV_HUGEPAGE);
    }
    POISON(base, length);
    a->base = base;
    a->size = size;
    return 0;
}

void arena_destroy(struct arena *a)
{
    if (a->base) {
        /* The address range may be mapped again by someone else. */
        UNPOISON(a->base, mapped_bytes(a->size));
        munmap(a->base, mapped_bytes(a->size));
    }
    a->base = NULL;
    a->size = a->used = 0;
}

void *arena_alloc(struct arena *a, size_t size, size_t align)
{
    if (!a->base) {
        ryot_fail("arena: allocation of %zu bytes from an arena that was not initialised", size);
        return NULL;
    }
    if (align == 0)
        align = ARENA_ALIGN;
    if (align & (align - 1)) {
        ryot_fail("arena: alignment %zu is not a power of two", align);
        return NULL;
    }
    /* Align the address, not the offset, so alignments beyond the page
     * size hold too. */
    const uintptr_t here = (uintptr_t)a->base + a->used;
    const size_t pad = (size_t)(-here & (align - 1));
    const size_t left = a->size - a->used;
    if (pad > left || size > left - pad) {
        ryot_fail("arena: out of memory: asked for %zu bytes (aligned to %zu), %zu of %zu bytes left", size, align,
                  left, a->size);
        return NULL;
    }
    void *p = a->base + a->used + pad;
    a->used += pad + size;
    UNPOISON(p, size);
    return p;
}

bool arena_prefault(struct arena *a, size_t begin, size_t end)
{
    const size_t page = page_size();
    begin = begin / page * page;
    end = mapped_bytes(end < a->used ? end : a->used);
    return a->base && (begin >= end || madvise(a->base + begin, end - begin, MADV_POPULATE_WRITE) == 0);
}

size_t arena_mark(const struct arena *a) { return a->used; }

void arena_reset(struct arena *a, size_t mark)
{
    if (mark > a->used) {
        ryot_fail("arena: reset to %zu is above the fill level %zu", mark, a->used);
        return;
    }
    UNPOISON(a->base + mark, a->used - mark);
    memset(a->base + mark, 0, a->used - mark);
    POISON(a->base + mark, a->used - mark);
    a->used = mark;
}

void *arena_alloc_per_thread(struct arena *a, int nthreads, size_t size_each, size_t *stride)
{
    if (nthreads < 1 || !stride) {
        ryot_fail("arena: per-thread scratch for %d threads (stride %s)", nthreads, stride ? "given" : "missing");
        return NULL;
    }
    /* Whole cache lines, at least one, so neighbours never share a line. */
    if (size_each > SIZE_MAX - ARENA_ALIGN) {
        ryot_fail("arena: per-thread scratch of %zu bytes is too large", size_each);
        return NULL;
    }
    const size_t each = size_each == 0 ? ARENA_ALIGN : (size_each + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (each > SIZE_MAX / (size_t)nthreads) {
        ryot_fail("arena: per-thread scratch of %d x %zu bytes is too large", nthreads, size_each);
        return NULL;
    }
    void *p = arena_alloc(a, each * (size_t)nthreads, ARENA_ALIGN);
    if (p)
        *stride = each;
    return p;
}
