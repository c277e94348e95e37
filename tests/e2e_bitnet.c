/* End-to-end test of the generated BitNet b1.58 forward pass (bitnet-tiny)
 * against an independent, naive reference written here from the BitNet
 * b1.58 definition, reading the same synthetic GGUF through the importer
 * (tensor_to_f32) and its metadata.
 *
 * Per layer:  h = rmsnorm(x) ; q, k, v = W . Q(h) ; RoPE ; attention ;
 *             x += Wo . Q(rmsnorm(attn, attn_sub_norm)) ;
 *             h = rmsnorm(x) ; f = relu(W_gate . Q(h))^2 * (W_up . Q(h)) ;
 *             x += W_down . Q(rmsnorm(f, ffn_sub_norm))
 * where Q is BitNet's activation quantization: per token, s = 127 / max|h|,
 * h ~ round(h * s) / s (ties to even), and W are the file's ternary
 * weights times their scale.  Accumulation is in double.
 *
 * The reference also follows bitnet-tiny's description where it makes a
 * lossy choice: K and V are stored as f16, the head (tied to the embedding)
 * is int8 with a scale per row (absmax / 127), the lookup reads the same
 * int8 table, and the head's input is int8 in blocks of 64 columns.  A
 * model whose head is int4 (bitnet-tiny-int4head) instead has the packer's
 * int4 rule (runtime/pack.h) in blocks of 64 columns, an f16 scale each,
 * the lookup reads those values, and the head's input is quantized per
 * token like every layer's.  An int6 head (bitnet-tiny-int6head) is the
 * same with Q6_K's structure: the file's own values when it stores Q6_K,
 * else the packer's int6 rule (runtime/pack.h), restated here.  A file with
 * an output.weight (bitnet-tiny-untied) has an untied head: the head is
 * that tensor, and the lookup reads the embedding's own f16 values.
 *
 * Tolerance.  The integer dot products are exact, but the floats around
 * them (norms, attention, scales) are summed in another order, so now and
 * then a value lands on the other side of an int8 rounding boundary: one
 * activation moves by one quantization step, and through the KV cache that
 * moves every later logit by about 1% of their range.  Hence two tiers:
 *   tight  |logit difference| <= 1e-4 until the first such flip, which
 *          must come no earlier than step MIN_TIGHT (every kernel, RoPE at
 *          several positions and the KV cache are exercised by then), and
 *          for a prompt of SHORT_PREFILL tokens prefilled in one call;
 *   loose  every step, and a prompt of PREFILL tokens (crossing the
 *          prefill chunk) within LOOSE of the largest |logit|, and the
 *          argmax identical wherever the reference's best logit leads the
 *          second by more than twice that.
 * That the tiers catch architectural mistakes is checked too: references
 * with SiLU instead of squared ReLU, without the sub-layer norms, or
 * without activation quantization must differ from the real one by more
 * than 100 times the tight tolerance within MIN_TIGHT steps.
 *
 * Every check runs with 1 and 2 threads; both sides are fed the
 * reference's greedy tokens.
 *
 *   e2e_bitnet MODEL.gguf   (made by build/tools/mkmodel models/bitnet-tiny.lua; the
 *                            generated model linked in says which head it has) */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "f16.h"
#include "model.h"
#include "sched.h"
#include "tensor.h"

enum { STEPS = 200, MIN_TIGHT = 8, SHORT_PREFILL = 8, PREFILL = 100, HEAD_BLOCK = 64 };

static const double tight = 1e-4;  /* absolute; logits are O(1) */
static const double loose = 0.05;  /* relative to the largest |logit| */

/* Deliberately wrong references, to show the tolerances catch them. */
enum variant { BITNET, WITH_SILU, NO_SUB_NORMS, NO_ACT_QUANT, N_VARIANTS };
static const char *const variant_names[] = { "BitNet b1.58", "SiLU instead of squared ReLU",
                                             "no sub-layer norms", "no activation quantization" };

/* ---- the reference ---- */

struct layer_ref {
    float *attn_norm, *wq, *wk, *wv, *wo, *attn_sub_norm;
    float *ffn_norm, *w_gate, *w_up, *w_down, *ffn_sub_norm;
};

