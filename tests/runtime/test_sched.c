/* Scheduler (runtime/sched.c): coverage of parallel_for and parallel_for_streaming, worker-id
 * uniqueness, nested parallelism, millions of tiny tasks, submissions from
 * foreign threads, parking and waking, shutdown while idle, pinning, and no
 * allocation after warm-up.  Meant to run under ThreadSanitizer too.
 *
 * Link with malloc_count.c and
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=aligned_alloc,--wrap=posix_memalign */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "error.h"
#include "malloc_count.h"
#include "sched.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
    nanosleep(&ts, NULL);
}

static struct sched *create(int threads, bool pin)
{
    struct sched *s = sched_create(threads, pin);
    if (!s) {
        fprintf(stderr, "sched_create(%d): %s\n", threads, ryot_last_error());
        exit(2);
    }
    return s;
}

/* Threads of this process, from /proc/self/task. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* ---- bookkeeping shared by the loop bodies ------------------------------ */

/* How often each index ran, and what was wrong with the chunks. */
struct marks {
    atomic_uchar *count;
    size_t n, grain;
    int threads;
    atomic_int bad_worker, bad_chunk, chunks;
};

static void marks_init(struct marks *m, size_t n, size_t grain, int threads)
{
    m->count = calloc(n ? n : 1, sizeof *m->count);
    m->n = n;
    m->grain = grain ? grain : 1;
    m->threads = threads;
    atomic_init(&m->bad_worker, 0);
    atomic_init(&m->bad_chunk, 0);
    atomic_init(&m->chunks, 0);
}

/* Number of indices that did not run exactly once. */
static size_t marks_wrong(struct marks *m)
{
    size_t wrong = 0;
    for (size_t i = 0; i < m->n; i++)
        wrong += atomic_load_explicit(&m->count[i], memory_order_relaxed) != 1;
    free(m->count);
    return wrong;
}

static void mark_range(void *ctx, size_t begin, size_t end, int worker)
{
    struct marks *m = ctx;
    if (worker < 0 || worker >= m->threads)
        atomic_fetch_add(&m->bad_worker, 1);
    /* Chunks start on a grain boundary and hold at least one grain, except
     * the last, which ends at n. */
    if (begin % m->grain || end > m->n || begin >= end || (end - begin < m->grain && end != m->n))
        atomic_fetch_add(&m->bad_chunk, 1);
    atomic_fetch_add(&m->chunks, 1);
    for (size_t i = begin; i < end && i < m->n; i++)
        atomic_fetch_add_explicit(&m->count[i], 1, memory_order_relaxed);
}

/* ---- tests -------------------------------------------------------------- */

static void test_bad_thread_counts(void)
{
    group_begin("sched_create rejects bad thread counts");
    const int bad[] = { 0, -1, 100000 };
    for (int i = 0; i < 3; i++) {
        ryot_fail("%s", "");
        struct sched *s = sched_create(bad[i], false);
        CHECK(s == NULL, "sched_create(%d) succeeded", bad[i]);
        CHECK(strstr(ryot_last_error(), "thread count") != NULL, "message for %d: '%s'", bad[i],
              ryot_last_error());
        sched_destroy(s);
    }
    group_end();
}

static void test_thread_count(void)
{
    group_begin("one OS thread per extra worker");
    /* A first thread start may bring helper threads (ThreadSanitizer's). */
    sched_destroy(create(2, false));
    const int base = thread_count();
    for (int threads = 1; threads <= 3; threads++) {
        struct sched *s = create(threads, false);
        CHECK(sched_threads(s) == threads, "sched_threads %d", sched_threads(s));
        CHECK(thread_count() == base + threads - 1, "%d threads for sched_create(%d) (base %d)", thread_count(),
              threads, base);
        sched_destroy(s);
        CHECK(thread_count() == base, "threads left after destroy: %d (base %d)", thread_count(), base);
    }
    group_end();
}

