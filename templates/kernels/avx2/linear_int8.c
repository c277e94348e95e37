/* out[n][{{rows}}] = x . W^T for the output head: W int8 [{{rows}}][{{stride}}]
 * with a scale per row, x quantized to int8 in blocks of {{block}}
 * (quantize_blocks).  maddubs multiplies unsigned by signed bytes, so |x|
 * meets w with x's sign moved onto it (sign_epi8); codes are in [-127, 127],
 * so pairs of products stay below 32768.  Block dot products are exact
 * integers, scaled by the block's activation scale in f32.  Rows split over
 * threads; each prefetches the row {{prefetch_rows}} ahead (0: off). */
struct {{name}}_args {
    float *out;
    const int8_t *w, *xq;
    const float *row_scale, *x_scale;
    int n;
};

static void {{name}}_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t r = r0; r < r1; r++) {
        const int8_t *w = a->w + r * {{stride}};
        for (int t = 0; t < a->n; t++) {
            const int8_t *xq = a->xq + (size_t)t * {{stride}};
            const float *xs = a->x_scale + (size_t)t * {{stride // block}};
            __m256 acc = _mm256_setzero_ps();
            for (int b = 0; b < {{stride // block}}; b++) {
                __m256i dot = _mm256_setzero_si256();
                for (int i = b * {{block}}; i < (b + 1) * {{block}}; i += 32) {
                    const __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + i));
//@ if prefetch_rows > 0 then
                    if (t == 0)
                        _mm_prefetch((const char *)(w + {{prefetch_rows * stride}} + i), _MM_HINT_T0);
//@ end
                    const __m256i wv = _mm256_loadu_si256((const __m256i *)(w + i));
                    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(xv), _mm256_sign_epi8(wv, xv));
                    dot = _mm256_add_epi32(dot, _mm256_madd_epi16(p, ones));
                }
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(xs[b]), acc);
            }
            __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            half = _mm_add_ps(half, _mm_movehl_ps(half, half));
            half = _mm_add_ss(half, _mm_movehdup_ps(half));
            a->out[(size_t)t * {{rows}} + r] = _mm_cvtss_f32(half) * a->row_scale[r];
        }
    }
}

void {{name}}(struct sched *s, float *restrict out, const int8_t *restrict w, const float *restrict row_scale,
              const int8_t *restrict xq, const float *restrict x_scale, int n)
{
    struct {{name}}_args a = { out, w, xq, row_scale, x_scale, n };
    /* one token reads the weights once: one range per thread (sched.h) */
    if (n == 1)
        parallel_for_streaming(s, {{rows}}, {{rows_per_task}}, {{name}}_rows, &a);
    else
        parallel_for(s, {{rows}}, {{rows_per_task}}, {{name}}_rows, &a);
}
