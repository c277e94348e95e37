/* Shared body of the generated tests of the low-bit linear kernels
 * (templates/tests/linear_mad.c, linear_lut.c): included by the generated
 * kernel_tests.c after its fill()/check() helpers, `scheds` and the
 * periodic rows of tall matrices (test_period, repeat_rows).
 *
 * Random integer weights on the weight type's grid with random scales are
 * packed by runtime/pack.c into the kernel's layout; random int8 activations
 * go through the kernel; a plain reference computes the integer dot products
 * from the unpacked weights and applies the scales in the order the kernels
 * promise (per tensor: (float)acc * (w_scale * x_scale); per block:
 * sum = fmaf(d_b, (float)acc_b, sum) over blocks in order, then sum *
 * x_scale).  Every output must match bit for bit.  int6 weights come with
 * random int8 sub-scales sc and are laid out as stored (pack_int6, the way
 * Q6_K blocks are copied); acc_b is then the sum over the super-block's
 * sub-blocks of sc * sum(q*x).
 *
 * A lut kernel with int8 tables computes a different integer, the sum of
 * quantized subset sums (gen/lowbit.lua): its reference builds those
 * tables itself, from the unpacked weights and by integer division, and
 * the same bit-for-bit match applies with x_scale * (m / 127) for x_scale.
 * Its outputs must also stay within the rounding bound of the exact
 * result: per output the worst case, and over a case's outputs a
 * root-mean-square bound, which a wrong table scale would break. */
#ifndef RYOT_LOWBIT_CHECK_H
#define RYOT_LOWBIT_CHECK_H

#include "compare.h"
#include "error.h"
#include "f16.h"
#include "pack.h"

typedef void (*lowbit_kernel)(struct sched *s, float *restrict out, const uint8_t *restrict w,
                              const int8_t *restrict xq, const float *restrict x_scale, int n);

/* uniform in [lo, hi] (multiply-shift: no division per value) */
static int lowbit_rand(int lo, int hi) { return lo + (int)(((rng_next() >> 32) * (uint64_t)(hi - lo + 1)) >> 32); }

/* A random scale exactly representable in f16, either sign. */
static float lowbit_scale(void)
{
    const float v = f16_to_f32(f32_to_f16(0.01f + 0.99f * fabsf(rng_float())));
    return rng_next() & 1 ? v : -v;
}

/* Test values: random on the grid, only the grid's ends (random signs), or
 * saturating: every activation 127 and every weight the grid's top (int6:
 * its bottom, -32, times sub-scales -128), the largest sums any kernel's
 * narrow intermediate sums must hold.  int6 sub-scales are random in
 * [-128, 127], or its ends for the extreme values. */
enum lowbit_values { LOWBIT_RANDOM, LOWBIT_EXTREME, LOWBIT_SATURATING };
static const char *const lowbit_values_label[] = { "", "extreme values, ", "saturating values, " };

/* Weights q as `values` says, with scales d (and int6 sub-scales sc,
 * [rows][cols_pad / 16]); w their values.  Each block holds its most
 * negative code so the packer's scale rule recovers d (int6 is laid out as
 * given instead).  Rows from test_period(rows) on repeat the first ones. */
static void lowbit_weights(const struct pack_layout *l, enum lowbit_values values, int8_t *q, int8_t *sc, float *d,
                           float *w)
{
    const int64_t blocks = l->sb ? l->cols_pad / l->sb : 1, sb = l->sb ? l->sb : l->cols_pad;
    const int64_t rows = (int64_t)test_period((size_t)l->rows), subs = l->sub ? l->cols_pad / l->sub : 0;
    for (int64_t i = 0; i < rows * l->cols; i++)
        q[i] = (int8_t)(values == LOWBIT_SATURATING ? (l->sub ? l->qmin : l->qmax)
                        : values == LOWBIT_EXTREME  ? (rng_next() & 1 ? l->qmin : l->qmax)
                                                    : lowbit_rand(l->qmin, l->qmax));
    if (l->sb == 0) {
        d[0] = fabsf(lowbit_scale());
        q[0] = -1;  /* the tensor is ternary with magnitude d */
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < blocks; b++) {
            if (l->sb)
                d[r * blocks + b] = lowbit_scale();
            if (b * sb < l->cols)
                q[r * l->cols + b * sb + (int64_t)lowbit_rand(0, (int)((l->cols - b * sb < sb ? l->cols - b * sb : sb) - 1))] =
                    (int8_t)l->qmin;
        }
    for (int64_t i = 0; i < rows * subs; i++)
        sc[i] = (int8_t)(values == LOWBIT_SATURATING ? -128
                         : values == LOWBIT_EXTREME  ? (rng_next() & 1 ? -128 : 127)
                                                     : lowbit_rand(-128, 127));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < l->cols; c++) {
            const int64_t b = l->sb ? r * blocks + c / sb : 0;
            /* int6: as dequant_q6_k forms them, d * sc * q */
            w[r * l->cols + c] = l->sub ? d[b] * (float)sc[r * subs + c / l->sub] * (float)q[r * l->cols + c]
                                        : (float)q[r * l->cols + c] * d[b];
        }
    repeat_rows(q, (size_t)l->rows, (size_t)rows, (size_t)l->cols);
    repeat_rows(w, (size_t)l->rows, (size_t)rows, sizeof(float) * (size_t)l->cols);
    if (l->sb)
        repeat_rows(d, (size_t)l->rows, (size_t)rows, sizeof(float) * (size_t)blocks);
    if (l->sub)
        repeat_rows(sc, (size_t)l->rows, (size_t)rows, (size_t)subs);
}