static void test_coverage(void)
{
    group_begin("parallel_for and parallel_for_streaming run every index once");
    const size_t ns[] = { 0, 1, 2, 7, 64, 1000, 4097, 100003 };
    const size_t grains[] = { 0, 1, 3, 64, 5000 };
    for (int threads = 1; threads <= 3; threads++) {
        struct sched *s = create(threads, false);
        for (int streaming = 0; streaming <= 1; streaming++)
            for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
                for (size_t b = 0; b < sizeof grains / sizeof grains[0]; b++) {
                    struct marks m;
                    marks_init(&m, ns[a], grains[b], threads);
                    (streaming ? parallel_for_streaming : parallel_for)(s, ns[a], grains[b], mark_range, &m);
                    const int bad_worker = atomic_load(&m.bad_worker), bad_chunk = atomic_load(&m.bad_chunk);
                    const int chunks = atomic_load(&m.chunks);
                    const size_t wrong = marks_wrong(&m);
                    CHECK(wrong == 0 && bad_worker == 0 && bad_chunk == 0,
                          "%s threads %d n %zu grain %zu: %zu indices wrong, %d bad worker ids, %d bad chunks",
                          streaming ? "parallel_for_streaming" : "parallel_for", threads, ns[a], grains[b], wrong,
                          bad_worker, bad_chunk);
                    /* one contiguous range per thread at most */
                    CHECK(!streaming || chunks <= threads, "parallel_for_streaming threads %d n %zu grain %zu: %d chunks",
                          threads, ns[a], grains[b], chunks);
                }
        sched_destroy(s);
    }
    group_end();
}

/* Each chunk holds its worker id while it runs; a second holder means two
 * running chunks were given the same id. */
struct exclusive {
    atomic_int held[8];
    atomic_int clashes, chunks;
};

static void hold_worker(void *ctx, size_t begin, size_t end, int worker)
{
    struct exclusive *x = ctx;
    (void)begin, (void)end;
    if (atomic_exchange(&x->held[worker], 1))
        atomic_fetch_add(&x->clashes, 1);
    for (volatile int spin = 0; spin < 2000; spin++)
        ;
    atomic_store(&x->held[worker], 0);
    atomic_fetch_add(&x->chunks, 1);
}

static void hold_worker_task(void *ctx, int worker) { hold_worker(ctx, 0, 1, worker); }

struct nested_exclusive {
    struct sched *s;
    struct exclusive *x;
};

static void nested_hold(void *ctx, size_t begin, size_t end, int worker)
{
    const struct nested_exclusive *n = ctx;
    (void)begin, (void)end, (void)worker;
    /* The outer chunk is suspended in parallel_for, not running. */
    parallel_for(n->s, 64, 1, hold_worker, n->x);
}

static void test_unique_workers(void)
{
    group_begin("running chunks have distinct worker ids");
    for (int threads = 2; threads <= 4; threads += 2) {
        struct sched *s = create(threads, false);
        struct exclusive x;
        memset(&x, 0, sizeof x);
        for (int rep = 0; rep < 200; rep++)
            parallel_for(s, 256, 1, hold_worker, &x);
        struct task_group *g = task_group_begin(s);
        for (int i = 0; i < 2000; i++)
            task_spawn(g, hold_worker_task, &x);
        task_group_wait(g);
        struct nested_exclusive nested = { s, &x };
        for (int rep = 0; rep < 20; rep++)
            parallel_for(s, 16, 1, nested_hold, &nested);
        CHECK(atomic_load(&x.clashes) == 0, "%d threads: %d clashes in %d chunks", threads,
              atomic_load(&x.clashes), atomic_load(&x.chunks));
        sched_destroy(s);
    }
    group_end();
}

/* Nested parallel_for: an outer loop whose every chunk runs an inner loop
 * over its own slice of a flat index space. */
struct nest {
    struct sched *s;
    size_t inner;
    struct marks m;
};