struct ref {
    int dim, hidden, layers, heads, kv_heads, vocab, seq, head_dim, kv_dim;
    double eps, theta;
    bool neox;          /* RoPE pairs (i, i + head_dim/2), from the file's architecture */
    struct layer_ref *L;
    float *output_norm;
    int8_t *table;      /* the tied embedding / head, int8 [vocab][dim] */
    float *row_scale;   /* [vocab] */
    float *head_lowbit; /* or an int4 / int6 head: its values, [vocab][dim] (NULL for int8) */
    float *embed;       /* untied: the lookup's own f16 / f32 values, [vocab][dim] (else NULL) */
    double *x, *xb, *xb2, *q, *hb, *hb2, *att, *logits;
    double *kc, *vc;    /* [layers][seq][kv_dim], values rounded to f16 */
    enum variant variant;
};

static const struct weight_file *ref_file;

static int meta_int(const char *arch, const char *key, int *out)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    const struct weight_meta *m = weight_file_meta(ref_file, full);
    if (!m || m->kind != META_INT) {
        fprintf(stderr, "%s: no integer %s\n", ref_file->path, full);
        return -1;
    }
    *out = (int)m->i;
    return 0;
}

static int meta_float(const char *arch, const char *key, double *out)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    const struct weight_meta *m = weight_file_meta(ref_file, full);
    if (!m || m->kind != META_FLOAT) {
        fprintf(stderr, "%s: no number %s\n", ref_file->path, full);
        return -1;
    }
    *out = m->f;
    return 0;
}

/* Tensor `name` (with %d for the layer) as f32, n elements. */
static float *tensor(int layer, const char *name, size_t n)
{
    char full[TENSOR_NAME_MAX];
    snprintf(full, sizeof full, name, layer);
    const struct tensor *t = weight_file_find(ref_file, full);
    float *v = malloc(n * sizeof(float));
    if (!t || tensor_elems(t) != (int64_t)n || !v || tensor_to_f32(t, 0, (int64_t)n, v) != 0) {
        fprintf(stderr, "%s: cannot read tensor %s of %zu elements\n", ref_file->path, full, n);
        exit(1);
    }
    return v;
}

/* The packer's int4 rule for one row: per block of HEAD_BLOCK columns,
 * d = f16(m / -8) for the value m of largest magnitude (the first one),
 * code = clamp(round(w / d), -8, 7), ties to even; the row's values d * code. */
static void int4_row(float *out, const float *w, int n)
{
    for (int b = 0; b < n; b += HEAD_BLOCK) {
        const int end = b + HEAD_BLOCK < n ? b + HEAD_BLOCK : n;
        float m = 0;
        for (int i = b; i < end; i++)
            m = fabsf(w[i]) > fabsf(m) ? w[i] : m;
        const float d = f16_to_f32(f32_to_f16(m / -8.0f));
        for (int i = b; i < end; i++) {
            float code = d != 0 ? nearbyintf(w[i] / d) : 0;
            code = code < -8 ? -8 : code > 7 ? 7 : code;
            out[i] = code * d;
        }
    }
}

/* The packer's int6 rule for one row (runtime/pack.h): per sub-block of 16
 * the value m of largest magnitude (the first) gives s = m / -32; per
 * super-block of 256 the s of largest magnitude gives d = f16(s / -128);
 * sc = clamp(round(s / d), -128, 127), code = clamp(round(w / (d sc)),
 * -32, 31), ties to even; the row's values d * sc * code. */
static void int6_row(float *out, const float *w, int n)
{
    for (int b = 0; b < n; b += 256) {
        float s[16] = { 0 }, s_max = 0;
        for (int k = 0; k < 16 && b + 16 * k < n; k++) {
            float m = 0;
            for (int i = b + 16 * k; i < b + 16 * (k + 1) && i < n; i++)
                m = fabsf(w[i]) > fabsf(m) ? w[i] : m;
            s[k] = m / -32.0f;
            s_max = fabsf(s[k]) > fabsf(s_max) ? s[k] : s_max;
        }
        const float d = f16_to_f32(f32_to_f16(s_max / -128.0f));
        for (int k = 0; k < 16 && b + 16 * k < n; k++) {
            float sc = d != 0 ? nearbyintf(s[k] / d) : 0;
            sc = sc < -128 ? -128 : sc > 127 ? 127 : sc;
            for (int i = b + 16 * k; i < b + 16 * (k + 1) && i < n; i++) {
                float code = d * sc != 0 ? nearbyintf(w[i] / (d * sc)) : 0;
                code = code < -32 ? -32 : code > 31 ? 31 : code;
                out[i] = d * sc * code;
            }
        }
    }
}

