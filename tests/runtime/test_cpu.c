/* cpu_check_isa: a generated binary's ISA string ("avx512+gfni+vbmi+vnni")
 * against this CPU, compared with the compiler's own cpuid answers. */
#include <stdbool.h>
#include <string.h>

#include "../../runtime/cpu.h"
#include "../../runtime/error.h"
#include "check.h"

static void test_portable(void)
{
    group_begin("scalar runs anywhere");
    CHECK(cpu_check_isa("scalar") == 0, "scalar refused: %s", ryot_last_error());
    group_end();
}

static void test_unknown(void)
{
    group_begin("unknown ISA names are refused");
    const char *bad[] = { "", "sse9", "avx", "avx512x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(cpu_check_isa(bad[i]) != 0, "'%s' accepted", bad[i]);
        CHECK(strstr(ryot_last_error(), "unknown ISA") != NULL, "'%s': message '%s'", bad[i], ryot_last_error());
    }
    group_end();
}

#if defined(__x86_64__)
static void test_x86_features(void)
{
    group_begin("each +feature is checked");
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                        && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const struct { const char *isa; bool runs; } cases[] = {
        { "avx2", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") },
        { "avx512", avx512 },
        { "avx512+vnni", avx512 && __builtin_cpu_supports("avx512vnni") },
        { "avx512+vbmi", avx512 && __builtin_cpu_supports("avx512vbmi") },
        { "avx512+gfni", avx512 && __builtin_cpu_supports("gfni") },
        { "avx512+gfni+vbmi+vnni", avx512 && __builtin_cpu_supports("gfni") && __builtin_cpu_supports("avx512vbmi")
                                       && __builtin_cpu_supports("avx512vnni") },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int rc = cpu_check_isa(cases[i].isa);
        CHECK((rc == 0) == cases[i].runs, "%s: cpu_check_isa %d, cpuid says %s", cases[i].isa, rc,
              cases[i].runs ? "runs" : "does not run");
        if (rc != 0)
            CHECK(strstr(ryot_last_error(), "lacks") != NULL, "%s: message '%s'", cases[i].isa, ryot_last_error());
    }
    group_end();
}
#endif

int main(void)
{
    test_portable();
    test_unknown();
#if defined(__x86_64__)
    test_x86_features();
#endif
    return check_summary();
}
