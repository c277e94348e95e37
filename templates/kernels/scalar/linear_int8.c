/* out[n][{{rows}}] = x . W^T for the output head: W int8 [{{rows}}][{{stride}}]
 * with a scale per row, x quantized to int8 in blocks of {{block}}
 * (quantize_blocks).  Each block's integer dot product is exact; it is scaled
 * by the block's activation scale, the sum by the row's scale.  Rows split
 * over threads. */
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
    for (size_t r = r0; r < r1; r++) {
        const int8_t *w = a->w + r * {{stride}};
        for (int t = 0; t < a->n; t++) {
            const int8_t *xq = a->xq + (size_t)t * {{stride}};
            const float *xs = a->x_scale + (size_t)t * {{stride // block}};
            float sum = 0.0f;
            for (int b = 0; b < {{stride // block}}; b++) {
                int32_t dot = 0;
                for (int i = b * {{block}}; i < (b + 1) * {{block}}; i++)
                    dot += w[i] * xq[i];
                sum += (float)dot * xs[b];
            }
            a->out[(size_t)t * {{rows}} + r] = sum * a->row_scale[r];
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