/* Weights as lowbit_weights made them, packed into l's layout at dst: int6
 * laid out as given, the others through the packer's quantizer. */
static int lowbit_pack(const struct pack_layout *l, const int8_t *q, const int8_t *sc, const float *d, const float *w,
                       uint8_t *dst)
{
    if (!l->sub)
        return pack_f32(l, w, dst);
    const int64_t n = l->rows * l->cols, nd = l->rows * (l->cols_pad / l->sb);
    uint8_t *u = malloc((size_t)n);
    uint16_t *d16 = malloc(sizeof(uint16_t) * (size_t)nd);
    int rc = -1;
    if (u && d16) {
        for (int64_t i = 0; i < n; i++)
            u[i] = (uint8_t)(q[i] + l->offset);
        for (int64_t i = 0; i < nd; i++)
            d16[i] = f32_to_f16(d[i]);
        rc = pack_int6(l, u, sc, d16, dst);
    }
    free(u);
    free(d16);
    return rc;
}

/* Quantized lut tables of one token (gen/lowbit.lua, table=i8): *m the
 * largest |subset sum| of a group of g activations, tab[group << g | idx]
 * the subset sum of the group's activations selected by idx's bits times
 * 127 / m, rounded half away from zero. */
static void lowbit_i8_tables(const struct pack_layout *l, const int8_t *x, int *m, int8_t *tab)
{
    const int g = l->g, groups = (int)(l->cols_pad / g);
    *m = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int grp = 0; grp < groups; grp++)
            for (int idx = 0; idx < 1 << g; idx++) {
                int s = 0;
                for (int k = 0; k < g; k++)
                    s += idx >> k & 1 ? x[grp * g + k] : 0;
                const int mag = s < 0 ? -s : s;
                if (pass == 0) {
                    *m = mag > *m ? mag : *m;
                } else {
                    const int q = *m ? (254 * mag + *m) / (2 * *m) : 0;
                    tab[grp << g | idx] = (int8_t)(s < 0 ? -q : q);
                }
            }
}

/* Per row and group of g columns of weights q, per plane p of the codes
 * u = w + offset (padding counted as w = 0): the table index the group's
 * bits select, idx[(row * groups + group) * bits + p]. */
static void lowbit_i8_indices(const struct pack_layout *l, const int8_t *q, uint8_t *idx)
{
    const int g = l->g;
    const int64_t groups = l->cols_pad / g;
    for (int64_t r = 0; r < l->rows; r++)
        for (int64_t grp = 0; grp < groups; grp++)
            for (int p = 0; p < l->bits; p++) {
                int i = 0;
                for (int k = 0; k < g; k++) {
                    const int64_t c = grp * g + k;
                    const int u = (c < l->cols ? q[r * l->cols + c] : 0) + l->offset;
                    i |= (u >> p & 1) << k;
                }
                idx[(r * groups + grp) * l->bits + p] = (uint8_t)i;
            }
}

/* The integer an int8-table lut kernel computes for groups grp0 .. grp1 of
 * one row (its indices idx): each group adds 2^p times the entry plane p
 * selects, less offset times its all-ones entry. */
static int64_t lowbit_i8_dot(const struct pack_layout *l, const uint8_t *idx, const int8_t *tab, int64_t grp0, int64_t grp1)
{
    const int g = l->g;
    int64_t acc = 0;
    for (int64_t grp = grp0; grp < grp1; grp++) {
        const int8_t *entry = tab + (grp << g);
        for (int p = 0; p < l->bits; p++)
            acc += entry[idx[grp * l->bits + p]] * ((int64_t)1 << p);
        acc -= (int64_t)l->offset * entry[(1 << g) - 1];
    }
    return acc;
}

