/* out[n][{{rows}}] = x[n][{{cols}}] . W^T, W f16 [{{rows}} x {{cols}}] (the
 * output head): 8 halves widened per step (F16C), f32 accumulation, rows
 * split over threads */
struct {{name}}_args { float *out; const uint16_t *w; const float *x; int n; };

static void {{name}}_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *w = a->w + r * {{cols}};
        for (int t = 0; t < a->n; t++) {
            const float *x = a->x + (size_t)t * {{cols}};
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            for (int c = 0; c < {{cols - cols % 16}}; c += 16) {
                acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + c))),
                                       _mm256_loadu_ps(x + c), acc0);
                acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + c + 8))),
                                       _mm256_loadu_ps(x + c + 8), acc1);
            }
            acc0 = _mm256_add_ps(acc0, acc1);
            __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
            half = _mm_add_ps(half, _mm_movehl_ps(half, half));
            half = _mm_add_ss(half, _mm_movehdup_ps(half));
            float sum = _mm_cvtss_f32(half);
//@ if cols % 16 ~= 0 then
            for (int c = {{cols - cols % 16}}; c < {{cols}}; c++)
                sum += f16_to_f32(w[c]) * x[c];
//@ end
            a->out[(size_t)t * {{rows}} + r] = sum;
        }
    }
}

void {{name}}(struct sched *s, float *restrict out, const uint16_t *restrict w, const float *restrict x, int n)
{
    struct {{name}}_args a = { out, w, x, n };
    /* one token reads the weights once: one range per thread (sched.h) */
    if (n == 1)
        parallel_for_streaming(s, {{rows}}, {{rows_per_task}}, {{name}}_rows, &a);
    else
        parallel_for(s, {{rows}}, {{rows_per_task}}, {{name}}_rows, &a);
}