static int ref_load(struct ref *r, const struct weight_file *wf, const char *head_type)
{
    ref_file = wf;
    const struct weight_meta *a = weight_file_meta(wf, "general.architecture");
    if (!a || a->kind != META_STRING) {
        fprintf(stderr, "%s: no general.architecture\n", wf->path);
        return -1;
    }
    if (meta_int(a->s, "embedding_length", &r->dim) || meta_int(a->s, "feed_forward_length", &r->hidden)
        || meta_int(a->s, "block_count", &r->layers) || meta_int(a->s, "attention.head_count", &r->heads)
        || meta_int(a->s, "attention.head_count_kv", &r->kv_heads) || meta_int(a->s, "vocab_size", &r->vocab)
        || meta_int(a->s, "context_length", &r->seq) || meta_float(a->s, "attention.layer_norm_rms_epsilon", &r->eps)
        || meta_float(a->s, "rope.freq_base", &r->theta))
        return -1;
    r->head_dim = r->dim / r->heads;
    r->kv_dim = r->head_dim * r->kv_heads;
    r->neox = strcmp(a->s, "llama") != 0;
    const size_t d = r->dim, hd = r->hidden, kv = r->kv_dim;
    r->L = calloc(r->layers, sizeof *r->L);
    for (int l = 0; l < r->layers; l++) {
        struct layer_ref *L = &r->L[l];
        L->attn_norm = tensor(l, "blk.%d.attn_norm.weight", d);
        L->wq = tensor(l, "blk.%d.attn_q.weight", d * d);
        L->wk = tensor(l, "blk.%d.attn_k.weight", kv * d);
        L->wv = tensor(l, "blk.%d.attn_v.weight", kv * d);
        L->wo = tensor(l, "blk.%d.attn_output.weight", d * d);
        L->attn_sub_norm = tensor(l, "blk.%d.attn_sub_norm.weight", d);
        L->ffn_norm = tensor(l, "blk.%d.ffn_norm.weight", d);
        L->w_gate = tensor(l, "blk.%d.ffn_gate.weight", hd * d);
        L->w_up = tensor(l, "blk.%d.ffn_up.weight", hd * d);
        L->w_down = tensor(l, "blk.%d.ffn_down.weight", d * hd);
        L->ffn_sub_norm = tensor(l, "blk.%d.ffn_sub_norm.weight", hd);
    }
    r->output_norm = tensor(0, "output_norm.weight", d);
    /* The head is the embedding when tied, else output.weight; an untied
     * lookup reads the embedding's values as stored (f16 or f32). */
    const bool untied = weight_file_find(wf, "output.weight") != NULL;
    const char *head_name = untied ? "output.weight" : "token_embd.weight";
    r->embed = untied ? tensor(0, "token_embd.weight", (size_t)r->vocab * d) : NULL;
    /* the head's int8 table: each row's absmax maps to 127 */
    float *head = tensor(0, head_name, (size_t)r->vocab * d);
    r->table = malloc((size_t)r->vocab * d);
    r->row_scale = malloc(sizeof(float) * r->vocab);
    for (int v = 0; v < r->vocab; v++) {
        const float *row = head + (size_t)v * d;
        float amax = 0;
        for (size_t i = 0; i < d; i++)
            amax = fabsf(row[i]) > amax ? fabsf(row[i]) : amax;
        r->row_scale[v] = amax / 127;
        for (size_t i = 0; i < d; i++)
            r->table[(size_t)v * d + i] = (int8_t)(amax > 0 ? lrintf(row[i] * (127 / amax)) : 0);
    }
    r->head_lowbit = NULL;
    const bool int4 = strcmp(head_type, "int4") == 0, int6 = strcmp(head_type, "int6") == 0;
    if (int4 || int6) {
        r->head_lowbit = malloc(sizeof(float) * (size_t)r->vocab * d);
        const bool as_stored = int6 && weight_file_find(wf, head_name)->type == DT_Q6_K;
        for (int v = 0; v < r->vocab; v++) {
            float *out = r->head_lowbit + (size_t)v * d;
            const float *row = head + (size_t)v * d;
            if (as_stored)
                memcpy(out, row, d * sizeof(float));
            else if (int6)
                int6_row(out, row, (int)d);
            else
                int4_row(out, row, (int)d);
        }
    }
    free(head);
    const size_t wide = d > hd ? d : hd;
    r->x = calloc(d, 8), r->xb = calloc(wide, 8), r->xb2 = calloc(wide, 8), r->q = calloc(d, 8);
    r->hb = calloc(hd, 8), r->hb2 = calloc(hd, 8), r->att = calloc(r->seq, 8), r->logits = calloc(r->vocab, 8);
    r->kc = calloc((size_t)r->layers * r->seq * kv, 8), r->vc = calloc((size_t)r->layers * r->seq * kv, 8);
    return 0;
}