struct nest_inner {
    struct nest *nest;
    size_t outer_index;
};

static void inner_range(void *ctx, size_t begin, size_t end, int worker)
{
    const struct nest_inner *in = ctx;
    struct marks *m = &in->nest->m;
    (void)worker;
    for (size_t j = begin; j < end; j++)
        atomic_fetch_add_explicit(&m->count[in->outer_index * in->nest->inner + j], 1, memory_order_relaxed);
}

static void outer_range(void *ctx, size_t begin, size_t end, int worker)
{
    struct nest *nest = ctx;
    (void)worker;
    for (size_t i = begin; i < end; i++) {
        struct nest_inner in = { nest, i };
        parallel_for(nest->s, nest->inner, 7, inner_range, &in);
    }
}

static void test_nested_loops(void)
{
    group_begin("nested parallel_for runs every index once");
    for (int threads = 1; threads <= 3; threads++) {
        struct sched *s = create(threads, false);
        for (int rep = 0; rep < 20; rep++) {
            struct nest nest = { .s = s, .inner = 1000 };
            marks_init(&nest.m, 64 * nest.inner, 1, threads);
            parallel_for(s, 64, 1, outer_range, &nest);
            const size_t wrong = marks_wrong(&nest.m);
            CHECK(wrong == 0, "threads %d rep %d: %zu of %zu indices wrong", threads, rep, wrong, 64 * nest.inner);
        }
        sched_destroy(s);
    }
    group_end();
}

/* Millions of tiny tasks: a binary tree of spawns whose leaves mark one
 * index each, and whose inner nodes every so often run a small
 * parallel_for instead (loops inside tasks, tasks inside loops). */
struct tree {
    struct sched *s;
    atomic_uchar *count;
};

struct tree_node {
    struct tree *tree;
    size_t lo, hi;
};

static void tree_task(void *ctx, int worker);

static void tree_range(void *ctx, size_t begin, size_t end, int worker)
{
    const struct tree_node *node = ctx;
    (void)worker;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add_explicit(&node->tree->count[node->lo + i], 1, memory_order_relaxed);
}

static void tree_task(void *ctx, int worker)
{
    const struct tree_node *node = ctx;
    (void)worker;
    const size_t n = node->hi - node->lo;
    if (n == 1) {
        atomic_fetch_add_explicit(&node->tree->count[node->lo], 1, memory_order_relaxed);
        return;
    }
    if (n == 64 && node->lo % 4096 == 0) {
        parallel_for(node->tree->s, n, 4, tree_range, (void *)node);
        return;
    }
    const size_t mid = node->lo + n / 2;
    struct tree_node left = { node->tree, node->lo, mid }, right = { node->tree, mid, node->hi };
    struct task_group *g = task_group_begin(node->tree->s);
    task_spawn(g, tree_task, &left);
    task_spawn(g, tree_task, &right);
    task_group_wait(g);
}

static void mark_one(void *ctx, int worker)
{
    (void)worker;
    atomic_fetch_add_explicit((atomic_uchar *)ctx, 1, memory_order_relaxed);
}

static size_t count_wrong(atomic_uchar *count, size_t n)
{
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++)
        wrong += atomic_load_explicit(&count[i], memory_order_relaxed) != 1;
    return wrong;
}

