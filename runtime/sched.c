/* Fork-join work-stealing scheduler (see sched.h).
 *
 * Three ways work reaches a worker:
 *  - The loop slot: a top-level parallel_for publishes one descriptor
 *    (function, context, chunk size) and a word holding a generation number
 *    and the count of unclaimed chunks.  Spinning workers claim chunks with a
 *    CAS on that word and the caller claims alongside them.  This is the fast
 *    path the generated forward pass takes for every kernel call.
 *  - Per-worker Chase-Lev deques (deque.h): task_spawn pushes onto the
 *    spawning worker's deque, idle and waiting workers steal.  A
 *    parallel_for that finds the slot taken (nested loops, loops inside
 *    tasks) runs as helper tasks on the deques.
 *  - The inject queue, a locked FIFO for tasks spawned by threads that are
 *    not workers of this scheduler; workers poll it between chunks.
 *
 * A thread with nothing to do spins for SPIN_NS, then parks on the futex
 * `epoch`.  Whoever publishes work or completes something a parked thread
 * may wait for calls notify().  The handshake is store-buffering safe: the
 * parker increments `sleepers`, fences, then re-checks; the notifier
 * publishes, fences, then reads `sleepers`, so at least one sees the other.
 *
 * Task and task-group records come from per-worker pools of 64-byte nodes
 * that are recycled, so after warm-up spawning does not call malloc.
 *
 * Consequences for callers:
 *  - A worker waiting in parallel_for or task_group_wait runs other pending
 *    chunks and tasks meanwhile, with its own worker id.  Ids are unique
 *    among chunks that are executing, but a chunk suspended in a nested call
 *    shares its id with what runs meanwhile: per-worker scratch must not be
 *    kept live across a nested parallel_for or task_group_wait.
 *  - A thread that is not a worker may spawn tasks and call parallel_for; it
 *    runs no chunks itself (it has no worker id) and blocks until workers
 *    have done them.  With one thread the only worker is the creator, which
 *    serves such submissions only while it is inside a scheduler call. */
#include "sched.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "deque.h"
#include "error.h"

enum {
    SCHED_MAX_THREADS = 1024,
    CACHE_LINE = 64,
    CHUNKS_PER_THREAD = 4,   /* enough slack to balance a noisy core, few claims */
    DEQUE_CAPACITY = 256,    /* grows on demand */
    SLAB_NODES = 64,         /* pool growth step */
    SPIN_NS = 100 * 1000,    /* spin this long before parking */
    REMAINING_BITS = 24,     /* slot word: generation << 24 | unclaimed chunks */
};
#define REMAINING_MASK ((UINT64_C(1) << REMAINING_BITS) - 1)

/* ---- node pools --------------------------------------------------------- */

struct pool;

/* Common header of tasks and groups: both live in 64-byte pool nodes. */
struct pool_node {
    struct pool_node *next;  /* free list, returned stack or inject queue */
    struct pool *home;       /* pool to give it back to; NULL: never freed */
};

struct slab {
    struct slab *next;
};

struct pool {
    struct pool_node *free;  /* owner only */
    struct slab *slabs;      /* owner only; freed by sched_destroy */
    /* Nodes freed by other threads: a lock-free stack the owner empties in
     * one exchange, so there is no ABA problem. */
    _Alignas(CACHE_LINE) _Atomic(struct pool_node *) returned;
};

struct task {
    struct pool_node node;
    task_fn fn;
    void *ctx;
    struct task_group *group;
};

struct task_group {
    struct pool_node node;
    atomic_long pending;  /* spawned tasks not yet finished */
    struct sched *s;
};

_Static_assert(sizeof(struct task) <= CACHE_LINE, "task must fit one pool node");
_Static_assert(sizeof(struct task_group) <= CACHE_LINE, "group must fit one pool node");

/* Grow by one slab.  Nodes are cache-line sized and aligned so two threads
 * working on neighbouring tasks never share a line. */
static bool pool_grow(struct pool *p)
{
    struct slab *slab = aligned_alloc(CACHE_LINE, (SLAB_NODES + 1) * CACHE_LINE);
    if (!slab)
        return false;
    slab->next = p->slabs;
    p->slabs = slab;
    for (int i = 1; i <= SLAB_NODES; i++) {
        struct pool_node *n = (struct pool_node *)((char *)slab + i * CACHE_LINE);
        n->home = p;
        n->next = p->free;
        p->free = n;
    }
    return true;
}