static void ref_free(struct ref *r)
{
    for (int l = 0; l < r->layers; l++) {
        struct layer_ref *L = &r->L[l];
        float *const all[] = { L->attn_norm, L->wq, L->wk, L->wv, L->wo, L->attn_sub_norm,
                               L->ffn_norm, L->w_gate, L->w_up, L->w_down, L->ffn_sub_norm };
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            free(all[i]);
    }
    free(r->L);
    free(r->output_norm), free(r->table), free(r->row_scale), free(r->head_lowbit), free(r->embed);
    free(r->x), free(r->xb), free(r->xb2), free(r->q), free(r->hb), free(r->hb2), free(r->att), free(r->logits);
    free(r->kc), free(r->vc);
}

static void rmsnorm(double *o, const double *x, const float *w, int n, double eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    const double inv = 1 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++)
        o[i] = x[i] * inv * w[i];
}

/* BitNet's activation quantization of one token, in place: absmax -> 127,
 * computed in f32 as the definition does, then back to real values. */
static void act_quant(const struct ref *r, double *x, int n)
{
    if (r->variant == NO_ACT_QUANT)
        return;
    float amax = 0;
    for (int i = 0; i < n; i++)
        amax = fabsf((float)x[i]) > amax ? fabsf((float)x[i]) : amax;
    const float s = 127.0f / (amax > 1e-5f ? amax : 1e-5f);
    for (int i = 0; i < n; i++) {
        float q = nearbyintf((float)x[i] * s);
        q = q < -128 ? -128 : q > 127 ? 127 : q;
        x[i] = q / (double)s;
    }
}

/* o[rows] = W[rows][cols] . x */
static void matvec(double *o, const float *w, const double *x, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        double s = 0;
        for (int c = 0; c < cols; c++)
            s += (double)w[(size_t)r * cols + c] * x[c];
        o[r] = s;
    }
}

/* Rotate the pairs of each head by pos * theta^(-2i/hs): (i, i + hs/2) in
 * the NEOX order llama.cpp and bitnet.cpp use for the BitNet family,
 * adjacent (2i, 2i+1) for llama (its converters permute Q and K so). */
static void rope(double *vec, int n_heads, int hs, int pos, double theta, bool neox)
{
    for (int h = 0; h < n_heads; h++)
        for (int i = 0; i < hs / 2; i++) {
            const double angle = pos * pow(theta, -2.0 * i / hs), c = cos(angle), s = sin(angle);
            double *re = vec + h * hs + (neox ? i : 2 * i), *im = neox ? re + hs / 2 : re + 1;
            const double v0 = *re, v1 = *im;
            *re = v0 * c - v1 * s;
            *im = v0 * s + v1 * c;
        }
}

