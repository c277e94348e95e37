//@ local k = plan.kernels[1].params
//@ local CT = k.kv_type == "f16" and "uint16_t" or "float"
/* Benchmark of the generated attention kernel {{k.name}} ({{isa.name}}),
 * rendered by gen/bench_attention.lua.  Against a naive reference in the
 * same run (an f32 copy of the cache, the whole score row materialized, a
 * two-pass softmax, plain C, threads over (query, head) rows):
 *  - decode: one token at contexts {{table.concat(decode_contexts, ", ")}}, through all {{n_layers}} layers' caches so
 *    the cache comes from memory; also as effective KV-cache bandwidth over
 *    the machine's streaming read bandwidth, measured here too;
 *  - prefill of {{table.concat(prefill_lengths, ", ")}} tokens into one layer, {{prefill_chunk}} tokens per call as the
 *    forward pass does.
 * Every figure is the best of several runs, at 1 and 2 threads.  Appends one
 * JSON object per figure to OUT.jsonl and prints a table.
 *
 *   bench_attention [OUT.jsonl]     (default build/bench.jsonl) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "bandwidth.h"
#include "error.h"
#include "f16.h"
#include "kernels.h"
#include "sched.h"

enum {
    HD = {{k.head_dim}}, NH = {{k.n_heads}}, NKV = {{k.n_kv_heads}}, G = NH / NKV, KVD = NKV * HD, QD = NH * HD,
    SEQ = {{k.seq_len}}, LAYERS = {{n_layers}}, CHUNK = {{prefill_chunk}}, MAX_THREADS = 2,
};
static const size_t head_stride = {{k.cache_head_stride}}, layer_bytes = {{k.cache_layer_bytes}};
static const int decode_contexts[] = { {{table.concat(decode_contexts, ", ")}} };
static const int prefill_lengths[] = { {{table.concat(prefill_lengths, ", ")}} };
static const char layout[] = "hd{{k.head_dim}}_h{{k.n_heads}}_kv{{k.n_kv_heads}}_{{k.kv_type}}";

static FILE *jsonl;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static void report(const char *shape, int threads, const char *metric, double value)
{
    fprintf(jsonl, "{\"bench\":\"attention\",\"shape\":\"%s %s\",\"isa\":\"{{isa.name}}\",\"threads\":%d,"
            "\"metric\":\"%s\",\"value\":%.6g}\n", layout, shape, threads, metric, value);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* uniform in [-1, 1) */
static float rng_float(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / (1 << 24)) - 1.0);
}

static {{CT}} to_cache(float x)
{
//@ if k.kv_type == "f16" then
    return f32_to_f16(x);
//@ else
    return x;
//@ end
}

static float from_cache({{CT}} x)
{
//@ if k.kv_type == "f16" then
    return f16_to_f32(x);
//@ else
    return x;
//@ end
}

/* ---- the naive reference ---- */

struct naive {
    float *out;
    const float *q, *k_new, *v_new;
    {{CT}} *k_cache, *v_cache;
    float *k, *v;     /* f32 copy of the cache, [KV head][position][HD] */
    float *scores;    /* one context-long row per thread */
    int pos, n;
};

static void naive_convert(void *ctx, size_t h0, size_t h1, int worker)
{
    const struct naive *a = ctx;
    (void)worker;
    for (size_t h = h0; h < h1; h++)
        for (size_t i = 0; i < (size_t)(a->pos + a->n) * HD; i++) {
            a->k[h * SEQ * HD + i] = from_cache(a->k_cache[h * head_stride + i]);
            a->v[h * SEQ * HD + i] = from_cache(a->v_cache[h * head_stride + i]);
        }
}

