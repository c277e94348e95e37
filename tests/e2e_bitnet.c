/* End-to-end test of a generated forward pass with int8 activations
 * (BitNet b1.58, and llama-architecture models with ternary or low-bit
 * layers) against an independent, naive reference written here from the
 * BitNet b1.58 definition, reading the same GGUF through the importer
 * (tensor_to_f32) and its metadata.
 *
 * Per layer:  h = rmsnorm(x) ; q, k, v = W . Q(h) ; RoPE ; attention ;
 *             x += Wo . Q(rmsnorm(attn, attn_sub_norm)) ;
 *             h = rmsnorm(x) ; f = act(W_gate . Q(h)) * (W_up . Q(h)) ;
 *             x += W_down . Q(rmsnorm(f, ffn_sub_norm))
 * where Q is BitNet's activation quantization: per token, s = 127 / max|h|,
 * h ~ round(h * s) / s (ties to even), and W are the file's weights times
 * their scale.  Accumulation is in double.  The file's architecture says
 * the rest, as llama.cpp and bitnet.cpp read it: `bitnet-b1.58` and
 * `bitnet-25` (BitNet 2B4T) have the sub-layer norms and act = relu^2,
 * `bitnet` (bitnet_b1_58-large, 3B) the norms and SiLU, `llama` neither
 * norm and SiLU; RoPE rotates the pairs (i, i + head_dim/2) for the BitNet
 * family and adjacent pairs for llama.
 *
 * The reference also follows the description where it makes a lossy
 * choice: K and V are stored as f16, the head (tied to the embedding) is
 * int8 with a scale per row (absmax / 127), the lookup reads the same int8
 * table, and the head's input is int8 in blocks of 64 columns.  A model
 * whose head is int4 (bitnet-tiny-int4head) instead has the packer's int4
 * rule (runtime/pack.h) in blocks of 64 columns, an f16 scale each, the
 * lookup reads those values, and the head's input is quantized per token
 * like every layer's.  An int6 head (bitnet-tiny-int6head) is the same
 * with Q6_K's structure: the file's own values when it stores Q6_K, else
 * the packer's int6 rule (runtime/pack.h), restated here.  A file with an
 * output.weight (bitnet-tiny-untied) has an untied head: the head is that
 * tensor, and the lookup reads the embedding's own f16 values.
 *
 * Teacher forcing.  Both sides are fed the reference's greedy tokens, and
 * the reference takes the model's KV cache as its past: at each position
 * it computes the new token's step from the keys and values the model
 * stored for the earlier ones.  So the tight tolerance holds at every
 * step and every cached row, and an error never hides behind one made
 * earlier.  At each step the logits must agree within TIGHT and the key
 * and value the model cached for the new position within an f16 step of
 * the reference's.  The one legitimate difference is an activation that
 * the two sides, summing floats in different orders, round to neighbouring
 * int8 codes (it lies within a hair of k + 1/2): then the step must agree
 * just as tightly with the reference re-run with that value (or two such
 * values) rounded the other way.  Prefill (PREFILL tokens in one call,
 * across the prefill chunk) is checked the same way at every position: each
 * cached row, and the last logits.
 *
 * That the tolerance catches architectural mistakes is checked too:
 * references with the other activation, without the sub-layer norms,
 * without activation quantization, or with the other RoPE pairing must
 * differ from the real one by more
 * than 100 times the tight tolerance within SENSITIVITY steps.  Every check
 * runs with 1 and 2 threads.
 *
 *   e2e_bitnet MODEL.gguf   (made by build/tools/mkmodel from the linked
 *                            model's description: the generated model says
 *                            which head it has) */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "compare.h"
#include "f16.h"
#include "model.h"
#include "sched.h"
#include "tensor.h"

enum { STEPS = 200, SENSITIVITY = 8, PREFILL = 100, HEAD_BLOCK = 64 };

static const double tight = 1e-4;  /* logits, absolute; they are O(1) */
/* A scaled activation this close to k + 1/2 may round either way on the
 * model's side (its floats differ from the reference's by about 1e-6 of
 * a code step): a candidate for the re-run. */
static const double ambiguous = 1e-3;