/* One packed matrix of `values` run with each token count of ns[] (on
 * each scheduler), every output against the reference. */
static int lowbit_check_case(const char *name, lowbit_kernel fn, const struct pack_layout *l, int x_stride,
                             const int *ns, int n_counts, enum lowbit_values values)
{
    const int64_t rows = l->rows, cols = l->cols, blocks = l->sb ? l->cols_pad / l->sb : 1;
    const int64_t sb = l->sb ? l->sb : l->cols_pad, period = (int64_t)test_period((size_t)rows);
    const int i8 = l->family == PACK_LUT && l->table == PACK_TABLE_I8;
    int max_n = 1;
    for (int k = 0; k < n_counts; k++)
        max_n = ns[k] > max_n ? ns[k] : max_n;
    int8_t *q = malloc((size_t)(rows * cols)), *xq = calloc((size_t)max_n * (size_t)x_stride, 1);
    int8_t *sc = l->sub ? malloc((size_t)(rows * (l->cols_pad / l->sub))) : NULL;
    float *d = malloc(sizeof(float) * (size_t)(rows * blocks)), *w = malloc(sizeof(float) * (size_t)(rows * cols));
    float *xs = malloc(sizeof(float) * (size_t)max_n), *out = malloc(sizeof(float) * (size_t)(max_n * rows));
    float *ref = malloc(sizeof(float) * (size_t)(max_n * rows));
    int8_t *tab = i8 ? malloc((size_t)(l->cols_pad / l->g) << l->g) : NULL;
    uint8_t *idx = i8 ? malloc((size_t)(rows * (l->cols_pad / l->g) * l->bits)) : NULL;
    float *exact_out = i8 ? malloc(sizeof(float) * (size_t)(max_n * period)) : NULL;
    double *bounds = i8 ? malloc(sizeof(double) * 3 * (size_t)(max_n * period)) : NULL;
    uint8_t *packed = aligned_alloc(64, l->bytes);
    int ok = q && xq && d && w && xs && out && ref && packed && (!i8 || (tab && idx && exact_out && bounds))
             && (!l->sub || sc);
    if (ok) {
        lowbit_weights(l, values, q, sc, d, w);
        ok = lowbit_pack(l, q, sc, d, w, packed) == 0;
        if (i8)
            lowbit_i8_indices(l, q, idx);
    }
    if (!ok)
        check(name, "out of memory or packing failed", 1, 0);
    for (int k = 0; ok && k < n_counts; k++) {
        const int n = ns[k];
        fill(xs, (size_t)n);
        for (int t = 0; t < n; t++) {
            xs[t] = 0.001f + fabsf(xs[t]);
            for (int64_t c = 0; c < cols; c++)
                xq[(size_t)t * x_stride + c] = (int8_t)(values == LOWBIT_SATURATING ? 127
                                                        : values == LOWBIT_EXTREME  ? (rng_next() & 1 ? -127 : 127)
                                                                                    : lowbit_rand(-127, 127));
        }
        /* the reference for the first `period` rows (the rest repeat them) */
        for (int t = 0; t < n; t++) {
            const int8_t *x = xq + (size_t)t * x_stride;
            int m = 0;
            if (i8)
                lowbit_i8_tables(l, x, &m, tab);
            const float t_scale = i8 ? xs[t] * ((float)m / 127.0f) : xs[t];
            /* a group's table rounding, in output units before the weight
             * scale: each looked-up entry is off by at most 1/2, and a group
             * looks up 2^p-weighted entries and offset x its all-ones one */
            const double group_err = 0.5 * ((1 << l->bits) - 1 + l->offset) * m / 127.0 * xs[t];
            for (int64_t r = 0; r < period; r++) {
                float sum = 0.0f, exact = 0.0f;
                double bound = 0, sigma2 = 0, mag = 0;
                for (int64_t b = 0; b < blocks; b++) {
                    /* |q x| <= 1024 per column: int32 holds 2^21 columns; int6:
                     * |sc q x| <= 2^19 per column, 2^27 per super-block */
                    int32_t acc = 0;
                    const int64_t sub = l->sub ? l->sub : sb;  /* columns per (sub-)scale */
                    for (int64_t c0 = b * sb; c0 < (b + 1) * sb && c0 < cols; c0 += sub) {
                        int32_t part = 0;
                        for (int64_t c = c0; c < c0 + sub && c < cols; c++)
                            part += q[r * cols + c] * x[c];
                        acc += (l->sub ? sc[r * (l->cols_pad / l->sub) + c0 / l->sub] : 1) * part;
                    }
                    const int64_t acc_kernel =
                        i8 ? lowbit_i8_dot(l, idx + r * (l->cols_pad / l->g) * l->bits, tab, b * sb / l->g, (b + 1) * sb / l->g)
                           : acc;
                    const float db = d[l->sb ? r * blocks + b : 0];
                    if (l->sb == 0) {
                        sum = (float)acc_kernel * (db * t_scale);
                        exact = (float)acc * (db * xs[t]);
                    } else {
                        sum = fmaf(db, (float)acc_kernel, sum);
                        exact = fmaf(db, (float)acc, exact);
                    }
                    const int64_t real = cols - b * sb < sb ? cols - b * sb : sb;  /* columns of the block */
                    const double groups = i8 && real > 0 ? (double)((real + l->g - 1) / l->g) : 0;
                    bound += fabs(db) * groups * group_err;
                    sigma2 += (double)db * db * groups * group_err * group_err;
                    mag += fabs((double)db * (double)acc) * xs[t];
                }
                ref[(size_t)t * rows + r] = l->sb == 0 ? sum : sum * t_scale;
                if (i8) {
                    /* float rounding of both results on top of the table's */
                    const size_t at = (size_t)(t * period + r);
                    exact_out[at] = l->sb ? exact * xs[t] : exact;
                    bounds[3 * at] = bound, bounds[3 * at + 1] = sigma2, bounds[3 * at + 2] = mag;
                }
            }
            for (int64_t r = period; r < rows; r++)
                ref[(size_t)t * rows + r] = ref[(size_t)t * rows + r % period];
        }
        for (int s = 0; ok && s < N_SCHEDS; s++) {
            for (size_t i = 0; i < (size_t)(n * rows); i++)
                out[i] = NAN;
            fn(scheds[s], out, packed, xq, xs, n);
            int64_t bad = 0;
            for (size_t i = 0; i < (size_t)(n * rows); i++)
                bad += !(out[i] == ref[i]);
            char what[160];
            snprintf(what, sizeof what, "%d thread%s, %s%d token%s: outputs differing from the reference: %lld", s + 1,
                     s ? "s" : "", lowbit_values_label[values], n, n > 1 ? "s" : "", (long long)bad);
            ok = check(name, what, max_error(out, ref, (size_t)(n * rows)), 0) && bad == 0;
            if (i8 && ok) {
                /* Groups' rounding errors are uncorrelated and zero-mean (negating
                 * one group's activations negates its error and keeps m), so the
                 * expected square error of an output is at most the sum of its
                 * groups' squared bounds: checked as a mean over enough outputs,
                 * and the worst case on every output (of the first period). */
                double worst_bound = 0, err2 = 0, var = 0, exact2 = 0;
                for (int t = 0; t < n; t++)
                    for (int64_t r = 0; r < period; r++) {
                        const size_t at = (size_t)(t * period + r);
                        const double bound = bounds[3 * at], mag = bounds[3 * at + 2];
                        const double err = fabs((double)out[(size_t)t * rows + r] - exact_out[at]);
                        worst_bound = worse(worst_bound, err / (bound + 1e-5 * (mag + bound) + 1e-30));
                        err2 += err * err;
                        var += bounds[3 * at + 1];
                        exact2 += (double)exact_out[at] * exact_out[at];
                    }
                const double rms = n * period >= 64 && var > 0 ? sqrt(err2 / var) : 0;
                snprintf(what, sizeof what, "%d thread%s, %s%d token%s: error vs exact / bound: worst %.2f, rms %.2f "
                         "(%.2g of rms output)", s + 1, s ? "s" : "", lowbit_values_label[values], n, n > 1 ? "s" : "",
                         worst_bound, rms, exact2 > 0 ? sqrt(err2 / exact2) : 0);
                ok = check(name, what, worse(worst_bound, rms), 1);
            }
        }
    }
    free(q); free(sc); free(xq); free(d); free(w); free(xs); free(out); free(ref); free(tab); free(idx); free(packed);
    free(exact_out); free(bounds);
    return ok;
}

