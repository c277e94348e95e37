/* Counting wrappers around the C allocator, for tests that assert a code
 * path allocates nothing (e.g. the token loop after warm-up).
 *
 * Link malloc_count.c into the test and pass the linker
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=aligned_alloc,--wrap=posix_memalign
 * Every call to those functions from the objects of that link (the test and
 * the runtime sources linked with it) then goes through a counter; calls
 * made inside libc itself (stdio buffers, pthread_create) are not seen.
 * Works with and without the sanitizers. */
#ifndef RYOT_MALLOC_COUNT_H
#define RYOT_MALLOC_COUNT_H

struct malloc_counts {
    long malloc, calloc, realloc, aligned, free;  /* aligned: aligned_alloc + posix_memalign */
    long long bytes;  /* bytes asked for by every allocating call (freed ones too) */
};

/* Calls counted since the program started (all threads). */
struct malloc_counts malloc_counts_now(void);

/* Allocation plus free calls between two snapshots. */
long malloc_counts_between(struct malloc_counts before, struct malloc_counts after);

#endif