/* Owner only.  NULL when out of memory. */
static void *pool_get(struct pool *p)
{
    if (!p->free)
        p->free = atomic_exchange_explicit(&p->returned, NULL, memory_order_acquire);
    if (!p->free && !pool_grow(p))
        return NULL;
    struct pool_node *n = p->free;
    p->free = n->next;
    return n;
}

/* `mine` is the caller's own pool (NULL for a thread that owns none). */
static void pool_put(struct pool_node *n, struct pool *mine)
{
    struct pool *home = n->home;
    if (!home)
        return;
    if (home == mine) {
        n->next = home->free;
        home->free = n;
        return;
    }
    struct pool_node *head = atomic_load_explicit(&home->returned, memory_order_relaxed);
    do
        n->next = head;
    while (!atomic_compare_exchange_weak_explicit(&home->returned, &head, n, memory_order_release,
                                                  memory_order_relaxed));
}

static void pool_destroy(struct pool *p)
{
    while (p->slabs) {
        struct slab *next = p->slabs->next;
        free(p->slabs);
        p->slabs = next;
    }
}

/* ---- scheduler state ---------------------------------------------------- */

struct worker {
    struct deque deque;
    struct pool pool;
    struct sched *s;
    int id;
    unsigned victim;  /* where the next steal attempt starts */
    pthread_t thread;
} __attribute__((aligned(CACHE_LINE)));

struct sched {
    int nthreads;
    bool pinned;
    pthread_t creator;        /* the calling thread of sched_create: worker 0 */
    cpu_set_t creator_cpus;   /* its affinity before pinning, restored at destroy */
    struct worker *workers;

    /* Loop slot.  The descriptor shares the word's line: a worker that sees
     * the word change finds the rest in the same transfer.  The fields are
     * plain: a worker reads them only after a successful claim, which keeps
     * the loop from finishing (and the slot from being reused) meanwhile. */
    _Alignas(CACHE_LINE) _Atomic uint64_t slot_word;
    range_fn slot_fn;
    void *slot_ctx;
    size_t slot_n, slot_chunk, slot_nchunks;
    _Alignas(CACHE_LINE) atomic_size_t slot_done;  /* chunks finished */
    _Alignas(CACHE_LINE) atomic_bool slot_busy;    /* a loop owns the slot */

    _Alignas(CACHE_LINE) atomic_bool stop;

    _Alignas(CACHE_LINE) _Atomic unsigned epoch;  /* futex word */
    atomic_int sleepers;

    _Alignas(CACHE_LINE) atomic_int inject_count;
    pthread_mutex_t inject_lock;  /* guards the queue and external_pool */
    struct pool_node *inject_head, *inject_tail;
    struct pool external_pool;    /* tasks and groups of non-worker threads */

    /* Stands in for a group when no node can be allocated: shared by all
     * such callers, so a wait may also wait for others' tasks, but it ends. */
    struct task_group fallback_group;
};

/* Set in worker threads 1..n-1; worker 0 is recognised as the creator. */
static _Thread_local struct worker *tls_worker;

static struct worker *current_worker(struct sched *s)
{
    struct worker *w = tls_worker;
    if (w && w->s == s)
        return w;
    if (pthread_equal(pthread_self(), s->creator))
        return &s->workers[0];
    return NULL;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void futex_wait(_Atomic unsigned *word, unsigned expected)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *word)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Call after publishing work or completing something waited for. */
static void notify(struct sched *s)
{
    DEQUE_FENCE(memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleepers, memory_order_seq_cst) > 0) {
        atomic_fetch_add_explicit(&s->epoch, 1, memory_order_seq_cst);
        futex_wake_all(&s->epoch);
    }
}

/* ---- running work ------------------------------------------------------- */

static void group_finish_one(struct sched *s, struct task_group *g)
{
    /* Last access to g: once pending is 0 the waiter may recycle it. */
    if (atomic_fetch_sub_explicit(&g->pending, 1, memory_order_release) == 1)
        notify(s);
}

