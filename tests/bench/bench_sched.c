/* Scheduler benchmark: fork-join and spawn overhead against two baselines
 * written here (a mutex + condition-variable work queue, and
 * pthread_create/join per call), latency of tasks submitted from a foreign
 * thread while the workers are busy, and 2-thread scaling of a
 * compute-bound int8 loop.
 *
 * Fork-join is timed two ways.  With an empty body (forkjoin_us and the
 * plain ratios) a dynamic scheduler may, and mostly does, run every chunk
 * on the calling thread before the others arrive; that is the cost a tiny
 * loop really pays, but it barely exercises the other threads.  The "_all"
 * variants split the loop into one chunk per thread whose bodies only wait
 * for each other, so every thread must take part: the full round trip of
 * waking the workers, running and joining.
 *
 *   bench_sched [OUT.jsonl]     (default build/bench.jsonl, appended)
 *
 * Every figure is measured in this run, at 1 and 2 threads; times are the
 * best of several repetitions of a median (or p99) over many calls, since
 * the machine is shared and noisy. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "sched.h"

enum {
    REPS = 7,              /* repetitions; the best one is reported */
    CALLS = 5000,          /* timed calls per repetition */
    LOOP_N = 1024,         /* items of the fork-join loop ... */
    LOOP_GRAIN = 16,       /* ... in 64 grains */
    CHUNKS_PER_THREAD = 4, /* as sched.c, so the baselines run as many chunks */
    SUBMITS = 2000,
    BUSY_CHUNK_NS = 25000,
    GEMM_M = 256, GEMM_N = 128, GEMM_K = 2048,
    GEMM_GRAIN = 4,
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* q-quantile of v[0..n) (sorts v). */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, compare_double);
    int i = (int)(q * (n - 1) + 0.5);
    return v[i];
}

static double timer_overhead_us;

static void measure_timer_overhead(void)
{
    static double d[CALLS];
    for (int i = 0; i < CALLS; i++) {
        const double t0 = now_us();
        d[i] = now_us() - t0;
    }
    timer_overhead_us = quantile(d, CALLS, 0.5);
}

/* ---- results ------------------------------------------------------------ */

static FILE *jsonl;

static void report(const char *metric, int threads, double value, const char *unit, const char *note)
{
    printf("  %-22s %7d %12.3f %-4s  %s\n", metric, threads, value, unit, note);
    fprintf(jsonl, "{\"bench\":\"sched\",\"metric\":\"%s\",\"value\":%.4f,\"threads\":%d,\"unit\":\"%s\"}\n", metric,
            value, threads, unit);
}

/* ---- loop bodies -------------------------------------------------------- */

/* Chunks run per worker, each counter on its own line. */
struct chunk_count {
    _Alignas(64) long chunks;
};
static struct chunk_count ran[64];

static void empty_body(void *ctx, size_t begin, size_t end, int worker)
{
    (void)ctx, (void)begin, (void)end;
    ran[worker].chunks++;
}

static void empty_task(void *ctx, int worker) { (void)ctx, (void)worker; }

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* One chunk per thread; each arrives, then waits for all to arrive. */
struct meet {
    atomic_int arrived;
    int expected;
};

static void meet_body(void *ctx, size_t begin, size_t end, int worker)
{
    struct meet *m = ctx;
    (void)begin, (void)end, (void)worker;
    atomic_fetch_add_explicit(&m->arrived, 1, memory_order_relaxed);
    while (atomic_load_explicit(&m->arrived, memory_order_relaxed) < m->expected)
        cpu_relax();
}

static size_t chunk_size(size_t n, size_t grain, int threads)
{
    const size_t units = (n + grain - 1) / grain, max_chunks = (size_t)threads * CHUNKS_PER_THREAD;
    return (units + max_chunks - 1) / max_chunks * grain;
}

/* ---- baseline 1: mutex + condition variable work queue ------------------- */

