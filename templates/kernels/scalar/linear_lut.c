//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local n_groups = cols_pad // g
/* out[n][{{rows}}] = x . W^T with W {{wtype}} as {{bits}} bit-planes of
 * u = w + {{offset}} (layout "{{layout}}", gen/lowbit.lua), x int8 per token,
 * by table lookup (T-MAC): per token and group of {{g}} activations a table of
 * the 16 subset sums (int16, exact); each nibble of a plane indexes it, and
 * plane p counts 2^p.  Plain C.  Rows split over threads in groups of
 * {{rg}}; tokens in passes of {{token_tile}}. */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    const int8_t *xq;
    const float *x_scale;
    int n;
    int32_t x_sum[{{token_tile}}][{{blocks}}];      /* sum of x per token and scale block */
    int16_t table[{{token_tile}}][{{n_groups}}][16];  /* subset sums per token and group */
};

static void {{name}}_rows(void *ctx, size_t g0, size_t g1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
//@ if per_tensor then
    float w_scale;
    memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
//@ end
    for (size_t g = g0; g < g1; g++)
        for (int r = 0; r < {{rg}} && g * {{rg}} + r < {{rows}}; r++) {
            const size_t row = g * {{rg}} + r;
            for (int t = 0; t < a->n; t++) {
                float sum = 0.0f;
                for (int b = 0; b < {{blocks}}; b++) {
                    int32_t acc = 0;
                    for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
                        const int16_t (*lut)[16] = a->table[t] + s * {{2 * q}};
                        for (int p = 0; p < {{bits}}; p++) {
                            const uint8_t *plane = a->w + (g * {{slabs}} + s) * {{slab_bytes}} + p * {{rg * q}};
                            int32_t part = 0;
                            for (int i = 0; i < {{q}}; i++) {
//@ if order == "rq" then
                                const unsigned byte = plane[r * {{q}} + i];
//@ else
                                const unsigned byte = plane[i * {{rg}} + r];
//@ end
                                part += lut[i][byte & 15] + lut[{{q}} + i][byte >> 4];
                            }
                            acc += part * (1 << p);
                        }
                    }
                    acc -= {{offset}} * a->x_sum[t][b];
//@ if per_tensor then
                    sum = (float)acc * (w_scale * a->x_scale[t]);
//@ else
                    uint16_t d;
                    memcpy(&d, a->w + {{scale_offset}} + ((g * {{blocks}} + b) * {{rg}} + r) * 2, 2);
                    sum = fmaf(f16_to_f32(d), (float)acc, sum);
//@ end
                }
//@ if per_tensor then
                a->out[(size_t)t * {{rows}} + row] = sum;
//@ else
                a->out[(size_t)t * {{rows}} + row] = sum * a->x_scale[t];
//@ end
            }
        }
}

void {{name}}(struct sched *s, float *restrict out, const uint8_t *restrict w, const int8_t *restrict xq,
              const float *restrict x_scale, int n)
{
    struct {{name}}_args a = { .w = w };
    for (int t0 = 0; t0 < n; t0 += {{token_tile}}) {
        a.out = out + (size_t)t0 * {{rows}};
        a.xq = xq + (size_t)t0 * {{x_stride}};
        a.x_scale = x_scale + t0;
        a.n = n - t0 < {{token_tile}} ? n - t0 : {{token_tile}};
        for (int t = 0; t < a.n; t++) {
            const int8_t *x = a.xq + (size_t)t * {{x_stride}};
            for (int b = 0; b < {{blocks}}; b++) {
                int32_t sum = 0;
                for (int c = b * {{cols_pad // blocks}}; c < (b + 1) * {{cols_pad // blocks}}; c++)
                    sum += x[c];
                a.x_sum[t][b] = sum;
            }
            for (int grp = 0; grp < {{n_groups}}; grp++)
                for (int i = 0; i < 16; i++)
                    a.table[t][grp][i] = (int16_t)((i & 1 ? x[4 * grp] : 0) + (i & 2 ? x[4 * grp + 1] : 0) +
                                                   (i & 4 ? x[4 * grp + 2] : 0) + (i & 8 ? x[4 * grp + 3] : 0));
        }
        parallel_for(s, {{groups}}, {{math.max(1, rows_per_task // rg)}}, {{name}}_rows, &a);
    }
}
