#include "cpu.h"

#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

struct feature { const char *isa; const char *name; };

static int has(const char *name)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2");
    if (!strcmp(name, "fma")) return __builtin_cpu_supports("fma");
    if (!strcmp(name, "avx512f")) return __builtin_cpu_supports("avx512f");
    if (!strcmp(name, "avx512bw")) return __builtin_cpu_supports("avx512bw");
    if (!strcmp(name, "avx512vl")) return __builtin_cpu_supports("avx512vl");
    if (!strcmp(name, "avx512dq")) return __builtin_cpu_supports("avx512dq");
    if (!strcmp(name, "avx512vnni")) return __builtin_cpu_supports("avx512vnni");
    if (!strcmp(name, "avx512vbmi")) return __builtin_cpu_supports("avx512vbmi");
    if (!strcmp(name, "gfni")) return __builtin_cpu_supports("gfni");
#elif defined(__aarch64__)
    if (!strcmp(name, "neon")) return 1;
#endif
    return 0;
}

int cpu_check_isa(const char *isa)
{
    static const struct feature needs[] = {
        { "avx2", "avx2" }, { "avx2", "fma" },
        { "avx512", "avx2" }, { "avx512", "fma" }, { "avx512", "avx512f" }, { "avx512", "avx512bw" },
        { "avx512", "avx512vl" }, { "avx512", "avx512dq" },
        { "vnni", "avx512vnni" }, { "vbmi", "avx512vbmi" }, { "gfni", "gfni" },
        { "neon", "neon" },
    };
    if (!strcmp(isa, "scalar"))
        return 0;
    int known = 0;
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
        /* "avx512+vnni+vbmi": the base ISA and each +feature must be present */
        const char *at = strstr(isa, needs[i].isa);
        const size_t len = strlen(needs[i].isa);
        if (!at || (at[len] != '\0' && at[len] != '+'))
            continue;
        known = 1;
        if (!has(needs[i].name))
            return ryot_fail("this binary was generated for %s, but this CPU lacks %s; regenerate with ./configure --isa=...",
                             isa, needs[i].name);
    }
    if (!known)
        return ryot_fail("unknown ISA '%s'", isa);
    return 0;
}

int cpu_count(void)
{
    /* the CPUs this process may run on (taskset, cgroups' cpusets), not all online ones */
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