struct cv_pool {
    pthread_mutex_t lock;
    pthread_cond_t work, finished;
    int threads;
    pthread_t *tid;
    bool stop;
    range_fn fn;
    void *ctx;
    size_t n, chunk, nchunks, next, done;
};

struct cv_worker {
    struct cv_pool *pool;
    int id;
};

static void cv_run_claimed(struct cv_pool *p, int id)
{
    /* Called with the lock held; returns with it held. */
    const size_t i = p->next++;
    range_fn fn = p->fn;
    void *ctx = p->ctx;
    const size_t begin = i * p->chunk, end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
    pthread_mutex_unlock(&p->lock);
    fn(ctx, begin, end, id);
    pthread_mutex_lock(&p->lock);
    if (++p->done == p->nchunks)
        pthread_cond_signal(&p->finished);
}

static void *cv_worker_main(void *arg)
{
    struct cv_worker *w = arg;
    struct cv_pool *p = w->pool;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->next >= p->nchunks)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->stop)
            break;
        cv_run_claimed(p, w->id);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static struct cv_worker cv_workers[64];

static void cv_start(struct cv_pool *p, int threads)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->finished, NULL);
    p->threads = threads;
    p->tid = calloc((size_t)threads, sizeof *p->tid);
    for (int i = 1; i < threads; i++) {
        cv_workers[i] = (struct cv_worker){ p, i };
        pthread_create(&p->tid[i], NULL, cv_worker_main, &cv_workers[i]);
    }
}

static void cv_parallel_for(struct cv_pool *p, size_t n, size_t grain, range_fn fn, void *ctx)
{
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk_size(n, grain, p->threads);
    p->nchunks = (n + p->chunk - 1) / p->chunk;
    p->next = p->done = 0;
    pthread_cond_broadcast(&p->work);
    while (p->next < p->nchunks)
        cv_run_claimed(p, 0);
    while (p->done < p->nchunks)
        pthread_cond_wait(&p->finished, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static void cv_stop(struct cv_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->threads; i++)
        pthread_join(p->tid[i], NULL);
    free(p->tid);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->finished);
    pthread_mutex_destroy(&p->lock);
}

/* ---- baseline 2: pthread_create/join per call, static chunks ------------- */

struct pt_share {
    range_fn fn;
    void *ctx;
    size_t n, chunk, nchunks;
    int id, threads;
};

static void *pt_run(void *arg)
{
    const struct pt_share *s = arg;
    for (size_t i = (size_t)s->id; i < s->nchunks; i += (size_t)s->threads) {
        const size_t begin = i * s->chunk, end = begin + s->chunk < s->n ? begin + s->chunk : s->n;
        s->fn(s->ctx, begin, end, s->id);
    }
    return NULL;
}

static void pt_parallel_for(int threads, size_t n, size_t grain, range_fn fn, void *ctx)
{
    struct pt_share share[64];
    pthread_t tid[64];
    const size_t chunk = chunk_size(n, grain, threads);
    for (int i = 0; i < threads; i++)
        share[i] = (struct pt_share){ fn, ctx, n, chunk, (n + chunk - 1) / chunk, i, threads };
    for (int i = 1; i < threads; i++)
        pthread_create(&tid[i], NULL, pt_run, &share[i]);
    pt_run(&share[0]);
    for (int i = 1; i < threads; i++)
        pthread_join(tid[i], NULL);
}

/* ---- timing ------------------------------------------------------------- */

enum engine { OURS, CONDVAR, PTHREAD };

struct stats {
    double median, p99;
};

/* Per-call times of a fork-join loop: best median and best p99 over REPS
 * repetitions of `calls` individually timed calls.  `all`: one chunk per
 * thread, meeting (see the top of the file); else the empty loop. */