static void test_task_stress(void)
{
    group_begin("millions of tiny tasks, each once");
    enum { LEAVES = 1 << 20, FLAT = 1 << 20 };
    atomic_uchar *count = calloc(LEAVES > FLAT ? LEAVES : FLAT, 1);
    for (int threads = 2; threads <= 3; threads++) {
        struct sched *s = create(threads, false);
        memset(count, 0, LEAVES);
        struct tree tree = { s, count };
        struct tree_node root = { &tree, 0, LEAVES };
        const double t0 = now_s();
        tree_task(&root, 0);
        const size_t wrong = count_wrong(count, LEAVES);
        CHECK(wrong == 0, "threads %d: %zu of %d leaves wrong", threads, wrong, LEAVES);

        /* One flat group spawned from one worker: the deque grows large. */
        memset(count, 0, FLAT);
        struct task_group *g = task_group_begin(s);
        for (size_t i = 0; i < FLAT; i++)
            task_spawn(g, mark_one, &count[i]);
        task_group_wait(g);
        const size_t flat_wrong = count_wrong(count, FLAT);
        CHECK(flat_wrong == 0, "threads %d: %zu of %d flat tasks wrong", threads, flat_wrong, FLAT);
        printf("  %d threads: %.2f s for %d tree leaves (%d tasks) and %d flat tasks\n", threads, now_s() - t0,
               LEAVES, 2 * LEAVES - 1, FLAT);
        sched_destroy(s);
    }
    free(count);
    group_end();
}

/* Foreign threads (not workers) submit tasks and loops while the creating
 * thread keeps the workers busy with its own loops. */
enum { FOREIGN_ROUNDS = 200, FOREIGN_TASKS = 10, FOREIGN_LOOP = 300 };
#define FOREIGN_MARKS ((size_t)FOREIGN_ROUNDS * (FOREIGN_TASKS + FOREIGN_LOOP))

struct foreign {
    struct sched *s;
    atomic_uchar count[FOREIGN_MARKS];
    atomic_bool done;
};

static void foreign_range(void *ctx, size_t begin, size_t end, int worker)
{
    atomic_uchar *count = ctx;
    (void)worker;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add_explicit(&count[i], 1, memory_order_relaxed);
}

static void *foreign_thread(void *arg)
{
    struct foreign *f = arg;
    for (size_t r = 0; r < FOREIGN_ROUNDS; r++) {
        atomic_uchar *base = f->count + r * (FOREIGN_TASKS + FOREIGN_LOOP);
        struct task_group *g = task_group_begin(f->s);
        for (size_t i = 0; i < FOREIGN_TASKS; i++)
            task_spawn(g, mark_one, &base[i]);
        task_group_wait(g);
        parallel_for(f->s, FOREIGN_LOOP, 16, foreign_range, base + FOREIGN_TASKS);
    }
    atomic_store(&f->done, true);
    return NULL;
}

static void busy_range(void *ctx, size_t begin, size_t end, int worker)
{
    atomic_long *sum = ctx;
    (void)worker;
    long local = 0;
    for (size_t i = begin; i < end; i++)
        local += (long)(i * i % 7);
    atomic_fetch_add_explicit(sum, local, memory_order_relaxed);
}

static void test_foreign_threads(void)
{
    group_begin("tasks and loops from foreign threads");
    enum { FOREIGN_THREADS = 2 };
    for (int threads = 1; threads <= 2; threads++) {
        struct sched *s = create(threads, false);
        struct foreign *f = calloc(FOREIGN_THREADS, sizeof *f);
        pthread_t t[FOREIGN_THREADS];
        for (int i = 0; i < FOREIGN_THREADS; i++) {
            f[i].s = s;
            pthread_create(&t[i], NULL, foreign_thread, &f[i]);
        }
        /* With one thread the creator is the only worker, so it must stay
         * in the scheduler (not block in pthread_join) until they are done. */
        long loops = 0;
        atomic_long sum;
        atomic_init(&sum, 0);
        for (int i = 0; i < FOREIGN_THREADS; i++)
            while (!atomic_load(&f[i].done)) {
                parallel_for(s, 4096, 64, busy_range, &sum);
                loops++;
            }
        for (int i = 0; i < FOREIGN_THREADS; i++) {
            pthread_join(t[i], NULL);
            const size_t wrong = count_wrong(f[i].count, FOREIGN_MARKS);
            CHECK(wrong == 0, "threads %d, foreign thread %d: %zu of %zu marks wrong", threads, i, wrong,
                  FOREIGN_MARKS);
        }
        long want = 0;
        for (size_t i = 0; i < 4096; i++)
            want += (long)(i * i % 7);
        CHECK(atomic_load(&sum) == want * loops, "threads %d: own loops summed %ld, expected %ld", threads,
              atomic_load(&sum), want * loops);
        free(f);
        sched_destroy(s);
    }
    group_end();
}