typedef void (*lowbit_pair_kernel)(struct sched *s, float *restrict out_a, const uint8_t *restrict w_a,
                                   float *restrict out_b, const uint8_t *restrict w_b, const int8_t *restrict xq,
                                   const float *restrict x_scale, int n);

/* fn's _pair on two matrices (one parallel loop when decoding) gives bit for
 * bit what fn gives on each, for 1 token and a few.  (inline: a model whose
 * low-bit layers are all LUT kernels has no pairs to check.) */
static inline int lowbit_check_pair(const char *name, lowbit_kernel fn, lowbit_pair_kernel pair, const char *layout,
                                    int x_stride)
{
    struct pack_layout l;
    if (pack_layout_parse(layout, &l) != 0)
        return check(name, ryot_last_error(), 1, 0);
    enum { TOKENS = 3 };
    const int64_t rows = l.rows, cols = l.cols, blocks = l.sb ? l.cols_pad / l.sb : 1;
    int8_t *q = malloc((size_t)(rows * cols)), *xq = calloc((size_t)TOKENS * (size_t)x_stride, 1);
    int8_t *sc = l.sub ? malloc((size_t)(rows * (l.cols_pad / l.sub))) : NULL;
    float *d = malloc(sizeof(float) * (size_t)(rows * blocks)), *w = malloc(sizeof(float) * (size_t)(rows * cols));
    float *xs = malloc(sizeof(float) * TOKENS), *out = malloc(sizeof(float) * (size_t)(4 * TOKENS * rows));
    uint8_t *packed[2] = { aligned_alloc(64, l.bytes), aligned_alloc(64, l.bytes) };
    int ok = q && xq && d && w && xs && out && packed[0] && packed[1] && (!l.sub || sc);
    for (int m = 0; ok && m < 2; m++) {
        lowbit_weights(&l, LOWBIT_RANDOM, q, sc, d, w);
        ok = lowbit_pack(&l, q, sc, d, w, packed[m]) == 0;
    }
    int64_t bad = 0;
    if (ok) {
        fill(xs, TOKENS);
        for (int t = 0; t < TOKENS; t++) {
            xs[t] = 0.001f + fabsf(xs[t]);
            for (int64_t c = 0; c < cols; c++)
                xq[(size_t)t * x_stride + c] = (int8_t)lowbit_rand(-127, 127);
        }
        float *a = out, *b = out + TOKENS * rows, *ref_a = b + TOKENS * rows, *ref_b = ref_a + TOKENS * rows;
        for (int s = 0; s < N_SCHEDS; s++)
            for (int n = 1; n <= TOKENS; n += TOKENS - 1) {
                pair(scheds[s], a, packed[0], b, packed[1], xq, xs, n);
                fn(scheds[s], ref_a, packed[0], xq, xs, n);
                fn(scheds[s], ref_b, packed[1], xq, xs, n);
                for (int64_t i = 0; i < n * rows; i++)
                    bad += !(a[i] == ref_a[i]) + !(b[i] == ref_b[i]);
            }
    }
    free(q); free(xq); free(sc); free(d); free(w); free(xs); free(out); free(packed[0]); free(packed[1]);
    return check(name, ok ? "_pair of two matrices, 1 and 2 threads, 1 and 3 tokens: outputs differing from single calls"
                          : "_pair: out of memory or packing failed", ok ? (double)bad : 1, 0);
}