static void run_task(struct worker *w, struct task *t)
{
    task_fn fn = t->fn;
    void *ctx = t->ctx;
    struct task_group *g = t->group;
    pool_put(&t->node, &w->pool);
    fn(ctx, w->id);
    group_finish_one(w->s, g);
}

static struct task *inject_pop(struct sched *s)
{
    if (atomic_load_explicit(&s->inject_count, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&s->inject_lock);
    struct pool_node *n = s->inject_head;
    if (n) {
        s->inject_head = n->next;
        if (!s->inject_head)
            s->inject_tail = NULL;
        atomic_fetch_sub_explicit(&s->inject_count, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->inject_lock);
    return (struct task *)n;
}

static void inject_push(struct sched *s, struct task *t)
{
    pthread_mutex_lock(&s->inject_lock);
    t->node.next = NULL;
    if (s->inject_tail)
        s->inject_tail->next = &t->node;
    else
        s->inject_head = &t->node;
    s->inject_tail = &t->node;
    atomic_fetch_add_explicit(&s->inject_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&s->inject_lock);
}

/* Between chunks: run one task from a non-worker thread, if any, so such
 * submissions wait for a chunk rather than for a whole loop. */
static void serve_injected(struct worker *w)
{
    struct task *t = inject_pop(w->s);
    if (t)
        run_task(w, t);
}

static void run_chunk(range_fn fn, void *ctx, size_t n, size_t chunk, size_t i, int worker)
{
    const size_t begin = i * chunk;
    const size_t end = chunk < n - begin ? begin + chunk : n;
    fn(ctx, begin, end, worker);
}

/* Claim and run chunks of the slot loop until none are left.  Returns
 * whether any ran.  Only the loop's owner waits for slot_done, so it need
 * not notify itself. */
static bool slot_participate(struct sched *s, struct worker *w, bool owner)
{
    size_t ran = 0;
    uint64_t word = atomic_load_explicit(&s->slot_word, memory_order_relaxed);
    while (word & REMAINING_MASK) {
        if (!atomic_compare_exchange_weak_explicit(&s->slot_word, &word, word - 1, memory_order_acquire,
                                                   memory_order_relaxed))
            continue;
        const size_t i = s->slot_nchunks - (size_t)(word & REMAINING_MASK);
        run_chunk(s->slot_fn, s->slot_ctx, s->slot_n, s->slot_chunk, i, w->id);
        ran++;
        serve_injected(w);
        word = atomic_load_explicit(&s->slot_word, memory_order_relaxed);
    }
    if (!ran)
        return false;
    atomic_fetch_add_explicit(&s->slot_done, ran, memory_order_release);
    if (!owner)
        notify(s);
    return true;
}

static struct task *steal_any(struct worker *w)
{
    struct sched *s = w->s;
    const unsigned n = (unsigned)s->nthreads;
    for (unsigned k = 0; k < n; k++) {
        const unsigned v = (w->victim + k) % n;
        if ((int)v == w->id || !deque_maybe_nonempty(&s->workers[v].deque))
            continue;
        struct task *t = deque_steal(&s->workers[v].deque);
        if (t) {
            w->victim = v;  /* come back to a victim that had work */
            return t;
        }
    }
    return NULL;
}

/* Find one piece of work and run it.  Own tasks first (depth-first, cache
 * warm), then the loop slot, then foreign submissions, then stealing. */
static bool run_one(struct worker *w)
{
    struct task *t = deque_maybe_nonempty(&w->deque) ? deque_pop(&w->deque) : NULL;
    if (t) {
        run_task(w, t);
        return true;
    }
    if (slot_participate(w->s, w, false))
        return true;
    t = inject_pop(w->s);
    if (!t)
        t = steal_any(w);
    if (t) {
        run_task(w, t);
        return true;
    }
    return false;
}

/* Is there work a parked worker should wake up for? */
static bool work_visible(struct sched *s)
{
    if (atomic_load_explicit(&s->slot_word, memory_order_relaxed) & REMAINING_MASK)
        return true;
    if (atomic_load_explicit(&s->inject_count, memory_order_relaxed) > 0)
        return true;
    for (int i = 0; i < s->nthreads; i++)
        if (deque_maybe_nonempty(&s->workers[i].deque))
            return true;
    return false;
}

typedef bool (*ready_fn)(const void *arg);

static void park(struct sched *s, bool helps, ready_fn ready, const void *arg)
{
    const unsigned seen = atomic_load_explicit(&s->epoch, memory_order_seq_cst);
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_seq_cst);
    DEQUE_FENCE(memory_order_seq_cst);
    if (!ready(arg) && !(helps && work_visible(s)))
        futex_wait(&s->epoch, seen);
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_seq_cst);
}