/* CPU time the process used while its workers had nothing to do. */
static void test_idle_parks(void)
{
    group_begin("idle workers park instead of spinning");
    struct sched *s = create(3, false);
    struct marks m;
    marks_init(&m, 1000, 1, 3);
    parallel_for(s, 1000, 1, mark_range, &m);
    CHECK(marks_wrong(&m) == 0, "warm-up loop");
    sleep_s(0.05);  /* past the spin phase */
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    const double t0 = now_s();
    sleep_s(0.3);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    const double wall = now_s() - t0;
    const double cpu = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
    CHECK(cpu < 0.1 * wall, "2 idle workers used %.3f s of CPU in %.3f s", cpu, wall);
    sched_destroy(s);
    group_end();
}

/* Two chunks (or tasks) that each wait for the other to start: they can
 * only finish if a parked worker was woken to run one of them. */
struct rendezvous {
    atomic_int started;
    atomic_int worker_mask;
    atomic_int timed_out;
};

static void meet(struct rendezvous *r, int worker)
{
    atomic_fetch_or(&r->worker_mask, 1 << worker);
    atomic_fetch_add(&r->started, 1);
    const double deadline = now_s() + 10;
    while (atomic_load(&r->started) < 2)
        if (now_s() > deadline) {
            atomic_store(&r->timed_out, 1);
            return;
        }
}

static void meet_range(void *ctx, size_t begin, size_t end, int worker)
{
    (void)begin, (void)end;
    meet(ctx, worker);
}

static void meet_task(void *ctx, int worker) { meet(ctx, worker); }

static void test_wake(void)
{
    group_begin("parked workers wake for new work");
    struct sched *s = create(2, false);
    for (int rep = 0; rep < 3; rep++) {
        sleep_s(0.02);  /* let the worker park */
        struct rendezvous r;
        memset(&r, 0, sizeof r);
        parallel_for(s, 2, 1, meet_range, &r);
        CHECK(!atomic_load(&r.timed_out) && atomic_load(&r.worker_mask) == 3,
              "loop: timed out %d, workers 0x%x", atomic_load(&r.timed_out), atomic_load(&r.worker_mask));

        sleep_s(0.02);
        memset(&r, 0, sizeof r);
        struct task_group *g = task_group_begin(s);
        task_spawn(g, meet_task, &r);
        task_spawn(g, meet_task, &r);
        task_group_wait(g);
        CHECK(!atomic_load(&r.timed_out) && atomic_load(&r.worker_mask) == 3,
              "tasks: timed out %d, workers 0x%x", atomic_load(&r.timed_out), atomic_load(&r.worker_mask));
    }
    sched_destroy(s);
    group_end();
}

static void test_shutdown(void)
{
    group_begin("shutdown while idle or starting");
    const double pauses[] = { 0, 1e-5, 1e-3, 0.2 };
    atomic_long sum;
    atomic_init(&sum, 0);
    for (int rep = 0; rep < 12; rep++) {
        const double pause = pauses[rep % 4];
        struct sched *s = create(1 + rep % 3, false);
        if (rep % 2)
            parallel_for(s, 100, 1, busy_range, &sum);
        sleep_s(pause);
        const double t0 = now_s();
        sched_destroy(s);
        const double took = now_s() - t0;
        CHECK(took < 1.0, "destroy after %.0e s idle took %.3f s", pause, took);
    }
    group_end();
}

struct cpus {
    int cpu[8];
    struct rendezvous meet;
};

static void record_cpu(void *ctx, size_t begin, size_t end, int worker)
{
    struct cpus *c = ctx;
    (void)begin, (void)end;
    c->cpu[worker] = sched_getcpu();
    meet(&c->meet, worker);
}

