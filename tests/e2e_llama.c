/* End-to-end test of a generated llama forward pass against an independent,
 * naive f32 reference written here (in the style of llama2.c's run.c, reading
 * the checkpoint itself).  Greedy decoding from BOS for STEPS tokens: every
 * token must match and every logit must agree within 1e-4.  Then a prompt is
 * prefilled in one call and its last logits compared the same way.  The
 * token loop must not call the allocator once warmed up.
 *
 *   e2e_llama CHECKPOINT.bin TOKENIZER.bin */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "compare.h"
#include "malloc_count.h"
#include "model.h"
#include "perplexity.h"
#include "sched.h"
#include "tensor.h"

enum { STEPS = 256 };
static const float tolerance = 1e-4f;

/* ---- the reference ---- */

struct ref {
    int dim, hidden, layers, heads, kv_heads, vocab, seq, head_dim, kv_dim;
    float *data;  /* whole file after the header */
    float *emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_final, *cls;
    float *x, *xb, *xb2, *hb, *hb2, *q, *att, *logits, *kc, *vc;
};

static int ref_load(struct ref *r, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int h[7];
    if (fread(h, sizeof h, 1, f) != 1)
        return fclose(f), -1;
    r->dim = h[0], r->hidden = h[1], r->layers = h[2], r->heads = h[3], r->kv_heads = h[4];
    const int shared = h[5] > 0;
    r->vocab = abs(h[5]), r->seq = h[6];
    r->head_dim = r->dim / r->heads, r->kv_dim = r->head_dim * r->kv_heads;
    fseek(f, 0, SEEK_END);
    const long bytes = ftell(f) - (long)sizeof h;
    fseek(f, sizeof h, SEEK_SET);
    r->data = malloc((size_t)bytes);
    if (fread(r->data, 1, (size_t)bytes, f) != (size_t)bytes)
        return fclose(f), -1;
    fclose(f);
    const size_t d = r->dim, hd = r->hidden, L = r->layers, kv = r->kv_dim;
    float *p = r->data;
    r->emb = p; p += r->vocab * d;
    r->rms_att = p; p += L * d;
    r->wq = p; p += L * d * d;
    r->wk = p; p += L * d * kv;
    r->wv = p; p += L * d * kv;
    r->wo = p; p += L * d * d;
    r->rms_ffn = p; p += L * d;
    r->w1 = p; p += L * d * hd;
    r->w2 = p; p += L * d * hd;
    r->w3 = p; p += L * d * hd;
    r->rms_final = p; p += d;
    p += (size_t)r->seq * r->head_dim;  /* legacy RoPE tables */
    r->cls = shared ? r->emb : p;
    r->x = calloc(d, 4), r->xb = calloc(d, 4), r->xb2 = calloc(d, 4), r->q = calloc(d, 4);
    r->hb = calloc(hd, 4), r->hb2 = calloc(hd, 4), r->att = calloc((size_t)r->heads * r->seq, 4);
    r->logits = calloc(r->vocab, 4);
    r->kc = calloc(L * r->seq * kv, 4), r->vc = calloc(L * r->seq * kv, 4);
    return 0;
}

static void rmsnorm(float *o, const float *x, const float *w, int n)
{
    float ss = 0;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    ss = 1.0f / sqrtf(ss / n + 1e-5f);
    for (int i = 0; i < n; i++)
        o[i] = w[i] * (ss * x[i]);
}

static void matmul(float *o, const float *x, const float *w, int n, int d)
{
    for (int i = 0; i < d; i++) {
        float v = 0;
        for (int j = 0; j < n; j++)
            v += w[(size_t)i * n + j] * x[j];
        o[i] = v;
    }
}