static void naive_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct naive *a = ctx;
    float *scores = a->scores + (size_t)worker * SEQ;
    for (size_t r = r0; r < r1; r++) {  /* r = query * NH + head */
        const int i = (int)(r / NH), h = (int)(r % NH), n_ctx = a->pos + i + 1;
        const float *q = a->q + r * HD, *k = a->k + (size_t)(h / G) * SEQ * HD, *v = a->v + (size_t)(h / G) * SEQ * HD;
        float max = -INFINITY, sum = 0.0f, acc[HD] = { 0 };
        for (int t = 0; t < n_ctx; t++) {
            float s = 0.0f;
            for (int d = 0; d < HD; d++)
                s += q[d] * k[(size_t)t * HD + d];
            scores[t] = s / sqrtf((float)HD);
            max = fmaxf(max, scores[t]);
        }
        for (int t = 0; t < n_ctx; t++)
            sum += scores[t] = expf(scores[t] - max);
        for (int t = 0; t < n_ctx; t++)
            for (int d = 0; d < HD; d++)
                acc[d] += scores[t] * v[(size_t)t * HD + d];
        for (int d = 0; d < HD; d++)
            a->out[r * HD + d] = acc[d] / sum;
    }
}

/* Same contract as the kernel: store the new rows, then attend. */
static void naive_attention(struct sched *s, struct naive *a, {{CT}} *k_cache, {{CT}} *v_cache, int pos, int n)
{
    for (int t = 0; t < n; t++)
        for (int h = 0; h < NKV; h++)
            for (int d = 0; d < HD; d++) {
                k_cache[h * head_stride + (size_t)(pos + t) * HD + d] = to_cache(a->k_new[(t * NKV + h) * HD + d]);
                v_cache[h * head_stride + (size_t)(pos + t) * HD + d] = to_cache(a->v_new[(t * NKV + h) * HD + d]);
            }
    a->k_cache = k_cache, a->v_cache = v_cache, a->pos = pos, a->n = n;
    parallel_for(s, NKV, 1, naive_convert, a);
    parallel_for(s, (size_t)n * NH, 1, naive_rows, a);
}

/* ---- the runs ---- */

struct buffers {
    float *out, *q, *k_new, *v_new;
    {{CT}} *k_cache, *v_cache;  /* LAYERS layers */
    void *scratch;
    struct naive naive;
};

static void decode_token(struct sched *s, struct buffers *b, int ctx, int naive)
{
    for (int l = 0; l < LAYERS; l++) {
        {{CT}} *kc = b->k_cache + (size_t)l * (layer_bytes / sizeof({{CT}}));
        {{CT}} *vc = b->v_cache + (size_t)l * (layer_bytes / sizeof({{CT}}));
        if (naive)
            naive_attention(s, &b->naive, kc, vc, ctx - 1, 1);
        else
            {{k.name}}(s, b->out, b->q, b->k_new, b->v_new, kc, vc, b->scratch, ctx - 1, 1);
    }
}

static void prefill(struct sched *s, struct buffers *b, int len, int naive)
{
    for (int pos = 0; pos < len; pos += CHUNK) {
        const int n = len - pos < CHUNK ? len - pos : CHUNK;
        if (naive)
            naive_attention(s, &b->naive, b->k_cache, b->v_cache, pos, n);
        else
            {{k.name}}(s, b->out, b->q, b->k_new, b->v_new, b->k_cache, b->v_cache, b->scratch, pos, n);
    }
}

static void *alloc(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p)
        ryot_die("cannot allocate %zu MiB", bytes >> 20);
    return p;
}

typedef void run_fn(struct sched *s, struct buffers *b, int size, int naive);

