/* The machine's streaming read bandwidth, the yardstick of every decode
 * figure: decode reads each weight once per token, so tokens/s can be at
 * most bandwidth / weight bytes. */
#ifndef RYOT_BANDWIDTH_H
#define RYOT_BANDWIDTH_H

#include <stddef.h>

struct sched;

/* Best-of-`reps` read bandwidth in bytes/s over a buffer of `bytes` (use at
 * least 1 GiB so it comes from memory, not cache), read with the widest
 * vector loads the CPU has, split over all of the scheduler's threads.
 * Returns a negative value (and sets ryot_last_error) if the buffer cannot
 * be allocated. */
double measure_read_bandwidth(struct sched *s, size_t bytes, int reps);

#endif
