/* Shared body of the generated tests of the low-bit linear kernels
 * (templates/tests/linear_mad.c, linear_lut.c): included by the generated
 * kernel_tests.c after its fill()/check() helpers and the global `sched`.
 *
 * Random integer weights on the weight type's grid with random scales are
 * packed by runtime/pack.c into the kernel's layout; random int8 activations
 * go through the kernel; a plain reference computes the integer dot products
 * from the unpacked weights and applies the scales in the order the kernels
 * promise (per tensor: (float)acc * (w_scale * x_scale); per block:
 * sum = fmaf(d_b, (float)acc_b, sum) over blocks in order, then sum *
 * x_scale).  Every output must match bit for bit. */
#ifndef RYOT_LOWBIT_CHECK_H
#define RYOT_LOWBIT_CHECK_H

#include "error.h"
#include "f16.h"
#include "pack.h"

typedef void (*lowbit_kernel)(struct sched *s, float *restrict out, const uint8_t *restrict w,
                              const int8_t *restrict xq, const float *restrict x_scale, int n);

static int lowbit_rand(int lo, int hi) { return lo + (int)(rng_next() % (uint64_t)(hi - lo + 1)); }

/* A random scale exactly representable in f16, either sign. */
static float lowbit_scale(void)
{
    const float v = f16_to_f32(f32_to_f16(0.01f + 0.99f * fabsf(rng_float())));
    return rng_next() & 1 ? v : -v;
}

/* Weights q on the grid (extreme: only the grid's ends) with scales; each
 * block holds its most negative code so the packer's scale rule recovers d. */
static void lowbit_weights(const struct pack_layout *l, int extreme, int8_t *q, float *d, float *w)
{
    const int64_t blocks = l->sb ? l->cols_pad / l->sb : 1, sb = l->sb ? l->sb : l->cols_pad;
    for (int64_t i = 0; i < l->rows * l->cols; i++)
        q[i] = (int8_t)(extreme ? (rng_next() & 1 ? l->qmin : l->qmax) : lowbit_rand(l->qmin, l->qmax));
    if (l->sb == 0) {
        d[0] = fabsf(lowbit_scale());
        q[0] = -1;  /* the tensor is ternary with magnitude d */
    }
    for (int64_t r = 0; r < l->rows; r++)
        for (int64_t b = 0; b < blocks; b++) {
            if (l->sb)
                d[r * blocks + b] = lowbit_scale();
            if (b * sb < l->cols)
                q[r * l->cols + b * sb + (int64_t)lowbit_rand(0, (int)((l->cols - b * sb < sb ? l->cols - b * sb : sb) - 1))] =
                    (int8_t)l->qmin;
        }
    for (int64_t r = 0; r < l->rows; r++)
        for (int64_t c = 0; c < l->cols; c++)
            w[r * l->cols + c] = (float)q[r * l->cols + c] * d[l->sb ? r * blocks + c / sb : 0];
}

static int lowbit_check_case(const char *name, lowbit_kernel fn, const struct pack_layout *l, int x_stride,
                             int n, int extreme)
{
    const int64_t rows = l->rows, cols = l->cols, blocks = l->sb ? l->cols_pad / l->sb : 1;
    const int64_t sb = l->sb ? l->sb : l->cols_pad;
    int8_t *q = malloc((size_t)(rows * cols)), *xq = calloc((size_t)n * (size_t)x_stride, 1);
    float *d = malloc(sizeof(float) * (size_t)(rows * blocks)), *w = malloc(sizeof(float) * (size_t)(rows * cols));
    float *xs = malloc(sizeof(float) * (size_t)n), *out = malloc(sizeof(float) * (size_t)(n * rows));
    float *ref = malloc(sizeof(float) * (size_t)(n * rows));
    uint8_t *packed = aligned_alloc(64, l->bytes);
    int ok = q && xq && d && w && xs && out && ref && packed;
    if (ok) {
        lowbit_weights(l, extreme, q, d, w);
        fill(xs, (size_t)n);
        for (int t = 0; t < n; t++) {
            xs[t] = 0.001f + fabsf(xs[t]);
            for (int64_t c = 0; c < cols; c++)
                xq[(size_t)t * x_stride + c] = (int8_t)(extreme ? (rng_next() & 1 ? -127 : 127) : lowbit_rand(-127, 127));
        }
        ok = pack_f32(l, w, packed) == 0;
    }
    int64_t bad = 0;
    double worst = 0;
    if (ok) {
        for (size_t i = 0; i < (size_t)(n * rows); i++)
            out[i] = NAN;
        fn(sched, out, packed, xq, xs, n);
        for (int t = 0; t < n; t++)
            for (int64_t r = 0; r < rows; r++) {
                float sum = 0.0f;
                for (int64_t b = 0; b < blocks; b++) {
                    int64_t acc = 0;
                    for (int64_t c = b * sb; c < (b + 1) * sb && c < cols; c++)
                        acc += (int64_t)q[r * cols + c] * xq[(size_t)t * x_stride + c];
                    if (l->sb == 0)
                        sum = (float)acc * (d[0] * xs[t]);
                    else
                        sum = fmaf(d[r * blocks + b], (float)acc, sum);
                }
                ref[(size_t)t * rows + r] = l->sb == 0 ? sum : sum * xs[t];
                bad += !(out[(size_t)t * rows + r] == ref[(size_t)t * rows + r]);
            }
        worst = max_error(out, ref, (size_t)(n * rows));
    }
    char what[96];
    snprintf(what, sizeof what, "%s%d token%s: outputs differing from the reference: %lld", extreme ? "extreme values, " : "",
             n, n > 1 ? "s" : "", (long long)bad);
    ok = check(name, what, ok ? worst : 1e30, 0) && bad == 0;
    free(q); free(xq); free(d); free(w); free(xs); free(out); free(ref); free(packed);
    return ok;
}

/* GEMV (1 token), GEMM passes of a few tokens, and extreme values. */
static int lowbit_check(const char *name, lowbit_kernel fn, const char *layout, int x_stride, int token_tile)
{
    struct pack_layout l;
    if (pack_layout_parse(layout, &l) != 0)
        return check(name, ryot_last_error(), 1, 0);
    const int small = l.rows * l.cols <= (1 << 20);
    const int counts[] = { 1, 2, 7, small ? token_tile + 3 : 13 };
    int ok = 1;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        ok &= lowbit_check_case(name, fn, &l, x_stride, counts[i], 0);
    ok &= lowbit_check_case(name, fn, &l, x_stride, 1, 1);
    ok &= lowbit_check_case(name, fn, &l, x_stride, 9, 1);
    return ok;
}

#endif
