/* Aligned bump allocator: one region reserved at start-up for activations,
 * scratch and the KV cache, so the token loop never calls malloc. */
#ifndef RYOT_ARENA_H
#define RYOT_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#define ARENA_ALIGN 64  /* default alignment: one cache line */

struct arena {
    unsigned char *base;
    size_t size;   /* bytes reserved */
    size_t used;   /* bytes handed out, including alignment padding */
};

/* Reserve `size` bytes (mmap; huge-page advice for large regions).
 * Returns 0, or -1 with ryot_last_error() set. */
int arena_init(struct arena *a, size_t size);
void arena_destroy(struct arena *a);

/* `size` bytes aligned to `align` (a power of two; 0 means ARENA_ALIGN),
 * zero-filled.  NULL with a message saying how much was asked and how much
 * is left when the arena is exhausted. */
void *arena_alloc(struct arena *a, size_t size, size_t align);

/* Fault in the pages of bytes [begin, end) of those handed out so far, so
 * the first forward pass does not pay for zeroing the KV cache's (huge)
 * pages.  Threads may prefault disjoint ranges at once.  Advice only: a
 * kernel without MADV_POPULATE_WRITE (before Linux 5.14) leaves them lazy. */
bool arena_prefault(struct arena *a, size_t begin, size_t end);  /* false: left lazy */

/* Per-token scratch: remember the fill level, later drop everything above it. */
size_t arena_mark(const struct arena *a);
void arena_reset(struct arena *a, size_t mark);

/* One scratch region per thread, each rounded up to whole cache lines so no
 * two threads write the same line.  Returns the base; thread i's region is
 * base + i * (*stride). */
void *arena_alloc_per_thread(struct arena *a, int nthreads, size_t size_each, size_t *stride);

#endif
