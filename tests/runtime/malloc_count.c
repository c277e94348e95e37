/* Counting allocator wrappers; see malloc_count.h for how to link them. */
#include "malloc_count.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
void __real_free(void *p);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
void __wrap_free(void *p);

static atomic_long n_malloc, n_calloc, n_realloc, n_aligned, n_free;
static atomic_llong n_bytes;

static void add_bytes(size_t size) { atomic_fetch_add_explicit(&n_bytes, (long long)size, memory_order_relaxed); }

void *__wrap_malloc(size_t size)
{
    atomic_fetch_add_explicit(&n_malloc, 1, memory_order_relaxed);
    add_bytes(size);
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&n_calloc, 1, memory_order_relaxed);
    add_bytes(n > 0 && size > SIZE_MAX / n ? SIZE_MAX : n * size);
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    atomic_fetch_add_explicit(&n_realloc, 1, memory_order_relaxed);
    add_bytes(size);
    return __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
    atomic_fetch_add_explicit(&n_aligned, 1, memory_order_relaxed);
    add_bytes(size);
    return __real_aligned_alloc(align, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
    atomic_fetch_add_explicit(&n_aligned, 1, memory_order_relaxed);
    add_bytes(size);
    return __real_posix_memalign(p, align, size);
}

void __wrap_free(void *p)
{
    atomic_fetch_add_explicit(&n_free, 1, memory_order_relaxed);
    __real_free(p);
}

struct malloc_counts malloc_counts_now(void)
{
    struct malloc_counts c = {
        atomic_load(&n_malloc), atomic_load(&n_calloc), atomic_load(&n_realloc),
        atomic_load(&n_aligned), atomic_load(&n_free), atomic_load(&n_bytes),
    };
    return c;
}

long malloc_counts_between(struct malloc_counts before, struct malloc_counts after)
{
    return (after.malloc - before.malloc) + (after.calloc - before.calloc) + (after.realloc - before.realloc) +
           (after.aligned - before.aligned) + (after.free - before.free);
}
