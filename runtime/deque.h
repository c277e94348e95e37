/* Chase-Lev work-stealing deque of non-NULL pointers (internal to sched.c;
 * a header so the unit test can drive it directly).
 *
 * The owner thread pushes and pops at the bottom (LIFO); any other thread
 * steals from the top (FIFO).  Memory orders follow the C11 version proved
 * correct by Le, Pop, Cohen and Zappa Nardelli, "Correct and efficient
 * work-stealing for weak memory models" (PPoPP 2013), with two deliberate
 * differences:
 *  - indices are signed, so pop on an empty deque (bottom - 1 < top) cannot
 *    wrap around;
 *  - push's bottom store is release as well as preceded by the paper's
 *    release fence: ThreadSanitizer does not model fences, and on x86 a
 *    release store costs nothing.
 * Arrays replaced on growth may still be read by a thief that loaded the old
 * pointer, so they are kept until deque_destroy. */
#ifndef RYOT_DEQUE_H
#define RYOT_DEQUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* GCC rejects atomic_thread_fence under -fsanitize=thread (ThreadSanitizer
 * does not model fences); there a full hardware barrier keeps the
 * algorithm's behaviour without adding happens-before edges TSan would
 * trust.  sched.c uses the same fence for its parking handshake. */
#if defined(__SANITIZE_THREAD__)
#define DEQUE_FENCE(order) ((void)(order), __sync_synchronize())
#else
#define DEQUE_FENCE(order) atomic_thread_fence(order)
#endif

struct deque_array {
    int64_t capacity;             /* a power of two */
    struct deque_array *retired;  /* the array this one replaced */
    _Atomic(void *) slot[];
};

struct deque {
    _Alignas(64) atomic_int_fast64_t top;    /* written by thieves */
    _Alignas(64) atomic_int_fast64_t bottom; /* written by the owner only */
    _Atomic(struct deque_array *) array;
};

static inline struct deque_array *deque_array_new(int64_t capacity)
{
    struct deque_array *a = malloc(sizeof *a + (size_t)capacity * sizeof a->slot[0]);
    if (a) {
        a->capacity = capacity;
        a->retired = NULL;
    }
    return a;
}

/* `capacity` must be a power of two.  Returns false when out of memory. */
static inline bool deque_init(struct deque *q, int64_t capacity)
{
    struct deque_array *a = deque_array_new(capacity);
    atomic_init(&q->top, 0);
    atomic_init(&q->bottom, 0);
    atomic_init(&q->array, a);
    return a != NULL;
}

static inline void deque_destroy(struct deque *q)
{
    struct deque_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);
    while (a) {
        struct deque_array *older = a->retired;
        free(a);
        a = older;
    }
    atomic_store_explicit(&q->array, NULL, memory_order_relaxed);
}

/* Owner only: copy the live range [t, b) into an array twice the size. */
static inline struct deque_array *deque_grow(struct deque *q, struct deque_array *old, int64_t t, int64_t b)
{
    struct deque_array *a = deque_array_new(old->capacity * 2);
    if (!a)
        return NULL;
    for (int64_t i = t; i < b; i++)
        atomic_store_explicit(&a->slot[i & (a->capacity - 1)],
                              atomic_load_explicit(&old->slot[i & (old->capacity - 1)], memory_order_relaxed),
                              memory_order_relaxed);
    a->retired = old;
    atomic_store_explicit(&q->array, a, memory_order_release);
    return a;
}

/* Owner only.  False (item not queued) when growing ran out of memory. */
static inline bool deque_push(struct deque *q, void *item)
{
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
    int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
    struct deque_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);
    if (b - t > a->capacity - 1) {
        a = deque_grow(q, a, t, b);
        if (!a)
            return false;
    }
    atomic_store_explicit(&a->slot[b & (a->capacity - 1)], item, memory_order_relaxed);
    DEQUE_FENCE(memory_order_release);
    atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
    return true;
}

/* Owner only: the most recently pushed item, or NULL when empty. */
static inline void *deque_pop(struct deque *q)
{
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
    struct deque_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);
    atomic_store_explicit(&q->bottom, b, memory_order_relaxed);
    DEQUE_FENCE(memory_order_seq_cst);
    int64_t t = atomic_load_explicit(&q->top, memory_order_relaxed);
    if (t > b) {  /* was empty */
        atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
        return NULL;
    }
    void *item = atomic_load_explicit(&a->slot[b & (a->capacity - 1)], memory_order_relaxed);
    if (t == b) {  /* the last item: race the thieves for it */
        if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1, memory_order_seq_cst,
                                                     memory_order_relaxed))
            item = NULL;
        atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
    }
    return item;
}

/* Any thread: the oldest item, or NULL when empty or when another thread
 * took it first (the caller may simply try elsewhere). */
static inline void *deque_steal(struct deque *q)
{
    int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
    DEQUE_FENCE(memory_order_seq_cst);
    int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
    if (t >= b)
        return NULL;
    struct deque_array *a = atomic_load_explicit(&q->array, memory_order_acquire);
    void *item = atomic_load_explicit(&a->slot[t & (a->capacity - 1)], memory_order_relaxed);
    if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return item;
}

/* Cheap racy hint for polling loops: might there be something to take?
 * Exact for the owner's own deque when it says "empty". */
static inline bool deque_maybe_nonempty(struct deque *q)
{
    return atomic_load_explicit(&q->bottom, memory_order_relaxed) >
           atomic_load_explicit(&q->top, memory_order_relaxed);
}

#endif