static struct stats time_forkjoin(enum engine e, struct sched *s, struct cv_pool *cv, int threads, int calls,
                                  bool all)
{
    static double d[CALLS];
    struct stats best = { 1e30, 1e30 };
    struct meet m = { .expected = threads };
    const size_t n = all ? (size_t)threads : LOOP_N, grain = all ? 1 : LOOP_GRAIN;
    range_fn body = all ? meet_body : empty_body;
    for (int rep = 0; rep < REPS; rep++) {
        for (int i = 0; i < calls; i++) {
            atomic_store(&m.arrived, 0);
            const double t0 = now_us();
            if (e == OURS)
                parallel_for(s, n, grain, body, &m);
            else if (e == CONDVAR)
                cv_parallel_for(cv, n, grain, body, &m);
            else
                pt_parallel_for(threads, n, grain, body, &m);
            d[i] = now_us() - t0 - timer_overhead_us;
        }
        const double p99 = quantile(d, calls, 0.99), median = quantile(d, calls, 0.5);
        best.median = median < best.median ? median : best.median;
        best.p99 = p99 < best.p99 ? p99 : best.p99;
    }
    return best;
}

/* Spawn one empty task and wait for it: best median over REPS. */
static double time_spawn(struct sched *s, int tasks)
{
    static double d[CALLS];
    double best = 1e30;
    for (int rep = 0; rep < REPS; rep++) {
        for (int i = 0; i < CALLS; i++) {
            const double t0 = now_us();
            struct task_group *g = task_group_begin(s);
            for (int k = 0; k < tasks; k++)
                task_spawn(g, empty_task, NULL);
            task_group_wait(g);
            d[i] = (now_us() - t0 - timer_overhead_us) / tasks;
        }
        const double median = quantile(d, CALLS, 0.5);
        best = median < best ? median : best;
    }
    return best;
}

/* ---- submissions from a foreign thread ---------------------------------- */

struct submitter {
    struct sched *s;
    double latency[SUBMITS];        /* spawn to the end of the wait */
    double start_latency[SUBMITS];  /* spawn to the task starting */
    atomic_bool done;
};

static void stamp_task(void *ctx, int worker)
{
    (void)worker;
    *(double *)ctx = now_us();
}

static void *submit_main(void *arg)
{
    struct submitter *sub = arg;
    const struct timespec pause = { 0, 200 * 1000 };
    for (int i = 0; i < SUBMITS; i++) {
        nanosleep(&pause, NULL);
        double started = 0;
        const double t0 = now_us();
        struct task_group *g = task_group_begin(sub->s);
        task_spawn(g, stamp_task, &started);
        task_group_wait(g);
        sub->latency[i] = now_us() - t0;
        sub->start_latency[i] = started - t0;
    }
    atomic_store(&sub->done, true);
    return NULL;
}

static void busy_body(void *ctx, size_t begin, size_t end, int worker)
{
    (void)ctx, (void)worker;
    const double until = now_us() + (double)(end - begin) * BUSY_CHUNK_NS * 1e-3;
    while (now_us() < until)
        ;
}

/* Latency, in µs, of a task spawned on a foreign thread while the creating
 * thread keeps every worker busy with loops of BUSY_CHUNK_NS chunks: median
 * and p99 to the end of its wait, and p99 to the task starting. */
static struct stats time_submit(struct sched *s, int threads, double *start_p99)
{
    struct submitter *sub = calloc(1, sizeof *sub);
    sub->s = s;
    pthread_t tid;
    pthread_create(&tid, NULL, submit_main, sub);
    while (!atomic_load(&sub->done))
        parallel_for(s, (size_t)threads * CHUNKS_PER_THREAD, 1, busy_body, NULL);
    pthread_join(tid, NULL);
    const struct stats st = { quantile(sub->latency, SUBMITS, 0.5), quantile(sub->latency, SUBMITS, 0.99) };
    *start_p99 = quantile(sub->start_latency, SUBMITS, 0.99);
    free(sub);
    return st;
}

/* ---- compute-bound loop ------------------------------------------------- */

