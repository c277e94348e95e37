/* Sampler: greedy, seeding, top-k, top-p, and the distribution it draws
 * from, against probabilities computed here in double precision. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/arena.h"
#include "../../runtime/error.h"
#include "../../runtime/sampler.h"
#include "check.h"

static struct arena arena;

static uint32_t lcg_state = 7;
static float random_logit(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) * 0x1p-24f * 20.0f - 10.0f;
}

static int first_max(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static int make(struct sampler *s, int vocab, float temp, float top_p, int top_k, uint64_t seed)
{
    int rc = sampler_init(s, &arena, vocab, temp, top_p, top_k, seed);
    if (rc != 0)
        fprintf(stderr, "sampler_init: %s\n", ryot_last_error());
    return rc;
}

static void test_init(void)
{
    group_begin("sampler_init validation");
    struct sampler s;
    static const struct { int vocab; float temp, top_p; int top_k; const char *fragment; } bad[] = {
        {0, 1, 1, 0, "vocabulary size 0"},    {-3, 1, 1, 0, "vocabulary size -3"},
        {10, -0.5f, 1, 0, "temperature"},     {10, NAN, 1, 0, "temperature"},
        {10, INFINITY, 1, 0, "temperature"},  {10, 1, 0, 0, "top-p 0"},
        {10, 1, 1.5f, 0, "top-p 1.5"},        {10, 1, NAN, 0, "top-p"},
        {10, 1, 1, -1, "top-k -1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sampler_init(&s, &arena, bad[i].vocab, bad[i].temp, bad[i].top_p, bad[i].top_k, 1);
        CHECK(rc == -1 && strstr(ryot_last_error(), bad[i].fragment),
              "case %zu: rc %d, message '%s'", i, rc, ryot_last_error());
    }
    struct arena small;
    CHECK(arena_init(&small, 4096) == 0, "small arena: %s", ryot_last_error());
    CHECK(sampler_init(&s, &small, 100000, 1, 1, 0, 1) == -1
              && strstr(ryot_last_error(), "out of memory"),
          "scratch larger than the arena: %s", ryot_last_error());
    arena_destroy(&small);
    CHECK(make(&s, 10, 0.8f, 0.9f, 5, 42) == 0 && s.scratch != NULL && s.vocab_size == 10
              && s.top_k == 5 && s.top_p == 0.9f && s.temperature == 0.8f,
          "valid parameters stored");
    group_end();
}

static void test_greedy(void)
{
    group_begin("greedy (temperature 0)");
    struct sampler s;
    enum { V = 1000 };
    float logits[V], copy[V];
    make(&s, V, 0.0f, 1.0f, 0, 1);
    int wrong = 0, modified = 0;
    for (int iter = 0; iter < 200; iter++) {
        for (int i = 0; i < V; i++)
            logits[i] = random_logit();
        memcpy(copy, logits, sizeof logits);
        wrong += sampler_sample(&s, logits) != first_max(copy, V);
        modified += memcmp(copy, logits, sizeof logits) != 0;
    }
    CHECK(wrong == 0, "%d draws were not the argmax", wrong);
    CHECK(modified == 0, "greedy changed the logits %d times", modified);
    struct sampler s5;
    make(&s5, 5, 0.0f, 1.0f, 0, 1);
    float tie[5] = {1, 3, 2, 3, 0};
    CHECK(sampler_sample(&s5, tie) == 1, "ties go to the lowest id");
    float neg[5] = {-5, -1, -2, -7, -1.5f};
    CHECK(sampler_sample(&s5, neg) == 1, "all-negative logits");
    float nan_first[5] = {NAN, 1, 4, NAN, 4};
    CHECK(sampler_sample(&s5, nan_first) == 2, "NaN logits never win");
    float all_nan[5] = {NAN, NAN, NAN, NAN, NAN};
    CHECK(sampler_sample(&s5, all_nan) == 0, "all-NaN logits give token 0");
    float last[5] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, 0};
    CHECK(sampler_sample(&s5, last) == 4, "the maximum in the last place");
    group_end();
}

struct ranked { double p; int id; };

static int more_likely(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Same cuts (top-k, top-p) as the sampler, done here in double: the
 * probability of each token being drawn. */
