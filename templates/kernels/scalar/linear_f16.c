/* out[n][{{rows}}] = x[n][{{cols}}] . W^T, W f16 [{{rows}} x {{cols}}] (the
 * output head), accumulated in f32, rows split over threads */
struct {{name}}_args { float *out; const uint16_t *w; const float *x; int n; };

static void {{name}}_rows(void *ctx, size_t r0, size_t r1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *w = a->w + r * {{cols}};
        for (int t = 0; t < a->n; t++) {
            const float *x = a->x + (size_t)t * {{cols}};
            float sum = 0.0f;
            for (int c = 0; c < {{cols}}; c++)
                sum += f16_to_f32(w[c]) * x[c];
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
