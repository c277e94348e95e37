/* Does this CPU run code generated for an ISA? */
#ifndef RYOT_CPU_H
#define RYOT_CPU_H

/* 0 when the CPU has every feature `isa` needs ("scalar", "avx2", "avx512",
 * "neon"; with "+vnni", "+vbmi", "+gfni" suffixes), else -1 with a message naming the
 * missing feature. */
int cpu_check_isa(const char *isa);

/* Number of CPUs this process may run on: its affinity mask (at least 1). */
int cpu_count(void);

#endif