static void reference_probs(const float *logits, int n, double temp, int top_k, double top_p,
                            double *p)
{
    double max = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++)
        max = fmax(max, logits[i]);
    for (int i = 0; i < n; i++)
        sum += p[i] = exp((logits[i] - max) / temp);
    struct ranked *order = malloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) {
        p[i] /= sum;
        order[i] = (struct ranked){p[i], i};
    }
    qsort(order, (size_t)n, sizeof *order, more_likely);
    int keep = top_k > 0 && top_k < n ? top_k : n;
    double kept = 0;
    for (int i = 0; i < keep; i++)
        kept += order[i].p;
    double cum = 0;
    int nucleus = keep;
    for (int i = 0; i < keep; i++) {
        cum += order[i].p;
        if (cum > top_p * kept) {
            nucleus = i + 1;
            break;
        }
    }
    for (int i = nucleus; i < n; i++)
        p[order[i].id] = 0;
    for (int i = 0; i < nucleus; i++)
        p[order[i].id] /= cum;
    free(order);
}

/* Draw `draws` times and compare frequencies with the reference: each token
 * expected at least 20 times on its own, the rarer ones pooled, each within
 * 5 standard deviations; tokens the cuts exclude must never be drawn. */
static void check_distribution(const char *what, const float *logits, int n, float temp,
                               int top_k, float top_p, int draws)
{
    struct sampler s;
    make(&s, n, temp, top_p, top_k, 12345);
    double *want = malloc((size_t)n * sizeof *want);
    reference_probs(logits, n, temp, top_k, top_p, want);
    long *count = calloc((size_t)n, sizeof *count);
    float *work = malloc((size_t)n * sizeof *work);
    for (int d = 0; d < draws; d++) {
        memcpy(work, logits, (size_t)n * sizeof *work);
        int tok = sampler_sample(&s, work);
        if (tok >= 0 && tok < n)
            count[tok]++;
    }
    int off = 0, excluded_drawn = 0;
    double worst = 0, pooled_p = 0;
    long pooled_count = 0;
    for (int i = 0; i <= n; i++) {
        double p;
        long c;
        if (i == n) {
            p = pooled_p;
            c = pooled_count;
        } else if (want[i] == 0) {
            excluded_drawn += count[i] > 0;
            continue;
        } else if (want[i] * draws < 20) {
            pooled_p += want[i];
            pooled_count += count[i];
            continue;
        } else {
            p = want[i];
            c = count[i];
        }
        if (p == 0)
            continue;
        double z = fabs((double)c / draws - p) / sqrt(p * (1 - p) / draws);
        worst = fmax(worst, z);
        off += z > 5;
    }
    CHECK(off == 0, "%s: %d frequencies off by more than 5 sigma (worst %.1f)", what, off, worst);
    CHECK(excluded_drawn == 0, "%s: %d excluded tokens were drawn", what, excluded_drawn);
    free(want);
    free(count);
    free(work);
}

static void test_distributions(void)
{
    group_begin("draw frequencies match softmax");
    const float logits[8] = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f, 2.5f, -3.0f};
    check_distribution("temperature 1", logits, 8, 1.0f, 0, 1.0f, 200000);
    check_distribution("temperature 0.5", logits, 8, 0.5f, 0, 1.0f, 200000);
    check_distribution("temperature 2", logits, 8, 2.0f, 0, 1.0f, 200000);
    check_distribution("top-k 3", logits, 8, 1.0f, 3, 1.0f, 200000);
    check_distribution("top-p 0.8", logits, 8, 1.0f, 0, 0.8f, 200000);
    check_distribution("top-p 0.5", logits, 8, 1.0f, 0, 0.5f, 200000);
    check_distribution("top-k 5 then top-p 0.7", logits, 8, 1.0f, 5, 0.7f, 200000);
    check_distribution("top-k beyond vocabulary", logits, 8, 1.0f, 100, 1.0f, 100000);
    enum { BIG = 2048 };
    float *big = malloc(BIG * sizeof *big);
    for (int i = 0; i < BIG; i++)
        big[i] = random_logit() * 0.6f;
    check_distribution("2048 tokens, top-p 0.9", big, BIG, 1.0f, 0, 0.9f, 10000);
    check_distribution("2048 tokens, top-k 40", big, BIG, 0.8f, 40, 1.0f, 10000);
    check_distribution("2048 tokens, no cuts", big, BIG, 1.0f, 0, 1.0f, 10000);
    free(big);
    group_end();
}