static void softmax(float *x, int n)
{
    float max = x[0], sum = 0;
    for (int i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    for (int i = 0; i < n; i++)
        sum += x[i] = expf(x[i] - max);
    for (int i = 0; i < n; i++)
        x[i] /= sum;
}

static float *ref_forward(struct ref *r, int token, int pos)
{
    const int d = r->dim, kv = r->kv_dim, hs = r->head_dim, mul = r->heads / r->kv_heads;
    memcpy(r->x, r->emb + (size_t)token * d, d * sizeof(float));
    for (int l = 0; l < r->layers; l++) {
        rmsnorm(r->xb, r->x, r->rms_att + l * d, d);
        float *k = r->kc + ((size_t)l * r->seq + pos) * kv, *v = r->vc + ((size_t)l * r->seq + pos) * kv;
        matmul(r->q, r->xb, r->wq + (size_t)l * d * d, d, d);
        matmul(k, r->xb, r->wk + (size_t)l * d * kv, d, kv);
        matmul(v, r->xb, r->wv + (size_t)l * d * kv, d, kv);
        for (int i = 0; i < d; i += 2) {
            const float freq = 1.0f / powf(10000.0f, (float)(i % hs) / hs);
            const float fcr = cosf(pos * freq), fci = sinf(pos * freq);
            for (int which = 0; which < (i < kv ? 2 : 1); which++) {
                float *vec = which ? k : r->q;
                const float v0 = vec[i], v1 = vec[i + 1];
                vec[i] = v0 * fcr - v1 * fci;
                vec[i + 1] = v0 * fci + v1 * fcr;
            }
        }
        for (int h = 0; h < r->heads; h++) {
            const float *q = r->q + h * hs;
            float *att = r->att + (size_t)h * r->seq;
            for (int t = 0; t <= pos; t++) {
                const float *kt = r->kc + ((size_t)l * r->seq + t) * kv + (h / mul) * hs;
                float s = 0;
                for (int i = 0; i < hs; i++)
                    s += q[i] * kt[i];
                att[t] = s / sqrtf((float)hs);
            }
            softmax(att, pos + 1);
            float *xb = r->xb + h * hs;
            memset(xb, 0, hs * sizeof(float));
            for (int t = 0; t <= pos; t++) {
                const float *vt = r->vc + ((size_t)l * r->seq + t) * kv + (h / mul) * hs;
                for (int i = 0; i < hs; i++)
                    xb[i] += att[t] * vt[i];
            }
        }
        matmul(r->xb2, r->xb, r->wo + (size_t)l * d * d, d, d);
        for (int i = 0; i < d; i++)
            r->x[i] += r->xb2[i];
        rmsnorm(r->xb, r->x, r->rms_ffn + l * d, d);
        matmul(r->hb, r->xb, r->w1 + (size_t)l * d * r->hidden, d, r->hidden);
        matmul(r->hb2, r->xb, r->w3 + (size_t)l * d * r->hidden, d, r->hidden);
        for (int i = 0; i < r->hidden; i++)
            r->hb[i] = r->hb[i] * (1.0f / (1.0f + expf(-r->hb[i]))) * r->hb2[i];
        matmul(r->xb, r->hb, r->w2 + (size_t)l * d * r->hidden, r->hidden, d);
        for (int i = 0; i < d; i++)
            r->x[i] += r->xb[i];
    }
    rmsnorm(r->x, r->x, r->rms_final, d);
    matmul(r->logits, r->x, r->cls, d, r->vocab);
    return r->logits;
}

/* ---- the comparison ---- */

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static double max_diff(const float *a, const float *b, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++)
        worst = worse(worst, fabsf(a[i] - b[i]));
    return worst;
}

/* model_forward_each's callback: position i's logits against the
 * reference's, which must come in order from `next`. */
struct each_check {
    float *want;  /* [positions][vocab] */
    int vocab, next;
    double worst;
};

static void check_each(void *ctx, int i, const float *logits)
{
    struct each_check *c = ctx;
    if (i != c->next++) {
        c->worst = INFINITY;
        return;
    }
    c->worst = worse(c->worst, max_diff(logits, c->want + (size_t)i * c->vocab, c->vocab));
}

/* Perplexity as llama.cpp defines it (runtime/perplexity.h), from the
 * reference's logits: chunks of ctx from an empty context (BOS first unless
 * striding), the cost of positions first..ctx-2. */
static double ref_perplexity(struct ref *r, const int *tokens, int n, int ctx, int stride)
{
    const int chunks = stride ? (n - ctx + stride - 1) / stride : n / ctx, first = stride ? ctx - stride - 1 : ctx / 2;
    double nll = 0;
    int count = 0;
    for (int k = 0; k < chunks; k++) {
        const int *chunk = tokens + (stride ? k * stride : k * ctx);
        for (int pos = 0; pos + 1 < ctx; pos++) {
            const float *logits = ref_forward(r, pos == 0 && !stride ? 1 : chunk[pos], pos);
            if (pos < first)
                continue;
            double sum = 0;
            for (int v = 0; v < r->vocab; v++)
                sum += exp((double)logits[v]);
            nll += log(sum) - logits[chunk[pos + 1]];
            count++;
        }
    }
    return exp(nll / count);
}