/* Until ready(arg): a worker (w != NULL) runs other work meanwhile; anyone
 * spins for SPIN_NS without finding work, then parks. */
static void wait_until(struct sched *s, struct worker *w, ready_fn ready, const void *arg)
{
    uint64_t idle_since = 0;
    for (unsigned spins = 1;; spins++) {
        if (ready(arg))
            return;
        if (w && run_one(w)) {
            idle_since = 0;
            continue;
        }
        cpu_relax();
        if (spins % 32)
            continue;
        const uint64_t t = now_ns();
        if (!idle_since) {
            idle_since = t;
        } else if (t - idle_since > SPIN_NS) {
            park(s, w != NULL, ready, arg);
            idle_since = 0;
        }
    }
}

/* ---- task groups -------------------------------------------------------- */

/* A node from the caller's pool, or from the shared pool for non-workers. */
static void *node_get(struct sched *s, struct worker *w)
{
    if (w)
        return pool_get(&w->pool);
    pthread_mutex_lock(&s->inject_lock);
    void *n = pool_get(&s->external_pool);
    pthread_mutex_unlock(&s->inject_lock);
    return n;
}

struct task_group *task_group_begin(struct sched *s)
{
    struct task_group *g = node_get(s, current_worker(s));
    if (!g)
        return &s->fallback_group;
    atomic_init(&g->pending, 0);
    g->s = s;
    return g;
}

void task_spawn(struct task_group *g, task_fn fn, void *ctx)
{
    struct sched *s = g->s;
    struct worker *w = current_worker(s);
    atomic_fetch_add_explicit(&g->pending, 1, memory_order_relaxed);
    struct task *t = node_get(s, w);
    /* A non-worker cannot run the task itself (it has no worker id), so
     * when out of memory it waits for a node to come back from a task. */
    while (!w && !t) {
        const struct timespec pause = { 0, 100 * 1000 };
        nanosleep(&pause, NULL);
        t = node_get(s, NULL);
    }
    if (t) {
        t->fn = fn;
        t->ctx = ctx;
        t->group = g;
    }
    if (!w) {
        inject_push(s, t);
    } else if (!t || !deque_push(&w->deque, t)) {
        /* Out of memory: run it now rather than fail. */
        if (t)
            pool_put(&t->node, &w->pool);
        fn(ctx, w->id);
        group_finish_one(s, g);
        return;
    }
    notify(s);
}

static bool group_done(const void *arg)
{
    const struct task_group *g = arg;
    return atomic_load_explicit(&g->pending, memory_order_acquire) == 0;
}

void task_group_wait(struct task_group *g)
{
    struct sched *s = g->s;
    struct worker *w = current_worker(s);
    wait_until(s, w, group_done, g);
    pool_put(&g->node, w ? &w->pool : NULL);
}

/* ---- parallel_for ------------------------------------------------------- */

/* A loop run through the deques: helper tasks claim chunks from `next`;
 * each helper that still sees unclaimed chunks spawns one more helper, so
 * the loop spreads to as many workers as steal it. */
struct loop {
    range_fn fn;
    void *ctx;
    size_t n, chunk, nchunks;
    atomic_size_t next;
    atomic_int helpers;
    int max_helpers;
    struct task_group *group;
};

static void loop_run_chunks(struct loop *L, struct worker *w)
{
    size_t i;
    while ((i = atomic_fetch_add_explicit(&L->next, 1, memory_order_relaxed)) < L->nchunks) {
        run_chunk(L->fn, L->ctx, L->n, L->chunk, i, w->id);
        serve_injected(w);
    }
}

static void loop_helper_task(void *arg, int worker);

static void loop_spread(struct loop *L)
{
    if (atomic_load_explicit(&L->next, memory_order_relaxed) < L->nchunks &&
        atomic_fetch_add_explicit(&L->helpers, 1, memory_order_relaxed) < L->max_helpers)
        task_spawn(L->group, loop_helper_task, L);
}