/* Deliberately wrong references, to show the tolerance catches them. */
enum variant { REAL, OTHER_ACTIVATION, NO_SUB_NORMS, NO_ACT_QUANT, OTHER_ROPE, N_VARIANTS };
static const char *const variant_names[] = { "the file's architecture", "the other FFN activation",
                                             "no sub-layer norms", "no activation quantization",
                                             "the other RoPE pairing" };

/* An activation rounded during a step: the n-th rounding call of the step
 * (every Q above, and the int8 head's blocks) and the element. */
struct rounding {
    int call, index;
};
enum { MAX_AMBIGUOUS = 16, MAX_FLIPS = 2 };

/* ---- the reference ---- */

struct layer_ref {
    float *attn_norm, *wq, *wk, *wv, *wo, *attn_sub_norm;
    float *ffn_norm, *w_gate, *w_up, *w_down, *ffn_sub_norm;
};

struct ref {
    int dim, hidden, layers, heads, kv_heads, vocab, seq, head_dim, kv_dim;
    double eps, theta;
    bool neox;          /* RoPE pairs (i, i + head_dim/2), from the file's architecture */
    bool sub_norms;     /* the BitNet family's norms before wo and w_down */
    bool relu2;         /* act = relu^2 (BitNet 2B4T), else SiLU */
    struct layer_ref *L;
    float *output_norm;
    int8_t *table;      /* the tied embedding / head, int8 [vocab][dim] */
    float *row_scale;   /* [vocab] */
    float *head_lowbit; /* or an int4 / int6 head: its values, [vocab][dim] (NULL for int8) */
    float *embed;       /* untied: the lookup's own f16 / f32 values, [vocab][dim] (else NULL) */
    double *x, *xb, *xb2, *q, *hb, *hb2, *att, *logits;
    double *kc, *vc;    /* [layers][seq][kv_dim], values rounded to f16: the model's past when teacher-forced */
    enum variant variant;
    /* this step's roundings: the calls so far, those close to a tie, and
     * the ones to round the other way (a re-run) */
    int calls;
    struct rounding ambiguous[MAX_AMBIGUOUS], flips[MAX_FLIPS];
    int n_ambiguous, n_flips;
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
    const bool llama = !strcmp(a->s, "llama"), bitnet_158 = !strcmp(a->s, "bitnet-b1.58") || !strcmp(a->s, "bitnet-25");
    if (!llama && !bitnet_158 && strcmp(a->s, "bitnet") != 0) {
        fprintf(stderr, "%s: architecture '%s' is not modelled here\n", wf->path, a->s);
        return -1;
    }
    r->neox = !llama;
    r->sub_norms = !llama;
    r->relu2 = bitnet_158;
    const size_t d = r->dim, hd = r->hidden, kv = r->kv_dim;
    r->L = calloc(r->layers, sizeof *r->L);
    for (int l = 0; l < r->layers; l++) {
        struct layer_ref *L = &r->L[l];
        L->attn_norm = tensor(l, "blk.%d.attn_norm.weight", d);
        L->wq = tensor(l, "blk.%d.attn_q.weight", d * d);
        L->wk = tensor(l, "blk.%d.attn_k.weight", kv * d);
        L->wv = tensor(l, "blk.%d.attn_v.weight", kv * d);
        L->wo = tensor(l, "blk.%d.attn_output.weight", d * d);
        L->attn_sub_norm = r->sub_norms ? tensor(l, "blk.%d.attn_sub_norm.weight", d) : NULL;
        L->ffn_norm = tensor(l, "blk.%d.ffn_norm.weight", d);
        L->w_gate = tensor(l, "blk.%d.ffn_gate.weight", hd * d);
        L->w_up = tensor(l, "blk.%d.ffn_up.weight", hd * d);
        L->w_down = tensor(l, "blk.%d.ffn_down.weight", d * hd);
        L->ffn_sub_norm = r->sub_norms ? tensor(l, "blk.%d.ffn_sub_norm.weight", hd) : NULL;
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

/* round(v) to the nearest integer (ties to even), noting a value within
 * `ambiguous` of a tie, or rounding it the other way when the re-run asks. */
static float round_tracked(struct ref *r, float v, int index)
{
    const float q = nearbyintf(v);
    const struct rounding here = { r->calls, index };
    for (int f = 0; f < r->n_flips; f++)
        if (r->flips[f].call == here.call && r->flips[f].index == here.index)
            return v > q ? q + 1 : q - 1;
    if (fabsf(fabsf(v - q) - 0.5f) < ambiguous && r->n_ambiguous < MAX_AMBIGUOUS)
        r->ambiguous[r->n_ambiguous++] = here;
    return q;
}

/* BitNet's activation quantization of one token, in place: absmax -> 127,
 * computed in f32 as the definition does, then back to real values. */
static void act_quant(struct ref *r, double *x, int n)
{
    if (r->variant == NO_ACT_QUANT)
        return;
    float amax = 0;
    for (int i = 0; i < n; i++)
        amax = fabsf((float)x[i]) > amax ? fabsf((float)x[i]) : amax;
    const float s = 127.0f / (amax > 1e-5f ? amax : 1e-5f);
    for (int i = 0; i < n; i++) {
        float q = round_tracked(r, (float)x[i] * s, i);
        q = q < -128 ? -128 : q > 127 ? 127 : q;
        x[i] = q / (double)s;
    }
    r->calls++;
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

/* One step of the reference: token at position pos, attending to the
 * cached keys and values of positions 0..pos-1 (its own, or the model's
 * when teacher-forced) and storing its own for pos.  `flips` (n of them)
 * are roundings to take the other way. */
static double *ref_step(struct ref *r, int token, int pos, const struct rounding *flips, int n_flips)
{
    r->calls = r->n_ambiguous = 0;
    r->n_flips = n_flips;
    memcpy(r->flips, flips, (size_t)n_flips * sizeof *flips);
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
        const bool neox = r->neox != (r->variant == OTHER_ROPE);
        rope(r->q, r->heads, hs, pos, r->theta, neox);
        rope(k, r->kv_heads, hs, pos, r->theta, neox);
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
        if (!r->sub_norms || r->variant == NO_SUB_NORMS)
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
        const bool relu2 = r->relu2 != (r->variant == OTHER_ACTIVATION);
        for (int i = 0; i < hd; i++) {
            const double g = r->hb[i] > 0 ? r->hb[i] : 0;
            r->hb[i] = (relu2 ? g * g : r->hb[i] / (1 + exp(-r->hb[i]))) * r->hb2[i];
        }
        if (!r->sub_norms || r->variant == NO_SUB_NORMS)
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
            r->xb[b + i] = amax > 0 ? round_tracked(r, (float)r->xb[b + i] * (127.0f / amax), i) * (double)(amax / 127.0f) : 0;
        r->calls++;
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

static int argmax(const double *v, int n)
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
    for (int i = 0; i < n; i++)
        worst = worse(worst, fabs(got[i] - want[i]));
    return worst;
}

static void ref_reset(struct ref *r, enum variant v)
{
    const size_t n = (size_t)r->layers * r->seq * r->kv_dim;
    memset(r->kc, 0, n * 8);
    memset(r->vc, 0, n * 8);
    r->variant = v;
}

static void count(int ok, int *passed, int *failed)
{
    ok ? (*passed)++ : (*failed)++;
}

/* Greedy tokens of the reference from BOS: prompt[0..n-1]. */
static void ref_tokens(struct ref *r, int *prompt, int n)
{
    ref_reset(r, REAL);
    prompt[0] = 1;
    for (int pos = 0; pos + 1 < n; pos++)
        prompt[pos + 1] = argmax(ref_step(r, prompt[pos], pos, NULL, 0), r->vocab);
}

/* The wrong references must miss the real one's logits by far more than
 * the tight tolerance, within the steps it covers. */
static void check_sensitivity(struct ref *r, int *passed, int *failed)
{
    enum { N = SENSITIVITY };
    int prompt[N];
    double want[N][r->vocab];
    ref_tokens(r, prompt, N);
    ref_reset(r, REAL);
    for (int pos = 0; pos < N; pos++)
        memcpy(want[pos], ref_step(r, prompt[pos], pos, NULL, 0), sizeof want[pos]);
    for (int v = OTHER_ACTIVATION; v < N_VARIANTS; v++) {
        if (v == NO_SUB_NORMS && !r->sub_norms)
            continue;
        double worst = 0;
        ref_reset(r, (enum variant)v);
        for (int pos = 0; pos < N; pos++) {
            const double *got = ref_step(r, prompt[pos], pos, NULL, 0);
            for (int i = 0; i < r->vocab; i++)
                worst = worse(worst, fabs(got[i] - want[pos][i]));
        }
        printf("%s a reference with %s has logits off by %.3g in %d steps (must exceed %g)\n",
               worst > 100 * tight ? "ok  " : "FAIL", variant_names[v], worst, N, 100 * tight);
        count(worst > 100 * tight, passed, failed);
    }
    ref_reset(r, REAL);
}

/* Worst difference between the model's cached key and value rows at pos
 * (every layer) and the reference's, relative to what rounding allows;
 * then the reference takes the model's rows as its own past (teacher
 * forcing).  NaN if a row is not finite.  Rounding allows one f16 step
 * (2^-10 of the value, or the subnormal step), and for a key the model's
 * RoPE angle, pos * freq in f32 (a few ulps of pos, 2^-21 pos), times the
 * length of the pair it rotates. */
static double kv_check_and_force(struct ref *r, const struct model *m, int pos, float *k, float *v)
{
    double worst = 0;
    const double angle = (pos > 1 ? pos : 1) * 0x1p-21;
    for (int l = 0; l < r->layers; l++) {
        model_kv_at(m, l, pos, k, v);
        double *rk = r->kc + ((size_t)l * r->seq + pos) * r->kv_dim, *rv = r->vc + ((size_t)l * r->seq + pos) * r->kv_dim;
        for (int i = 0; i < r->kv_dim; i++) {
            const int in_head = i % r->head_dim, half = r->head_dim / 2;
            const int partner = r->neox ? i - in_head + (in_head + half) % r->head_dim : i ^ 1;
            const double pair = hypot(rk[i], rk[partner]);
            worst = worse(worst, fabs(k[i] - rk[i]) / (fabs(rk[i]) * 0x1p-10 + 0x1p-24 + pair * angle));
            worst = worse(worst, fabs(v[i] - rv[i]) / (fabs(rv[i]) * 0x1p-10 + 0x1p-24));
        }
        for (int i = 0; i < r->kv_dim; i++)
            rk[i] = k[i], rv[i] = v[i];
    }
    return worst;
}

/* One teacher-forced position: the reference's step from the model's past
 * against the model's cached rows at pos and, if `got` is not NULL, its
 * logits.  Where they differ, the reference is re-run with one, then two,
 * of the step's near-tie roundings taken the other way.  Returns 0 (agree;
 * *rerun says whether a re-run was needed) or -1; err[] gets the first
 * attempt's worst logit difference and cached-row difference. */
static int check_position(struct ref *r, const struct model *m, int token, int pos, const float *got, float *k, float *v,
                          bool *rerun, double err[2])
{
    struct rounding candidates[MAX_AMBIGUOUS];
    int n = 0;
    /* attempt 0: no flips; 1..n: flip candidate a-1; then each pair (i, j) */
    for (int attempt = 0, i = 0, j = 1;; attempt++) {
        struct rounding flips[MAX_FLIPS];
        int n_flips = 0;
        if (attempt > 0 && attempt <= n) {
            flips[n_flips++] = candidates[attempt - 1];
        } else if (attempt > n) {
            if (j >= n && (++i, j = i + 1) >= n)
                return -1;
            flips[n_flips++] = candidates[i];
            flips[n_flips++] = candidates[j++];
        }
        const double *want = ref_step(r, token, pos, flips, n_flips);
        if (attempt == 0) {
            n = r->n_ambiguous;
            memcpy(candidates, r->ambiguous, sizeof candidates);
        }
        const double d_logits = got ? max_diff(got, want, r->vocab) : 0;
        const double d_kv = kv_check_and_force(r, m, pos, k, v);
        if (attempt == 0)
            err[0] = d_logits, err[1] = d_kv;
        if (d_logits <= tight && d_kv <= 1) {
            *rerun = attempt > 0;
            return 0;
        }
    }
}

/* Teacher-forced decode and prefill on `threads` threads. */
static int run(struct ref *ref, const struct weight_file *wf, int threads, int *passed, int *failed)
{
    const struct model_info *mi = model_info();
    struct sched *sched = sched_create(threads, false);
    struct arena arena;
    float *k = malloc(sizeof(float) * ref->kv_dim), *v = malloc(sizeof(float) * ref->kv_dim);
    if (!sched || !k || !v || arena_init(&arena, model_arena_bytes(threads)) != 0) {
        fprintf(stderr, "setup failed\n");
        return -1;
    }
    struct model *m = model_create(wf, &arena, sched);
    if (!m) {
        fprintf(stderr, "model_create failed\n");
        return -1;
    }
    int prompt[STEPS];
    ref_tokens(ref, prompt, STEPS);

    /* decode, token by token */
    ref_reset(ref, REAL);
    int first_bad = -1, reruns = 0;
    double worst[2] = { 0, 0 }, err[2];
    for (int pos = 0; pos < STEPS; pos++) {
        const float *got = model_forward(m, &prompt[pos], 1, pos);
        bool rounding;
        if (check_position(ref, m, prompt[pos], pos, got, k, v, &rounding, err) != 0 && first_bad < 0)
            first_bad = pos;
        reruns += rounding;
        if (!rounding)
            worst[0] = worse(worst[0], err[0]), worst[1] = worse(worst[1], err[1]);
    }
    int ok = first_bad < 0 && reruns <= STEPS / 10;
    printf("%s %d threads: %d teacher-forced steps, logits within %g and cached rows within rounding at every one "
           "(%d agree after a near-tie rounding taken the other way)%s; elsewhere max logit difference %.3g, "
           "cached rows %.3g of rounding\n", ok ? "ok  " : "FAIL", threads, STEPS, tight, reruns,
           first_bad < 0 ? "" : ", but not at step", worst[0], worst[1]);
    if (first_bad >= 0)
        printf("     first disagreement at step %d\n", first_bad);
    count(ok, passed, failed);

    /* prefill in one call (across the prefill chunk), then every position's
     * cached rows and the last logits, teacher-forced; and a prefill that
     * continues a cache, as each chat turn does */
    float *last = malloc(sizeof(float) * mi->vocab_size);
    static const struct { int first, total; const char *what; } prefills[] = {
        { PREFILL, PREFILL, "prefill of %d tokens in one call" },
        { PREFILL / 2, PREFILL + 1, "prefill of %d tokens as two calls, the second continuing the cache" },
    };
    for (size_t p = 0; p < sizeof prefills / sizeof prefills[0]; p++) {
        const int first = prefills[p].first, total = prefills[p].total;
        ref_reset(ref, REAL);
        const float *got = model_forward(m, prompt, first, 0);
        if (total > first)
            got = model_forward(m, prompt + first, total - first, first);
        memcpy(last, got, sizeof(float) * mi->vocab_size);
        first_bad = -1, reruns = 0, worst[0] = worst[1] = 0;
        for (int pos = 0; pos < total; pos++) {
            bool rounding;
            if (check_position(ref, m, prompt[pos], pos, pos == total - 1 ? last : NULL, k, v, &rounding, err) != 0
                && first_bad < 0)
                first_bad = pos;
            reruns += rounding;
            if (!rounding)
                worst[0] = worse(worst[0], err[0]), worst[1] = worse(worst[1], err[1]);
        }
        ok = first_bad < 0 && reruns <= total / 10;
        char what[128];
        snprintf(what, sizeof what, prefills[p].what, total);
        printf("%s %d threads: %s: every cached row within rounding and the last logits within %g (%d positions "
               "after a near-tie rounding taken the other way); elsewhere max logit difference %.3g, cached rows "
               "%.3g of rounding\n", ok ? "ok  " : "FAIL", threads, what, tight, reruns, worst[0], worst[1]);
        if (first_bad >= 0)
            printf("     first disagreement at position %d\n", first_bad);
        count(ok, passed, failed);
    }

    free(last);
    free(k);
    free(v);
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
    /* the reference is naive: a tiny model only */
    const int same_shape = ref.dim == mi->dim && ref.hidden == mi->hidden_dim && ref.layers == mi->n_layers
                           && ref.heads == mi->n_heads && ref.kv_heads == mi->n_kv_heads
                           && ref.vocab == mi->vocab_size && (double)ref.dim * ref.hidden * ref.layers <= 1 << 22;
    printf("%s the file and the generated model (%s, %s head) have one tiny shape\n", same_shape ? "ok  " : "FAIL",
           mi->name, mi->output_type);
    same_shape ? passed++ : failed++;
    if (ref.seq < STEPS || mi->seq_len < STEPS) {
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
