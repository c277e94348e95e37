/* out[n][{{rows}}] = x . W^T for the output head: W int8 [{{rows}}][{{stride}}]
 * with a scale per row, x quantized to int8 in blocks of {{block}} (one
 * vector; quantize_blocks).  u8 x s8 products need an unsigned operand, so
 * each block multiplies |x| by w with x's sign moved onto w (codes are in
 * [-127, 127], so negation never overflows).  Block dot products are exact
 * integers, scaled by the block's activation scale in f32.  Rows split over
 * threads; the activation vectors are prepared once per task.  Each row
 * prefetches the row {{prefetch_rows}} ahead (0: off): the head is the largest matrix a
 * token reads, and the hardware prefetcher alone leaves bandwidth unused. */
//@ assert(block == 64, "the avx512 int8 head reads one 64-byte vector per activation block")
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
    const __m512i zero = _mm512_setzero_si512();
//@ if not vnni then
    const __m512i ones = _mm512_set1_epi16(1);
//@ end
    for (int t = 0; t < a->n; t++) {
        const int8_t *xq = a->xq + (size_t)t * {{stride}};
        const float *xs = a->x_scale + (size_t)t * {{stride // block}};
        __m512i x_abs[{{stride // block}}];
        __mmask64 x_neg[{{stride // block}}];
        for (int b = 0; b < {{stride // block}}; b++) {
            const __m512i v = _mm512_loadu_si512(xq + b * 64);
            x_abs[b] = _mm512_abs_epi8(v);
            x_neg[b] = _mm512_movepi8_mask(v);
        }
        for (size_t r = r0; r < r1; r++) {
            const int8_t *w = a->w + r * {{stride}};
            __m512 acc = _mm512_setzero_ps();
            for (int b = 0; b < {{stride // block}}; b++) {
//@ if prefetch_rows > 0 then
                _mm_prefetch((const char *)(w + {{prefetch_rows * stride}} + b * 64), _MM_HINT_T0);
//@ end
                __m512i wv = _mm512_loadu_si512(w + b * 64);
                wv = _mm512_mask_sub_epi8(wv, x_neg[b], zero, wv);
//@ if vnni then
                const __m512i dot = _mm512_dpbusd_epi32(zero, x_abs[b], wv);
//@ else
                /* pairs of products stay below 2 * 127 * 127 < 32768: no saturation */
                const __m512i dot = _mm512_madd_epi16(_mm512_maddubs_epi16(x_abs[b], wv), ones);
//@ end
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_set1_ps(xs[b]), acc);
            }
            a->out[(size_t)t * {{rows}} + r] = _mm512_reduce_add_ps(acc) * a->row_scale[r];
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
