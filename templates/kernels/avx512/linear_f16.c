/* out[n][{{rows}}] = x[n][{{cols}}] . W^T, W f16 [{{rows}} x {{cols}}] (the
 * output head): 16 halves widened per step, f32 accumulation, rows split
 * over threads */
struct {{name}}_args { float *out; const uint16_t *w; const float *x; int n; };

static void {{name}}_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *w = a->w + r * {{cols}};
        for (int t = 0; t < a->n; t++) {
            const float *x = a->x + (size_t)t * {{cols}};
            __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
            int c = 0;
            for (; c + 32 <= {{cols}}; c += 32) {
                acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + c))),
                                       _mm512_loadu_ps(x + c), acc0);
                acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + c + 16))),
                                       _mm512_loadu_ps(x + c + 16), acc1);
            }
//@ if cols % 32 >= 16 then
            acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + c))),
                                   _mm512_loadu_ps(x + c), acc0);
            c += 16;
//@ end
//@ if cols % 16 ~= 0 then
            const __mmask16 tail = {{(1 << (cols % 16)) - 1}};
            acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w + c)),
                                   _mm512_maskz_loadu_ps(tail, x + c), acc1);
//@ end
            a->out[(size_t)t * {{rows}} + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
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