static void loop_helper_task(void *arg, int worker)
{
    struct loop *L = arg;
    loop_spread(L);
    loop_run_chunks(L, &L->group->s->workers[worker]);
}

static bool slot_done_ready(const void *arg)
{
    const struct sched *s = arg;
    return atomic_load_explicit(&s->slot_done, memory_order_acquire) == s->slot_nchunks;
}

/* The fast path: publish the loop in the slot, if it is free. */
static bool slot_run(struct sched *s, struct worker *w, size_t n, size_t chunk, size_t nchunks, range_fn fn,
                     void *ctx)
{
    bool busy = false;
    if (atomic_load_explicit(&s->slot_busy, memory_order_relaxed) ||
        !atomic_compare_exchange_strong_explicit(&s->slot_busy, &busy, true, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    s->slot_fn = fn;
    s->slot_ctx = ctx;
    s->slot_n = n;
    s->slot_chunk = chunk;
    s->slot_nchunks = nchunks;
    atomic_store_explicit(&s->slot_done, 0, memory_order_relaxed);
    const uint64_t generation = (atomic_load_explicit(&s->slot_word, memory_order_relaxed) >> REMAINING_BITS) + 1;
    atomic_store_explicit(&s->slot_word, generation << REMAINING_BITS | nchunks, memory_order_release);
    notify(s);
    slot_participate(s, w, true);
    wait_until(s, w, slot_done_ready, s);
    atomic_store_explicit(&s->slot_busy, false, memory_order_release);
    return true;
}

void parallel_for(struct sched *s, size_t n, size_t grain, range_fn fn, void *ctx)
{
    if (n == 0)
        return;
    struct worker *w = current_worker(s);
    if (w)
        serve_injected(w);
    if (grain == 0)
        grain = 1;
    /* Chunks are whole multiples of the grain; at most CHUNKS_PER_THREAD
     * per thread, since each costs a claim on a shared line. */
    const size_t units = n / grain + (n % grain != 0);
    const size_t max_chunks = (size_t)s->nthreads * CHUNKS_PER_THREAD;
    const size_t units_per_chunk = units / max_chunks + (units % max_chunks != 0);
    const size_t chunk = units_per_chunk * grain;
    const size_t nchunks = n / chunk + (n % chunk != 0);

    if (w && (nchunks == 1 || s->nthreads == 1)) {
        fn(ctx, 0, n, w->id);
        return;
    }
    if (w && slot_run(s, w, n, chunk, nchunks, fn, ctx))
        return;

    struct loop L = {
        .fn = fn, .ctx = ctx, .n = n, .chunk = chunk, .nchunks = nchunks,
        .max_helpers = w ? s->nthreads - 1 : s->nthreads,
        .group = task_group_begin(s),
    };
    atomic_init(&L.next, 0);
    atomic_init(&L.helpers, 1);
    task_spawn(L.group, loop_helper_task, &L);
    if (w)
        loop_run_chunks(&L, w);
    task_group_wait(L.group);
}

void parallel_for_streaming(struct sched *s, size_t n, size_t grain, range_fn fn, void *ctx)
{
    if (grain == 0)
        grain = 1;
    const size_t units = n / grain + (n % grain != 0), threads = (size_t)s->nthreads;
    /* at most `threads` units of this size, so parallel_for makes each one chunk */
    parallel_for(s, n, (units / threads + (units % threads != 0)) * grain, fn, ctx);
}

/* ---- start-up and shut-down --------------------------------------------- */

static bool stopping(const void *arg)
{
    const struct sched *s = arg;
    return atomic_load_explicit(&s->stop, memory_order_acquire);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    tls_worker = w;
    wait_until(w->s, w, stopping, w->s);
    return NULL;
}

/* Stop and join workers 1..started, free everything. */
static void sched_teardown(struct sched *s, int started)
{
    atomic_store_explicit(&s->stop, true, memory_order_seq_cst);
    notify(s);
    for (int i = 1; i <= started; i++)
        pthread_join(s->workers[i].thread, NULL);
    if (s->pinned)
        pthread_setaffinity_np(s->creator, sizeof s->creator_cpus, &s->creator_cpus);
    for (int i = 0; i < s->nthreads; i++) {
        deque_destroy(&s->workers[i].deque);
        pool_destroy(&s->workers[i].pool);
    }
    pool_destroy(&s->external_pool);
    pthread_mutex_destroy(&s->inject_lock);
    free(s->workers);
    free(s);
}

/* The i-th CPU this process may run on, wrapping around. */
static int allowed_cpu(const cpu_set_t *allowed, int i)
{
    const int count = CPU_COUNT(allowed);
    int k = i % count;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, allowed) && k-- == 0)
            return cpu;
    return 0;
}