/* GEMV (1 token), GEMM passes of a few tokens, extreme values, and
 * saturating values in a tile of up to 8 tokens and a single one. */
static int lowbit_check(const char *name, lowbit_kernel fn, const char *layout, int x_stride, int token_tile)
{
    struct pack_layout l;
    if (pack_layout_parse(layout, &l) != 0)
        return check(name, ryot_last_error(), 1, 0);
    const int small = l.rows * l.cols <= (1 << 20);
    /* An output head takes seconds per matrix: random values only (the
     * extreme cases run on the same template at smaller shapes). */
    const int head[] = { 1, 7 }, random[] = { 1, 2, 7, small ? token_tile + 3 : 13 }, extreme[] = { 1, 9 };
    const int saturating[] = { (token_tile < 8 ? token_tile : 8) + 1 };
    if (l.rows * l.cols > (1 << 26))
        return lowbit_check_case(name, fn, &l, x_stride, head, 2, LOWBIT_RANDOM);
    return lowbit_check_case(name, fn, &l, x_stride, random, 4, LOWBIT_RANDOM)
           & lowbit_check_case(name, fn, &l, x_stride, extreme, 2, LOWBIT_EXTREME)
           & lowbit_check_case(name, fn, &l, x_stride, saturating, 1, LOWBIT_SATURATING);
}

#endif