static double *ref_forward(struct ref *r, int token, int pos)
{
    const int d = r->dim, hd = r->hidden, kv = r->kv_dim, hs = r->head_dim, group = r->heads / r->kv_heads;
    for (int i = 0; i < d; i++)
        r->x[i] = r->embed         ? r->embed[(size_t)token * d + i]
                  : r->head_lowbit ? r->head_lowbit[(size_t)token * d + i]
                                   : r->table[(size_t)token * d + i] * (double)r->row_scale[token];
    for (int l = 0; l < r->layers; l++) {
        const struct layer_ref *L = &r->L[l];
        double *kc = r->kc + (size_t)l * r->seq * kv, *vc = r->vc + (size_t)l * r->seq * kv;
        double *k = kc + (size_t)pos * kv, *v = vc + (size_t)pos * kv;
        rmsnorm(r->xb, r->x, L->attn_norm, d, r->eps);
        act_quant(r, r->xb, d);
        matvec(r->q, L->wq, r->xb, d, d);
        matvec(k, L->wk, r->xb, kv, d);
        matvec(v, L->wv, r->xb, kv, d);
        rope(r->q, r->heads, hs, pos, r->theta, r->neox);
        rope(k, r->kv_heads, hs, pos, r->theta, r->neox);
        for (int i = 0; i < kv; i++) {  /* the cache holds f16 */
            k[i] = f16_to_f32(f32_to_f16((float)k[i]));
            v[i] = f16_to_f32(f32_to_f16((float)v[i]));
        }
        for (int h = 0; h < r->heads; h++) {
            const double *q = r->q + h * hs;
            const int kvh = h / group;
            double max = -INFINITY, sum = 0;
            for (int t = 0; t <= pos; t++) {
                double s = 0;
                for (int i = 0; i < hs; i++)
                    s += q[i] * kc[(size_t)t * kv + kvh * hs + i];
                r->att[t] = s / sqrt((double)hs);
                max = r->att[t] > max ? r->att[t] : max;
            }
            for (int t = 0; t <= pos; t++)
                sum += r->att[t] = exp(r->att[t] - max);
            double *out = r->xb + h * hs;
            for (int i = 0; i < hs; i++) {
                double acc = 0;
                for (int t = 0; t <= pos; t++)
                    acc += r->att[t] * vc[(size_t)t * kv + kvh * hs + i];
                out[i] = acc / sum;
            }
        }
        if (r->variant == NO_SUB_NORMS)
            memcpy(r->xb2, r->xb, d * sizeof(double));
        else
            rmsnorm(r->xb2, r->xb, L->attn_sub_norm, d, r->eps);
        act_quant(r, r->xb2, d);
        matvec(r->xb, L->wo, r->xb2, d, d);
        for (int i = 0; i < d; i++)
            r->x[i] += r->xb[i];

        rmsnorm(r->xb, r->x, L->ffn_norm, d, r->eps);
        act_quant(r, r->xb, d);
        matvec(r->hb, L->w_gate, r->xb, hd, d);
        matvec(r->hb2, L->w_up, r->xb, hd, d);
        for (int i = 0; i < hd; i++) {
            const double g = r->hb[i] > 0 ? r->hb[i] : 0;
            r->hb[i] = (r->variant == WITH_SILU ? r->hb[i] / (1 + exp(-r->hb[i])) : g * g) * r->hb2[i];
        }
        if (r->variant == NO_SUB_NORMS)
            memcpy(r->hb2, r->hb, hd * sizeof(double));
        else
            rmsnorm(r->hb2, r->hb, L->ffn_sub_norm, hd, r->eps);
        act_quant(r, r->hb2, hd);
        matvec(r->xb, L->w_down, r->hb2, d, hd);
        for (int i = 0; i < d; i++)
            r->x[i] += r->xb[i];
    }
    rmsnorm(r->xb, r->x, r->output_norm, d, r->eps);
    if (r->head_lowbit) {  /* int4 / int6 head: the input quantized per token, as the layers' */
        act_quant(r, r->xb, d);
        for (int v = 0; v < r->vocab; v++) {
            double s = 0;
            for (int i = 0; i < d; i++)
                s += r->head_lowbit[(size_t)v * d + i] * r->xb[i];
            r->logits[v] = s;
        }
        return r->logits;
    }
    /* int8 head: the input in blocks of HEAD_BLOCK, each absmax -> 127 */
    for (int b = 0; b < d; b += HEAD_BLOCK) {
        const int n = d - b < HEAD_BLOCK ? d - b : HEAD_BLOCK;
        float amax = 0;
        for (int i = 0; i < n; i++)
            amax = fabsf((float)r->xb[b + i]) > amax ? fabsf((float)r->xb[b + i]) : amax;
        for (int i = 0; i < n; i++)
            r->xb[b + i] = amax > 0 ? nearbyintf((float)r->xb[b + i] * (127.0f / amax)) * (double)(amax / 127.0f) : 0;
    }
    for (int v = 0; v < r->vocab; v++) {
        double s = 0;
        for (int i = 0; i < d; i++)
            s += r->table[(size_t)v * d + i] * r->xb[i];
        r->logits[v] = s * r->row_scale[v];
    }
    return r->logits;
}

