//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local n_groups = cols_pad // g
//@ local entries = 1 << g
//@ local entry_t = table == "i8" and "int8_t" or "int16_t"
/* out[n][{{rows}}] = x . W^T with W {{wtype}} as {{bits}} bit-planes of
 * u = w + {{offset}} (layout "{{layout}}", gen/lowbit.lua), x int8 per token,
 * by table lookup (T-MAC): per token and group of {{g}} activations a table of
 * the {{entries}} subset sums ({{table == "i8" and "int8, scaled per token" or "int16, exact"}}); each {{g}}-bit field of a
 * plane indexes it, and plane p counts 2^p.  Plain C.  Rows split over
 * threads in groups of {{rg}}; tokens in passes of {{token_tile}}. */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    int n;
    float t_scale[{{token_tile}}];                  /* x_scale times the table's scale */
    int32_t x_sum[{{token_tile}}][{{blocks}}];      /* sum of the all-ones entries per token and scale block */
    {{entry_t}} table[{{token_tile}}][{{n_groups}}][{{entries}}];  /* subset sums per token and group */
};
//@ if table == "i8" then

/* The largest |subset sum| of a group of {{g}} activations of x: the larger
 * of its positive and negative parts. */
static int {{name}}_table_max(const int8_t *x)
{
    int m = 0;
    for (int grp = 0; grp < {{n_groups}}; grp++) {
        int pos = 0, neg = 0;
        for (int k = 0; k < {{g}}; k++) {
            pos += x[{{g}} * grp + k] > 0 ? x[{{g}} * grp + k] : 0;
            neg -= x[{{g}} * grp + k] < 0 ? x[{{g}} * grp + k] : 0;
        }
        m = pos > m ? pos : m;
        m = neg > m ? neg : m;
    }
    return m;
}

/* s * 127 / m rounded half away from zero (m > 0) */
static int8_t {{name}}_quantize(int s, int m)
{
    const int q = (254 * (s < 0 ? -s : s) + m) / (2 * m);
    return (int8_t)(s < 0 ? -q : q);
}
//@ end

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
                        const {{entry_t}} (*lut)[{{entries}}] = a->table[t] + s * {{8 * q // g}};
                        for (int p = 0; p < {{bits}}; p++) {
                            const uint8_t *plane = a->w + (g * {{slabs}} + s) * {{slab_bytes}} + p * {{rg * q}};
                            int32_t part = 0;
                            for (int i = 0; i < {{q}}; i++) {
//@ if order == "rq" then
                                const unsigned byte = plane[r * {{q}} + i];
//@ else
                                const unsigned byte = plane[i * {{rg}} + r];
//@ end
                                /* field k: group k * {{q}} + i */
                                for (int k = 0; k < {{8 // g}}; k++)
                                    part += lut[k * {{q}} + i][(byte >> (k * {{g}})) & {{entries - 1}}];
                            }
                            acc += part * (1 << p);
                        }
                    }
                    acc -= {{offset}} * a->x_sum[t][b];
//@ if per_tensor then
                    sum = (float)acc * (w_scale * a->t_scale[t]);
//@ else
                    uint16_t d;
                    memcpy(&d, a->w + {{scale_offset}} + ((g * {{blocks}} + b) * {{rg}} + r) * 2, 2);
                    sum = fmaf(f16_to_f32(d), (float)acc, sum);
//@ end
                }
//@ if per_tensor then
                a->out[(size_t)t * {{rows}} + row] = sum;
//@ else
                a->out[(size_t)t * {{rows}} + row] = sum * a->t_scale[t];
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
        a.n = n - t0 < {{token_tile}} ? n - t0 : {{token_tile}};
        for (int t = 0; t < a.n; t++) {
            const int8_t *x = xq + (size_t)(t0 + t) * {{x_stride}};
//@ if table == "i8" then
            const int m = {{name}}_table_max(x);
            a.t_scale[t] = x_scale[t0 + t] * ((float)m / 127.0f);
//@ else
            a.t_scale[t] = x_scale[t0 + t];
//@ end
            for (int grp = 0; grp < {{n_groups}}; grp++)
                for (int i = 0; i < {{entries}}; i++) {
                    int sum = 0;
                    for (int k = 0; k < {{g}}; k++)
                        sum += i >> k & 1 ? x[{{g}} * grp + k] : 0;
//@ if table == "i8" then
                    a.table[t][grp][i] = m ? {{name}}_quantize(sum, m) : 0;
//@ else
                    a.table[t][grp][i] = (int16_t)sum;
//@ end
                }
            for (int b = 0; b < {{blocks}}; b++) {
                int32_t sum = 0;
                for (int grp = b * {{n_groups // blocks}}; grp < (b + 1) * {{n_groups // blocks}}; grp++)
                    sum += a.table[t][grp][{{entries - 1}}];
                a.x_sum[t][b] = sum;
            }
        }
        if (a.n == 1)  /* one token reads the weights once: one range per thread (sched.h) */
            parallel_for_streaming(s, {{groups}}, {{math.max(1, rows_per_task // rg)}}, {{name}}_rows, &a);
        else
            parallel_for(s, {{groups}}, {{math.max(1, rows_per_task // rg)}}, {{name}}_rows, &a);
    }
}