static int run(const char *checkpoint, int threads, int *passed, int *failed)
{
    struct ref ref;
    if (ref_load(&ref, checkpoint) != 0) {
        fprintf(stderr, "cannot read %s\n", checkpoint);
        return -1;
    }
    const struct model_info *mi = model_info();
    struct weight_file wf;
    struct sched *sched = sched_create(threads, false);
    struct arena arena;
    if (weight_file_open(&wf, checkpoint) != 0 || !sched || arena_init(&arena, model_arena_bytes(threads)) != 0) {
        fprintf(stderr, "setup failed\n");
        return -1;
    }
    struct model *m = model_create(&wf, &arena, sched);
    if (!m) {
        fprintf(stderr, "model_create failed\n");
        return -1;
    }

    /* greedy decode, token by token */
    enum { WARM_UP = 8 };
    int token = 1, worst_step = 0, mismatch = -1;
    double worst = 0;
    struct malloc_counts before = { 0 };
    for (int pos = 0; pos < STEPS; pos++) {
        if (pos == WARM_UP)
            before = malloc_counts_now();
        const float *want = ref_forward(&ref, token, pos);
        const float *got = model_forward(m, &token, 1, pos);
        const double d = max_diff(got, want, mi->vocab_size);
        if (!(d <= worst) && !isnan(worst))  /* the first NaN, else the largest */
            worst_step = pos;
        worst = worse(worst, d);
        const int next = argmax(want, mi->vocab_size);
        if (argmax(got, mi->vocab_size) != next && mismatch < 0)
            mismatch = pos;
        token = next;
    }
    const long allocs = malloc_counts_between(before, malloc_counts_now());
    printf("%s %d threads: %ld allocator calls in %d decode steps after warm-up\n", allocs ? "FAIL" : "ok  ",
           threads, allocs, STEPS - WARM_UP);
    allocs ? (*failed)++ : (*passed)++;
    const int decode_ok = worst <= tolerance && mismatch < 0;
    printf("%s %d threads: %d greedy steps, tokens %s, max logit difference %.3g at step %d (tolerance %g)\n",
           decode_ok ? "ok  " : "FAIL", threads, STEPS, mismatch < 0 ? "identical" : "differ", worst, worst_step,
           tolerance);
    decode_ok ? (*passed)++ : (*failed)++;

    /* prefill: the reference's greedy tokens 0..99 in one call, then compare
     * the last logits with the reference's at that position, and the logits
     * of every position (model_forward_each, as perplexity reads them) */
    enum { PREFILL = 100 };
    int prompt[PREFILL];
    struct each_check each = { .want = malloc(sizeof(float) * PREFILL * mi->vocab_size), .vocab = mi->vocab_size };
    prompt[0] = 1;
    for (int pos = 0; pos < PREFILL; pos++) {
        const float *want = ref_forward(&ref, prompt[pos], pos);
        memcpy(each.want + (size_t)pos * mi->vocab_size, want, sizeof(float) * mi->vocab_size);
        if (pos + 1 < PREFILL)
            prompt[pos + 1] = argmax(want, mi->vocab_size);
    }
    const float *got = model_forward(m, prompt, PREFILL, 0);
    const double d = max_diff(got, ref.logits, mi->vocab_size);
    const int prefill_ok = d <= tolerance;
    printf("%s %d threads: prefill of %d tokens in one call, max logit difference %.3g\n",
           prefill_ok ? "ok  " : "FAIL", threads, PREFILL, d);
    prefill_ok ? (*passed)++ : (*failed)++;
    enum { FIRST = 37 };
    each.next = FIRST;
    const int each_rc = model_forward_each(m, prompt, PREFILL, 0, FIRST, check_each, &each);
    const int each_ok = each_rc == 0 && each.next == PREFILL && each.worst <= tolerance;
    printf("%s %d threads: logits of positions %d..%d of a %d-token prefill, max difference %.3g%s\n",
           each_ok ? "ok  " : "FAIL", threads, FIRST, PREFILL - 1, PREFILL, each.worst,
           each.next == PREFILL ? "" : " (positions missing or out of order)");
    each_ok ? (*passed)++ : (*failed)++;
    free(each.want);

    /* perplexity of 3 chunks of 64 tokens and a bit, by chunks and with a
     * stride: the reference's greedy text with every fifth token replaced */
    enum { PPL_CTX = 64, PPL_TOKENS = 3 * PPL_CTX + 17, PPL_STRIDE = 24 };
    int text[PPL_TOKENS];
    text[0] = 1;
    for (int i = 0; i + 1 < PPL_TOKENS; i++)
        text[i + 1] = i % 5 == 4 ? (int)((i * 7919u + 3) % (unsigned)mi->vocab_size)
                                 : argmax(ref_forward(&ref, text[i], i), mi->vocab_size);
    for (int stride = 0; stride <= PPL_STRIDE; stride += PPL_STRIDE) {
        struct perplexity_result r;
        const double want = ref_perplexity(&ref, text, PPL_TOKENS, PPL_CTX, stride);
        const int rc = perplexity(m, text, PPL_TOKENS, PPL_CTX, stride, 1, true, NULL, &r);
        const int chunks = stride ? (PPL_TOKENS - PPL_CTX + stride - 1) / stride : PPL_TOKENS / PPL_CTX;
        const int scored = chunks * (stride ? stride : PPL_CTX - 1 - PPL_CTX / 2);
        const int ok = rc == 0 && r.chunks == chunks && r.scored == scored && fabs(r.ppl - want) <= 1e-4 * want;
        printf("%s %d threads: perplexity of %d tokens, chunks of %d, stride %d: %.6f (reference %.6f), %d chunks, "
               "%d tokens scored\n", ok ? "ok  " : "FAIL", threads, PPL_TOKENS, PPL_CTX, stride, rc == 0 ? r.ppl : NAN,
               want, rc == 0 ? r.chunks : 0, rc == 0 ? r.scored : 0);
        ok ? (*passed)++ : (*failed)++;
    }

    sched_destroy(sched);
    arena_destroy(&arena);
    weight_file_close(&wf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CHECKPOINT.bin\n", argv[0]);
        return 2;
    }
    int passed = 0, failed = 0;
    for (int threads = 1; threads <= 2; threads++)
        if (run(argv[1], threads, &passed, &failed) != 0)
            return 1;
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