/* ---- the comparison ---- */

static int argmax(const double *v, int n, double *margin)
{
    int best = 0, second = -1;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            second = best, best = i;
        else if (second < 0 || v[i] > v[second])
            second = i;
    *margin = v[best] - v[second];
    return best;
}

static int argmax_f(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static double max_diff(const float *got, const double *want, int n)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const double d = fabs(got[i] - want[i]);
        if (!(d <= worst))
            worst = d;  /* also catches NaN */
    }
    return worst;
}

static void ref_reset(struct ref *r, enum variant v)
{
    const size_t n = (size_t)r->layers * r->seq * r->kv_dim;
    memset(r->kc, 0, n * 8);
    memset(r->vc, 0, n * 8);
    r->variant = v;
}

static double max_abs(const double *v, int n)
{
    double m = 0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

static void count(int ok, int *passed, int *failed)
{
    ok ? (*passed)++ : (*failed)++;
}

/* Greedy tokens of the reference from BOS: prompt[0..n-1]. */
static void ref_tokens(struct ref *r, int *prompt, int n)
{
    double margin;
    ref_reset(r, BITNET);
    prompt[0] = 1;
    for (int pos = 0; pos + 1 < n; pos++)
        prompt[pos + 1] = argmax(ref_forward(r, prompt[pos], pos), r->vocab, &margin);
}

/* The wrong references must miss the real one's logits by far more than
 * the tight tolerance, within the steps it covers. */
static void check_sensitivity(struct ref *r, int *passed, int *failed)
{
    enum { N = MIN_TIGHT };
    int prompt[N];
    double want[N][r->vocab];
    ref_tokens(r, prompt, N);
    ref_reset(r, BITNET);
    for (int pos = 0; pos < N; pos++)
        memcpy(want[pos], ref_forward(r, prompt[pos], pos), sizeof want[pos]);
    for (int v = WITH_SILU; v < N_VARIANTS; v++) {
        double worst = 0;
        ref_reset(r, (enum variant)v);
        for (int pos = 0; pos < N; pos++) {
            const double *got = ref_forward(r, prompt[pos], pos);
            for (int i = 0; i < r->vocab; i++)
                worst = fmax(worst, fabs(got[i] - want[pos][i]));
        }
        printf("%s a reference with %s has logits off by %.3g in %d steps (must exceed %g)\n",
               worst > 100 * tight ? "ok  " : "FAIL", variant_names[v], worst, N, 100 * tight);
        count(worst > 100 * tight, passed, failed);
    }
    ref_reset(r, BITNET);
}

static int run(struct ref *ref, const struct weight_file *wf, int threads, int *passed, int *failed)
{
    const struct model_info *mi = model_info();
    const int vocab = mi->vocab_size;
    struct sched *sched = sched_create(threads, false);
    struct arena arena;
    if (!sched || arena_init(&arena, model_arena_bytes(threads)) != 0) {
        fprintf(stderr, "setup failed\n");
        return -1;
    }
    struct model *m = model_create(wf, &arena, sched);
    if (!m) {
        fprintf(stderr, "model_create failed\n");
        return -1;
    }

    /* greedy decode, token by token, both fed the reference's choice */
    ref_reset(ref, BITNET);
    int token = 1, mismatch = -1, first_flip = -1, worst_step = 0;
    double worst = 0;
    for (int pos = 0; pos < STEPS; pos++) {
        const double *want = ref_forward(ref, token, pos);
        const float *got = model_forward(m, &token, 1, pos);
        const double range = max_abs(want, vocab), d = max_diff(got, want, vocab);
        if (!(d <= tight) && first_flip < 0)
            first_flip = pos;
        if (!(d / range <= worst))
            worst = d / range, worst_step = pos;
        double margin;
        const int next = argmax(want, vocab, &margin);
        if (margin > 2 * loose * range && argmax_f(got, vocab) != next && mismatch < 0)
            mismatch = pos;
        token = next;
    }
    const int tight_ok = first_flip < 0 || first_flip >= MIN_TIGHT;
    printf("%s %d threads: decode logits within %g up to step %d of %d (at least %d)\n", tight_ok ? "ok  " : "FAIL",
           threads, tight, first_flip < 0 ? STEPS : first_flip, STEPS, MIN_TIGHT);
    count(tight_ok, passed, failed);
    const int loose_ok = worst <= loose && mismatch < 0;
    printf("%s %d threads: %d greedy steps, clear-cut tokens %s, max logit difference %.3g of the range at step %d "
           "(tolerance %g)\n", loose_ok ? "ok  " : "FAIL", threads, STEPS, mismatch < 0 ? "identical" : "differ",
           worst, worst_step, loose);
    count(loose_ok, passed, failed);

    /* prefill in one call, the last logits against the reference's */
    int prompt[PREFILL];
    ref_tokens(ref, prompt, PREFILL);
    for (int len = SHORT_PREFILL; len <= PREFILL; len += PREFILL - SHORT_PREFILL) {
        ref_reset(ref, BITNET);
        const double *want = NULL;
        for (int pos = 0; pos < len; pos++)
            want = ref_forward(ref, prompt[pos], pos);
        const float *got = model_forward(m, prompt, len, 0);
        const double d = max_diff(got, want, vocab), range = max_abs(want, vocab);
        const int ok = len == SHORT_PREFILL ? d <= tight : d / range <= loose;
        printf("%s %d threads: prefill of %d tokens in one call, max logit difference %.3g (%.3g of the range; "
               "tolerance %g%s)\n", ok ? "ok  " : "FAIL", threads, len, d, d / range,
               len == SHORT_PREFILL ? tight : loose, len == SHORT_PREFILL ? "" : " of the range");
        count(ok, passed, failed);
    }

    sched_destroy(sched);
    arena_destroy(&arena);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    const struct model_info *mi = model_info();
    struct weight_file wf;
    struct ref ref;
    if (weight_file_open(&wf, argv[1]) != 0 || ref_load(&ref, &wf, mi->output_type) != 0) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    if (ref.embed && strcmp(mi->embedding_type, "f16") != 0 && strcmp(mi->embedding_type, "f32") != 0) {
        fprintf(stderr, "an untied lookup is modelled for f16 and f32 embeddings only, not %s\n", mi->embedding_type);
        return 1;
    }
    int passed = 0, failed = 0;
    const int same_shape = ref.dim == mi->dim && ref.hidden == mi->hidden_dim && ref.layers == mi->n_layers
                           && ref.heads == mi->n_heads && ref.kv_heads == mi->n_kv_heads
                           && ref.vocab == mi->vocab_size && strncmp(mi->name, "bitnet-tiny", 11) == 0;
    printf("%s the file and the generated model (%s, %s head) are bitnet-tiny's shape\n", same_shape ? "ok  " : "FAIL",
           mi->name, mi->output_type);
    same_shape ? passed++ : failed++;
    if (ref.seq < PREFILL || mi->seq_len < STEPS) {
        fprintf(stderr, "context too short for the test\n");
        return 1;
    }
    if (same_shape)
        check_sensitivity(&ref, &passed, &failed);
    for (int threads = 1; same_shape && threads <= 2; threads++)
        if (run(&ref, &wf, threads, &passed, &failed) != 0)
            return 1;
    ref_free(&ref);
    weight_file_close(&wf);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