/* Best time in ms of at least `reps` runs, more (up to 20) while under a second in all. */
static double best_ms(int reps, run_fn *run, struct sched *s, struct buffers *b, int size, int naive)
{
    double best = INFINITY, spent = 0;
    for (int r = 0; r < reps || (r < 20 && spent < 1e3); r++) {
        const double t0 = now_ms();
        run(s, b, size, naive);
        const double t = now_ms() - t0;
        spent += t;
        best = t < best ? t : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    ryot_set_program_name("bench_attention");
    const char *path = argc > 1 ? argv[1] : "build/bench.jsonl";
    if (!(jsonl = fopen(path, "a")))
        ryot_die("cannot open %s for appending", path);

    /* the caches in an arena, as the forward pass keeps them (huge pages) */
    struct arena caches;
    if (arena_init(&caches, 2 * LAYERS * layer_bytes + 2 * ARENA_ALIGN) != 0)
        ryot_die("%s", ryot_last_error());
    struct buffers b;
    b.out = alloc(sizeof(float) * CHUNK * QD);
    b.q = alloc(sizeof(float) * CHUNK * QD);
    b.k_new = alloc(sizeof(float) * CHUNK * KVD);
    b.v_new = alloc(sizeof(float) * CHUNK * KVD);
    b.k_cache = arena_alloc(&caches, LAYERS * layer_bytes, 0);
    b.v_cache = arena_alloc(&caches, LAYERS * layer_bytes, 0);
    if (!b.k_cache || !b.v_cache)
        ryot_die("%s", ryot_last_error());
    b.scratch = alloc({{k.scratch_shared_bytes}} + MAX_THREADS * (size_t){{k.scratch_thread_bytes}});
    b.naive = (struct naive){ .out = b.out, .q = b.q, .k_new = b.k_new, .v_new = b.v_new,
                              .k = alloc(sizeof(float) * NKV * SEQ * HD), .v = alloc(sizeof(float) * NKV * SEQ * HD),
                              .scores = alloc(sizeof(float) * MAX_THREADS * SEQ) };
    for (size_t i = 0; i < CHUNK * QD; i++)
        b.q[i] = rng_float();
    for (size_t i = 0; i < CHUNK * KVD; i++)
        b.k_new[i] = rng_float(), b.v_new[i] = rng_float();
    for (size_t i = 0; i < LAYERS * layer_bytes / sizeof({{CT}}); i++)
        b.k_cache[i] = to_cache(rng_float()), b.v_cache[i] = to_cache(rng_float());

    printf("attention: %s (%s), %d layers; scratch %.0f KiB per thread + %.0f KiB shared at every context\n",
           "{{k.name}}", "{{isa.name}}", LAYERS, {{k.scratch_thread_bytes}} / 1024.0, {{k.scratch_shared_bytes}} / 1024.0);
    printf("%-7s %-22s %10s %10s %8s %9s %9s %8s\n", "threads", "case", "ms", "naive ms", "vs naive", "KV GB/s",
           "read GB/s", "bw ratio");
    for (int threads = 1; threads <= MAX_THREADS; threads++) {
        struct sched *s = sched_create(threads, false);
        if (!s)
            ryot_die("%s", ryot_last_error());
        const double read_gbs = measure_read_bandwidth(s, (size_t)1 << 30, 5) / 1e9;
        if (read_gbs < 0)
            ryot_die("%s", ryot_last_error());
        char shape[64];
        for (size_t c = 0; c < sizeof decode_contexts / sizeof decode_contexts[0]; c++) {
            const int ctx = decode_contexts[c];
            const double ms = best_ms(5, decode_token, s, &b, ctx, 0);
            const double naive_ms = best_ms(2, decode_token, s, &b, ctx, 1);
            const double kv_gbs = 2.0 * LAYERS * KVD * ctx * sizeof({{CT}}) / (ms * 1e6);
            snprintf(shape, sizeof shape, "decode ctx=%d layers=%d", ctx, LAYERS);
            report(shape, threads, "attn_decode_ms", ms);
            report(shape, threads, "vs_naive", naive_ms / ms);
            report(shape, threads, "attn_decode_bw_ratio", kv_gbs / read_gbs);
            printf("%-7d %-22s %10.3f %10.3f %8.1f %9.1f %9.1f %8.2f\n", threads, shape, ms, naive_ms, naive_ms / ms,
                   kv_gbs, read_gbs, kv_gbs / read_gbs);
        }
        for (size_t c = 0; c < sizeof prefill_lengths / sizeof prefill_lengths[0]; c++) {
            const int len = prefill_lengths[c];
            const double ms = best_ms(3, prefill, s, &b, len, 0);
            const double naive_ms = best_ms(1, prefill, s, &b, len, 1);
            snprintf(shape, sizeof shape, "prefill %d layers=1", len);
            report(shape, threads, "attn_prefill_ms", ms);
            report(shape, threads, "vs_naive", naive_ms / ms);
            printf("%-7d %-22s %10.3f %10.3f %8.1f\n", threads, shape, ms, naive_ms, naive_ms / ms);
        }
        fflush(jsonl);
        sched_destroy(s);
    }
    fclose(jsonl);
    return 0;
}