static void test_pinning(void)
{
    group_begin("pinned workers stay on their CPUs");
    cpu_set_t before, after;
    pthread_getaffinity_np(pthread_self(), sizeof before, &before);
    int allowed[2], k = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && k < 2; cpu++)
        if (CPU_ISSET(cpu, &before))
            allowed[k++] = cpu;
    if (k == 1)
        allowed[1] = allowed[0];
    struct sched *s = create(2, true);
    for (int rep = 0; rep < 5; rep++) {
        struct cpus c;
        memset(&c, 0, sizeof c);
        parallel_for(s, 2, 1, record_cpu, &c);
        CHECK(!atomic_load(&c.meet.timed_out), "timed out");
        CHECK(c.cpu[0] == allowed[0] && c.cpu[1] == allowed[1], "worker 0 on CPU %d (want %d), worker 1 on %d (want %d)",
              c.cpu[0], allowed[0], c.cpu[1], allowed[1]);
    }
    sched_destroy(s);
    pthread_getaffinity_np(pthread_self(), sizeof after, &after);
    CHECK(CPU_EQUAL(&before, &after), "caller's affinity restored");
    group_end();
}

/* After warm-up, loops and task groups must not touch the allocator. */
static void nested_loop_task(void *ctx, int worker)
{
    (void)worker;
    struct nest *nest = ctx;
    outer_range(nest, 0, 2, worker);
}

static void test_no_malloc(void)
{
    group_begin("no malloc or free after warm-up");
    for (int threads = 1; threads <= 2; threads++) {
        struct sched *s = create(threads, false);
        struct nest nest = { .s = s, .inner = 1000 };
        marks_init(&nest.m, 64 * nest.inner, 1, threads);
        long calls = 0;
        for (int round = 0; round < 3; round++) {  /* the first rounds warm up */
            const struct malloc_counts before = malloc_counts_now();
            for (int rep = 0; rep < 100; rep++) {
                parallel_for(s, nest.m.n, 16, mark_range, &nest.m);
                parallel_for(s, 8, 1, outer_range, &nest);
                struct task_group *g = task_group_begin(s);
                for (int i = 0; i < 64; i++)
                    task_spawn(g, mark_one, &nest.m.count[i]);
                task_spawn(g, nested_loop_task, &nest);
                task_group_wait(g);
            }
            calls = malloc_counts_between(before, malloc_counts_now());
        }
        CHECK(calls == 0, "threads %d: %ld allocator calls after warm-up", threads, calls);
        free(nest.m.count);
        sched_destroy(s);
    }
    group_end();
}

static void test_malloc_count_counts(void)
{
    group_begin("malloc_count sees allocator calls");
    const struct malloc_counts before = malloc_counts_now();
    void *volatile p = malloc(32);
    void *volatile q = calloc(4, 8);
    p = realloc(p, 64);
    void *volatile r = aligned_alloc(64, 64);
    free(p);
    free(q);
    free(r);
    const struct malloc_counts after = malloc_counts_now();
    CHECK(after.malloc - before.malloc == 1 && after.calloc - before.calloc == 1 &&
          after.realloc - before.realloc == 1 && after.aligned - before.aligned == 1 &&
          after.free - before.free == 3, "per-function counts");
    CHECK(malloc_counts_between(before, after) == 7, "total %ld", malloc_counts_between(before, after));
    CHECK(after.bytes - before.bytes == 32 + 32 + 64 + 64, "%lld bytes asked for", after.bytes - before.bytes);
    group_end();
}

int main(void)
{
    test_bad_thread_counts();
    test_thread_count();
    test_coverage();
    test_unique_workers();
    test_nested_loops();
    test_task_stress();
    test_foreign_threads();
    test_idle_parks();
    test_wake();
    test_shutdown();
    test_pinning();
    test_malloc_count_counts();
    test_no_malloc();
    return check_summary();
}
