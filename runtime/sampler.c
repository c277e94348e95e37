/* Next-token sampling: greedy at temperature 0, otherwise softmax(logits /
 * temperature), optionally cut to the top-k tokens, then to the nucleus (the
 * smallest most-likely set whose mass exceeds top_p), then one seeded draw. */
#include <math.h>
#include <stdlib.h>

#include "arena.h"
#include "error.h"
#include "sampler.h"

/* splitmix64: a full-period 64-bit generator, good for any seed (even 0). */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1): the top 24 bits, so every value is exact in a float. */
static float random_unit(uint64_t *state)
{
    return (float)(next_random(state) >> 40) * 0x1p-24f;
}

int sampler_init(struct sampler *s, struct arena *a, int vocab_size, float temperature,
                 float top_p, int top_k, uint64_t seed)
{
    if (vocab_size <= 0)
        return ryot_fail("sampler: vocabulary size %d must be positive", vocab_size);
    if (!(temperature >= 0.0f) || isinf(temperature))
        return ryot_fail("sampler: temperature %g must be a finite number >= 0",
                         (double)temperature);
    if (!(top_p > 0.0f && top_p <= 1.0f))
        return ryot_fail("sampler: top-p %g must be in (0, 1]", (double)top_p);
    if (top_k < 0)
        return ryot_fail("sampler: top-k %d must be >= 0 (0 turns it off)", top_k);
    s->vocab_size = vocab_size;
    s->temperature = temperature;
    s->top_p = top_p;
    s->top_k = top_k;
    s->rng = seed;
    s->scratch = arena_alloc(a, (size_t)vocab_size * sizeof *s->scratch, 0);
    return s->scratch ? 0 : -1;
}

/* The first index of the largest value (NaNs never win; all NaN gives 0).
 * Two passes, the maximum then its first index, both of which vectorize: a
 * single pass carries the index from one element to the next, and greedy
 * decoding runs this over the whole vocabulary once per token. */
static int argmax(const float *x, int n)
{
    enum { LANES = 8 };  /* independent maxima: one or two vectors */
    float part[LANES];
    for (int j = 0; j < LANES; j++)
        part[j] = -INFINITY;
    int i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++)
            part[j] = x[i + j] > part[j] ? x[i + j] : part[j];
    float max = -INFINITY;
    for (int j = 0; j < LANES; j++)
        max = part[j] > max ? part[j] : max;
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    for (i = 0; i < n; i++)
        if (x[i] == max)
            return i;
    return 0;
}

/* In place: logits -> probabilities of softmax(logits / temperature).
 * Subtracting the max before dividing keeps tiny temperatures finite. */
static void softmax(float *x, int n, float temperature)
{
    float max = x[argmax(x, n)], sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf((x[i] - max) / temperature);
        sum += x[i];
    }
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}

/* Candidate order: more likely first, lower id first on ties (so results do
 * not depend on qsort's instability). */
static int ranks_before(const struct prob_index *a, const struct prob_index *b)
{
    return a->prob > b->prob || (a->prob == b->prob && a->index < b->index);
}

static int compare_candidates(const void *a, const void *b)
{
    return ranks_before(b, a) - ranks_before(a, b);
}

/* Draw from candidates[0..n) in rank order, keeping the shortest prefix
 * whose probability exceeds top_p * mass (`mass`: what the distribution
 * the candidates come from sums to). */
static int sample_nucleus(const struct prob_index *c, int n, float mass, float top_p, float r)
{
    float cum = 0.0f;
    int last = n - 1;
    for (int i = 0; i < n; i++) {
        cum += c[i].prob;
        if (cum > top_p * mass) {
            last = i;
            break;
        }
    }
    float target = r * cum, acc = 0.0f;
    for (int i = 0; i < last; i++) {
        acc += c[i].prob;
        if (target < acc)
            return c[i].index;
    }
    return c[last].index;
}

/* Keep the k most likely tokens: a heap whose root is the weakest kept one. */
static void select_top_k(const float *probs, int n, int k, struct prob_index *heap)
{
    for (int i = 0; i < n; i++) {
        struct prob_index item = {probs[i], i};
        int pos;
        if (i < k) {
            pos = i;
            while (pos > 0 && ranks_before(&heap[(pos - 1) / 2], &item)) {
                heap[pos] = heap[(pos - 1) / 2];
                pos = (pos - 1) / 2;
            }
        } else {
            if (!ranks_before(&item, &heap[0]))
                continue;
            pos = 0;
            for (;;) {
                int child = 2 * pos + 1;
                if (child >= k)
                    break;
                if (child + 1 < k && ranks_before(&heap[child], &heap[child + 1]))
                    child++;
                if (!ranks_before(&item, &heap[child]))
                    break;
                heap[pos] = heap[child];
                pos = child;
            }
        }
        heap[pos] = item;
    }
}

static int sample_all(const float *probs, int n, float r)
{
    float acc = 0.0f;
    int last_possible = 0;
    for (int i = 0; i < n; i++) {
        acc += probs[i];
        if (r < acc)
            return i;
        if (probs[i] > 0.0f)
            last_possible = i;
    }
    return last_possible;  /* rounding left r above the total mass */
}

int sampler_sample(struct sampler *s, float *logits)
{
    int n = s->vocab_size;
    if (s->temperature == 0.0f)
        return argmax(logits, n);
    softmax(logits, n, s->temperature);
    float r = random_unit(&s->rng);

    if (s->top_k > 0 && s->top_k < n) {
        select_top_k(logits, n, s->top_k, s->scratch);
        qsort(s->scratch, (size_t)s->top_k, sizeof *s->scratch, compare_candidates);
        float kept = 0.0f;  /* top-p applies to the top-k renormalised */
        for (int i = 0; i < s->top_k; i++)
            kept += s->scratch[i].prob;
        return sample_nucleus(s->scratch, s->top_k, kept, s->top_p, r);
    }
    if (s->top_p < 1.0f && n > 1) {
        /* A token below (1 - p) / (n - 1) can only be in the nucleus if it is
         * the most likely one (the rest could not add up to 1 - p), so only
         * the tokens above the cutoff need sorting. */
        float cutoff = (1.0f - s->top_p) / (float)(n - 1);
        int n_cand = 0;
        for (int i = 0; i < n; i++)
            if (logits[i] >= cutoff)
                s->scratch[n_cand++] = (struct prob_index){logits[i], i};
        if (n_cand == 0)
            return argmax(logits, n);
        qsort(s->scratch, (size_t)n_cand, sizeof *s->scratch, compare_candidates);
        return sample_nucleus(s->scratch, n_cand, 1.0f, s->top_p, r);
    }
    return sample_all(logits, n, r);
}
