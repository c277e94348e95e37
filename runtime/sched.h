/* Fork-join work-stealing scheduler.
 *
 * One worker per requested thread; the calling thread is worker 0.  Each
 * worker owns a Chase-Lev deque; idle workers spin briefly, then park on a
 * futex until work is submitted.  The generated forward pass calls
 * parallel_for many times per token, so its overhead matters. */
#ifndef RYOT_SCHED_H
#define RYOT_SCHED_H

#include <stdbool.h>
#include <stddef.h>

struct sched;

/* Start `nthreads` workers (the caller counts as one).  `pin` binds worker i
 * to CPU i.  NULL with ryot_last_error() set on failure. */
struct sched *sched_create(int nthreads, bool pin);
void sched_destroy(struct sched *s);
int sched_threads(const struct sched *s);

/* fn(ctx, begin, end, worker) over [0, n) in chunks of at least `grain`;
 * returns when every chunk has run.  `worker` is in [0, sched_threads). */
typedef void (*range_fn)(void *ctx, size_t begin, size_t end, int worker);
void parallel_for(struct sched *s, size_t n, size_t grain, range_fn fn, void *ctx);

/* parallel_for in one contiguous range per thread, boundaries at multiples
 * of `grain`: for loops that stream memory once, like the decode GEMVs.
 * Every chunk boundary restarts the hardware prefetchers' streams and
 * wastes the software prefetch past its end; that costs more than smaller
 * chunks gain in balance. */
void parallel_for_streaming(struct sched *s, size_t n, size_t grain, range_fn fn, void *ctx);

/* Irregular work: spawn tasks into a group, then wait for all of them.
 * Tasks may spawn further tasks and call parallel_for (nested). */
struct task_group;
typedef void (*task_fn)(void *ctx, int worker);
struct task_group *task_group_begin(struct sched *s);
void task_spawn(struct task_group *g, task_fn fn, void *ctx);
void task_group_wait(struct task_group *g);

#endif