/* A set holding the CPU worker i is pinned to. */
static cpu_set_t pin_set(const cpu_set_t *allowed, int i)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(allowed_cpu(allowed, i), &one);
    return one;
}

static int pin_failed(const cpu_set_t *allowed, int i, int err)
{
    return ryot_fail("sched: cannot pin worker %d to CPU %d: %s", i, allowed_cpu(allowed, i), strerror(err));
}

struct sched *sched_create(int nthreads, bool pin)
{
    if (nthreads < 1 || nthreads > SCHED_MAX_THREADS) {
        ryot_fail("sched: thread count %d out of range 1..%d", nthreads, SCHED_MAX_THREADS);
        return NULL;
    }
    struct sched *s = aligned_alloc(CACHE_LINE, (sizeof *s + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
    struct worker *workers = aligned_alloc(CACHE_LINE, (size_t)nthreads * sizeof *workers);
    if (!s || !workers) {
        free(s);
        free(workers);
        ryot_fail("sched: out of memory for %d workers", nthreads);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    memset(workers, 0, (size_t)nthreads * sizeof *workers);
    s->nthreads = nthreads;
    s->workers = workers;
    s->creator = pthread_self();
    atomic_init(&s->slot_word, 0);
    atomic_init(&s->slot_done, 0);
    atomic_init(&s->slot_busy, false);
    atomic_init(&s->stop, false);
    atomic_init(&s->epoch, 0);
    atomic_init(&s->sleepers, 0);
    atomic_init(&s->inject_count, 0);
    atomic_init(&s->external_pool.returned, NULL);
    pthread_mutex_init(&s->inject_lock, NULL);
    atomic_init(&s->fallback_group.pending, 0);
    s->fallback_group.s = s;

    bool ok = true;
    for (int i = 0; i < nthreads; i++) {
        struct worker *w = &workers[i];
        w->s = s;
        w->id = i;
        w->victim = (unsigned)(i + 1) % (unsigned)nthreads;
        atomic_init(&w->pool.returned, NULL);
        ok &= deque_init(&w->deque, DEQUE_CAPACITY);
        ok &= pool_grow(&w->pool);
    }
    if (!ok) {
        ryot_fail("sched: out of memory for %d workers", nthreads);
        sched_teardown(s, 0);
        return NULL;
    }

    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (pin) {
        if (pthread_getaffinity_np(s->creator, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) == 0) {
            ryot_fail("sched: cannot read the CPU affinity to pin workers");
            sched_teardown(s, 0);
            return NULL;
        }
        s->creator_cpus = allowed;
        s->pinned = true;
        const cpu_set_t one = pin_set(&allowed, 0);
        const int err = pthread_setaffinity_np(s->creator, sizeof one, &one);
        if (err) {
            pin_failed(&allowed, 0, err);
            sched_teardown(s, 0);
            return NULL;
        }
    }
    for (int i = 1; i < nthreads; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        int err = 0;
        if (pin) {
            const cpu_set_t one = pin_set(&allowed, i);
            err = pthread_attr_setaffinity_np(&attr, sizeof one, &one);
            if (err)
                pin_failed(&allowed, i, err);
        }
        if (!err) {
            err = pthread_create(&workers[i].thread, &attr, worker_main, &workers[i]);
            if (err)
                ryot_fail("sched: cannot start worker thread %d of %d: %s", i, nthreads, strerror(err));
        }
        pthread_attr_destroy(&attr);
        if (err) {
            sched_teardown(s, i - 1);
            return NULL;
        }
    }
    return s;
}

void sched_destroy(struct sched *s)
{
    if (s)
        sched_teardown(s, s->nthreads - 1);
}

int sched_threads(const struct sched *s) { return s->nthreads; }
