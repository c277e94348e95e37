/* out[n][{{rows}}] = x[n][{{cols}}] . W[{{rows}} x {{cols}}]^T, f32, 16 lanes, rows split over threads */
struct {{name}}_args { float *out; const float *w, *x; int n; };

static void {{name}}_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    for (size_t r = r0; r < r1; r++) {
        const float *w = a->w + r * {{cols}};
        for (int t = 0; t < a->n; t++) {
            const float *x = a->x + (size_t)t * {{cols}};
            __m512 acc = _mm512_setzero_ps();
            for (int c = 0; c < {{cols - cols % 16}}; c += 16)
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + c), _mm512_loadu_ps(x + c), acc);
//@ if cols % 16 ~= 0 then
            const __mmask16 tail = {{(1 << (cols % 16)) - 1}};
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w + {{cols - cols % 16}}),
                                  _mm512_maskz_loadu_ps(tail, x + {{cols - cols % 16}}), acc);
//@ end
            a->out[(size_t)t * {{rows}} + r] = _mm512_reduce_add_ps(acc);
        }
    }
}

void {{name}}(struct sched *s, float *restrict out, const float *restrict w, const float *restrict x, int n)
{
    struct {{name}}_args a = { out, w, x, n };
    /* one token reads the weights once: one range per thread (sched.h) */
    if (n == 1)
        parallel_for_streaming(s, {{rows}}, {{rows_per_task}}, {{name}}_rows, &a);
    else
        parallel_for(s, {{rows}}, {{rows_per_task}}, {{name}}_rows, &a);
}