struct gemm {
    const int8_t *a, *b;  /* a: M x K, b: N x K */
    int32_t *c;           /* M x N */
};

static void gemm_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct gemm *g = ctx;
    (void)worker;
    for (size_t r = r0; r < r1; r++)
        for (size_t j = 0; j < GEMM_N; j++) {
            const int8_t *a = g->a + r * GEMM_K, *b = g->b + j * GEMM_K;
            int32_t acc = 0;
            for (size_t k = 0; k < GEMM_K; k++)
                acc += a[k] * b[k];
            g->c[r * GEMM_N + j] = acc;
        }
}

/* Best ms per call at 1 and at 2 threads, and the 2-thread speed-up.  The
 * two are measured alternately in short rounds and the speed-up is the
 * median over rounds of (best 1-thread call / best 2-thread call), so that
 * drift in the machine's load hits both sides of each ratio alike.  Checks
 * that both give the same C. */
static double time_gemm(struct sched *s1, struct sched *s2, double *ms1, double *ms2)
{
    int8_t *a = malloc(GEMM_M * GEMM_K), *b = malloc(GEMM_N * GEMM_K);
    int32_t *c1 = malloc(sizeof(int32_t) * GEMM_M * GEMM_N), *c2 = malloc(sizeof(int32_t) * GEMM_M * GEMM_N);
    uint32_t x = 1;
    for (size_t i = 0; i < (size_t)GEMM_M * GEMM_K; i++)
        a[i] = (int8_t)((x = x * 1664525u + 1013904223u) >> 24);
    for (size_t i = 0; i < (size_t)GEMM_N * GEMM_K; i++)
        b[i] = (int8_t)((x = x * 1664525u + 1013904223u) >> 24);
    struct gemm g1 = { a, b, c1 }, g2 = { a, b, c2 };
    enum { ROUNDS = 21, CALLS_PER_ROUND = 8 };
    double ratio[ROUNDS];
    *ms1 = *ms2 = 1e30;
    parallel_for(s1, GEMM_M, GEMM_GRAIN, gemm_rows, &g1);  /* warm caches and workers */
    parallel_for(s2, GEMM_M, GEMM_GRAIN, gemm_rows, &g2);
    for (int round = 0; round < ROUNDS; round++) {
        double best[2] = { 1e30, 1e30 };
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < CALLS_PER_ROUND; i++) {
                const double t0 = now_us();
                parallel_for(k ? s2 : s1, GEMM_M, GEMM_GRAIN, gemm_rows, k ? (void *)&g2 : (void *)&g1);
                const double ms = (now_us() - t0) * 1e-3;
                best[k] = ms < best[k] ? ms : best[k];
            }
        ratio[round] = best[0] / best[1];
        *ms1 = best[0] < *ms1 ? best[0] : *ms1;
        *ms2 = best[1] < *ms2 ? best[1] : *ms2;
    }
    if (memcmp(c1, c2, sizeof(int32_t) * GEMM_M * GEMM_N) != 0) {
        fprintf(stderr, "bench_sched: the 1- and 2-thread int8 loops disagree\n");
        exit(1);
    }
    free(a), free(b), free(c1), free(c2);
    return quantile(ratio, ROUNDS, 0.5);
}

/* ---- main --------------------------------------------------------------- */

static struct sched *create(int threads)
{
    struct sched *s = sched_create(threads, false);
    if (!s) {
        fprintf(stderr, "bench_sched: %s\n", ryot_last_error());
        exit(1);
    }
    return s;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "build/bench.jsonl";
    jsonl = fopen(path, "a");
    if (!jsonl) {
        fprintf(stderr, "bench_sched: cannot open %s for appending\n", path);
        return 1;
    }
    measure_timer_overhead();
    printf("bench_sched: %d-item loop in %d-item grains, %d calls x best of %d; timer overhead %.3f us subtracted\n",
           LOOP_N, LOOP_GRAIN, CALLS, REPS, timer_overhead_us);
    printf("  %-22s %7s %12s %-4s\n", "metric", "threads", "value", "unit");

