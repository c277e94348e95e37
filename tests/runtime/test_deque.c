/* Chase-Lev deque (runtime/deque.h): order of pop and steal, growth, and
 * concurrent owner-versus-thieves runs in which every item must be taken
 * exactly once.  Meant to run under ThreadSanitizer too. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "deque.h"

/* Items are 1..n encoded as non-NULL pointers. */
static void *item(size_t i) { return (void *)(uintptr_t)(i + 1); }
static size_t index_of(void *p) { return (size_t)(uintptr_t)p - 1; }

static void test_order(void)
{
    group_begin("deque pop is LIFO, steal is FIFO");
    struct deque q;
    CHECK(deque_init(&q, 16), "init");
    CHECK(deque_pop(&q) == NULL, "pop on a new deque");
    CHECK(deque_steal(&q) == NULL, "steal on a new deque");
    CHECK(!deque_maybe_nonempty(&q), "new deque looks empty");
    for (size_t i = 0; i < 10; i++)
        CHECK(deque_push(&q, item(i)), "push %zu", i);
    CHECK(deque_maybe_nonempty(&q), "filled deque looks non-empty");
    for (size_t i = 10; i-- > 5;)
        CHECK(deque_pop(&q) == item(i), "pop returns the newest (%zu)", i);
    for (size_t i = 0; i < 5; i++)
        CHECK(deque_steal(&q) == item(i), "steal returns the oldest (%zu)", i);
    CHECK(deque_pop(&q) == NULL, "pop after draining");
    CHECK(deque_steal(&q) == NULL, "steal after draining");
    /* Popping an empty deque must leave it usable (bottom restored). */
    CHECK(deque_push(&q, item(42)), "push after empty pops");
    CHECK(deque_steal(&q) == item(42), "steal after empty pops");
    deque_destroy(&q);
    group_end();
}

static void test_growth(void)
{
    group_begin("deque grows from capacity 2");
    enum { N = 5000 };
    static unsigned char seen[N];
    struct deque q;
    CHECK(deque_init(&q, 2), "init");
    size_t taken = 0, failed_pushes = 0;
    /* Steals between pushes move `top`, so growth copies a window that
     * does not start at index 0. */
    for (size_t i = 0; i < N; i++) {
        failed_pushes += !deque_push(&q, item(i));
        if (i % 3 == 2) {
            void *p = deque_steal(&q);
            CHECK(p != NULL, "steal during growth");
            if (p)
                seen[index_of(p)]++, taken++;
        }
    }
    CHECK(failed_pushes == 0, "%zu pushes failed", failed_pushes);
    const int64_t capacity = atomic_load(&q.array)->capacity;
    CHECK(capacity >= N - N / 3 && (capacity & (capacity - 1)) == 0,
          "capacity %lld holds the %d live items and is a power of two", (long long)capacity, N - N / 3);
    for (void *p; (p = deque_pop(&q));)
        seen[index_of(p)]++, taken++;
    CHECK(taken == N, "took %zu of %d items", taken, N);
    int once = 0;
    for (size_t i = 0; i < N; i++)
        once += seen[i] == 1;
    CHECK(once == N, "%d of %d items taken exactly once", once, N);
    deque_destroy(&q);
    group_end();
}

/* Owner pushes bursts and pops some back while thieves steal; the deque is
 * often down to its last item, where pop and steal race for it. */
enum { CONCURRENT_ITEMS = 300000, THIEVES = 3 };

struct race {
    struct deque q;
    atomic_uchar taken[CONCURRENT_ITEMS];
    atomic_long total, stolen;
    atomic_bool owner_done;
};

static void take(struct race *r, void *p)
{
    atomic_fetch_add_explicit(&r->taken[index_of(p)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->total, 1, memory_order_relaxed);
}

static void *thief(void *arg)
{
    struct race *r = arg;
    for (;;) {
        void *p = deque_steal(&r->q);
        if (p) {
            take(r, p);
            atomic_fetch_add_explicit(&r->stolen, 1, memory_order_relaxed);
            continue;
        }
        if (atomic_load(&r->owner_done) && !deque_maybe_nonempty(&r->q))
            return NULL;
    }
}

static void race(const char *name, int thieves, size_t max_burst, size_t max_pops)
{
    group_begin(name);
    struct race *r = calloc(1, sizeof *r);
    CHECK(deque_init(&r->q, 4), "init");
    pthread_t t[THIEVES];
    for (int i = 0; i < thieves; i++)
        pthread_create(&t[i], NULL, thief, r);
    unsigned rng = 12345;
    size_t next = 0, failed_pushes = 0;
    while (next < CONCURRENT_ITEMS) {
        rng = rng * 1103515245u + 12345u;
        size_t burst = 1 + (rng >> 16) % max_burst;
        for (; burst && next < CONCURRENT_ITEMS; burst--)
            failed_pushes += !deque_push(&r->q, item(next++));
        /* A varying pause lets the thieves' steals land at every point of
         * the owner's pops. */
        for (volatile unsigned spin = (rng >> 4) % 64; spin; spin--)
            ;
        size_t pops = (rng >> 8) % (max_pops + 1);
        for (void *p; pops-- && (p = deque_pop(&r->q));)
            take(r, p);
    }
    for (void *p; (p = deque_pop(&r->q));)
        take(r, p);
    atomic_store(&r->owner_done, true);
    for (int i = 0; i < thieves; i++)
        pthread_join(t[i], NULL);
    long once = 0;
    for (size_t i = 0; i < CONCURRENT_ITEMS; i++)
        once += atomic_load(&r->taken[i]) == 1;
    printf("  %ld of %d items stolen\n", atomic_load(&r->stolen), CONCURRENT_ITEMS);
    CHECK(failed_pushes == 0, "%zu pushes failed", failed_pushes);
    CHECK(atomic_load(&r->total) == CONCURRENT_ITEMS, "took %ld of %d", atomic_load(&r->total),
          CONCURRENT_ITEMS);
    CHECK(once == CONCURRENT_ITEMS, "%ld of %d items taken exactly once", once, CONCURRENT_ITEMS);
    deque_destroy(&r->q);
    free(r);
    group_end();
}

int main(void)
{
    test_order();
    test_growth();
    /* Bursts and partial pops: growth and steals of many items at once. */
    race("deque owner vs 3 thieves, each item once", 3, 64, 48);
    /* Push and pop one or two: the owner and a thief race for the last items. */
    race("deque last-item races, each item once", 1, 2, 2);
    return check_summary();
}