static void test_reduces_to_greedy(void)
{
    group_begin("top-k 1 and tiny top-p are greedy");
    enum { V = 500 };
    float logits[V], work[V];
    struct sampler k1, p0, p0_hot;
    make(&k1, V, 1.0f, 1.0f, 1, 3);
    make(&p0, V, 1.0f, 1e-6f, 0, 4);
    make(&p0_hot, V, 5.0f, 1e-6f, 0, 5);
    int wrong_k = 0, wrong_p = 0, wrong_hot = 0;
    for (int iter = 0; iter < 300; iter++) {
        for (int i = 0; i < V; i++)
            logits[i] = random_logit();
        int want = first_max(logits, V);
        memcpy(work, logits, sizeof work);
        wrong_k += sampler_sample(&k1, work) != want;
        memcpy(work, logits, sizeof work);
        wrong_p += sampler_sample(&p0, work) != want;
        memcpy(work, logits, sizeof work);
        wrong_hot += sampler_sample(&p0_hot, work) != want;
    }
    CHECK(wrong_k == 0, "top-k 1: %d draws differ from greedy", wrong_k);
    CHECK(wrong_p == 0, "top-p 1e-6: %d draws differ from greedy", wrong_p);
    CHECK(wrong_hot == 0, "top-p 1e-6 at temperature 5: %d draws differ", wrong_hot);
    /* uniform logits: every token is below the top-p cutoff */
    float flat[V];
    for (int i = 0; i < V; i++)
        flat[i] = 0.25f;
    CHECK(sampler_sample(&p0, flat) == 0, "flat distribution, tiny top-p: lowest id");
    group_end();
}

static void test_seeding(void)
{
    group_begin("seeded draws are reproducible");
    enum { V = 300, DRAWS = 2000 };
    float logits[V], work[V];
    for (int i = 0; i < V; i++)
        logits[i] = random_logit() * 0.3f;
    static const struct { float top_p; int top_k; } configs[] = {{1.0f, 0}, {0.9f, 0}, {1.0f, 20},
                                                                {0.8f, 50}};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        struct sampler a, b, other;
        make(&a, V, 1.0f, configs[c].top_p, configs[c].top_k, 99);
        make(&b, V, 1.0f, configs[c].top_p, configs[c].top_k, 99);
        make(&other, V, 1.0f, configs[c].top_p, configs[c].top_k, 100);
        int differ_same = 0, differ_other = 0;
        for (int d = 0; d < DRAWS; d++) {
            memcpy(work, logits, sizeof work);
            int x = sampler_sample(&a, work);
            memcpy(work, logits, sizeof work);
            int y = sampler_sample(&b, work);
            memcpy(work, logits, sizeof work);
            int z = sampler_sample(&other, work);
            differ_same += x != y;
            differ_other += x != z;
        }
        CHECK(differ_same == 0, "config %zu: same seed gave %d different draws", c, differ_same);
        CHECK(differ_other > DRAWS / 2, "config %zu: another seed agreed too often (%d differ)", c,
              differ_other);
    }
    struct sampler zero;
    make(&zero, V, 1.0f, 1.0f, 0, 0);
    int distinct = 0, prev = -1;
    for (int d = 0; d < 100; d++) {
        memcpy(work, logits, sizeof work);
        int x = sampler_sample(&zero, work);
        distinct += x != prev;
        prev = x;
    }
    CHECK(distinct > 50, "seed 0 still yields varied draws (%d changes)", distinct);
    group_end();
}

int main(void)
{
    if (arena_init(&arena, 64u << 20) != 0) {
        fprintf(stderr, "%s\n", ryot_last_error());
        return 2;
    }
    test_init();
    test_greedy();
    test_reduces_to_greedy();
    test_seeding();
    test_distributions();
    arena_destroy(&arena);
    return check_summary();
}