    struct sched *scheds[3] = { NULL, NULL, NULL };
    for (int threads = 1; threads <= 2; threads++) {
        struct sched *s = scheds[threads] = create(threads);
        struct cv_pool cv;
        cv_start(&cv, threads);
        memset(ran, 0, sizeof ran);
        const struct stats ours = time_forkjoin(OURS, s, NULL, threads, CALLS, false);
        long total = 0;
        for (int w = 0; w < threads; w++)
            total += ran[w].chunks;
        const double helped = total ? 1.0 - (double)ran[0].chunks / (double)total : 0;
        const struct stats ours_all = time_forkjoin(OURS, s, NULL, threads, CALLS, true);
        const struct stats condvar = time_forkjoin(CONDVAR, NULL, &cv, threads, CALLS, false);
        const struct stats condvar_all = time_forkjoin(CONDVAR, NULL, &cv, threads, CALLS / 10, true);
        const struct stats pthread = time_forkjoin(PTHREAD, NULL, NULL, threads, CALLS / 10, false);
        const struct stats pthread_all = time_forkjoin(PTHREAD, NULL, NULL, threads, CALLS / 10, true);
        cv_stop(&cv);
        const double spawn = time_spawn(s, 1), spawn64 = time_spawn(s, 64);
        double submit_start_p99;
        const struct stats submit = time_submit(s, threads, &submit_start_p99);

        char note[128];
        snprintf(note, sizeof note, "empty body; %.0f%% of chunks ran on other workers", 100 * helped);
        report("forkjoin_us", threads, ours.median, "us", note);
        report("forkjoin_p99_us", threads, ours.p99, "us", "empty body");
        report("condvar_us", threads, condvar.median, "us", "empty body, mutex+condvar queue");
        report("pthread_us", threads, pthread.median, "us", "empty body, pthread_create/join per call");
        report("vs_condvar", threads, condvar.median / ours.median, "x", "empty body, condvar / ours");
        report("vs_pthread", threads, pthread.median / ours.median, "x", "empty body, pthread / ours");
        report("forkjoin_all_us", threads, ours_all.median, "us", "every thread runs a chunk");
        report("forkjoin_all_p99_us", threads, ours_all.p99, "us", "every thread runs a chunk");
        report("condvar_all_us", threads, condvar_all.median, "us", "every thread runs a chunk");
        report("pthread_all_us", threads, pthread_all.median, "us", "every thread runs a chunk");
        report("vs_condvar_all", threads, condvar_all.median / ours_all.median, "x", "every thread runs a chunk");
        report("vs_pthread_all", threads, pthread_all.median / ours_all.median, "x", "every thread runs a chunk");
        report("spawn_us", threads, spawn, "us", "spawn one empty task + wait");
        report("spawn64_us_per_task", threads, spawn64, "us", "64 tasks per group, per task");
        snprintf(note, sizeof note, "foreign-thread task, workers busy in %d us chunks", BUSY_CHUNK_NS / 1000);
        report("submit_median_us", threads, submit.median, "us", note);
        report("submit_p99_us", threads, submit.p99, "us", note);
        report("submit_start_p99_us", threads, submit_start_p99, "us", "same, until the task starts");
    }
    double ms1, ms2;
    const double scaling = time_gemm(scheds[1], scheds[2], &ms1, &ms2);
    report("gemm_ms", 1, ms1, "ms", "int8 256x128x2048, best call");
    report("gemm_ms", 2, ms2, "ms", "int8 256x128x2048, best call");
    report("scaling_2t", 2, scaling, "x", "median over rounds of 1-thread / 2-thread time");
    sched_destroy(scheds[1]);
    sched_destroy(scheds[2]);
    fclose(jsonl);
    return 0;
}
