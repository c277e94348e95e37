//@ local per_byte = ({ code2 = 4, code4 = 2, trit5 = 5, code6 = 4 })[encoding]
//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local code6 = encoding == "code6"
//@ -- activation sums per scale block, or per sub-block (a slab) for code6
//@ local x_blocks = code6 and subs or blocks
/* out[n][{{rows}}] = x . W^T with W {{wtype}} in {{encoding}} codes (layout
 * "{{layout}}", gen/lowbit.lua) and x int8 per token.  Plain C: unpack
 * each code u = w + {{offset}}, multiply-accumulate sum(u*x) per
//@ if per_tensor then
 * row, subtract {{offset}} * sum(x), scale by the tensor's scale.  Rows split
//@ else
 * block of {{sb}} columns, subtract {{offset}} * sum(x), scale by the block's
 * scale.  Rows split
//@ end
 * over threads in groups of {{rg}}; tokens in passes of {{token_tile}}.
//@ if code6 then
 * int6 (Q6_K's scales): each slab is a sub-block of 16 columns whose
 * integer sum is scaled by its int8 sub-scale into the super-block's
 * int32 sum before the f16 scale (gen/lowbit.lua bounds it).
//@ end
 */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    const int8_t *xq;
    const float *x_scale;
    int n;
    int32_t x_sum[{{token_tile}}][{{x_blocks}}];  /* sum of x per token and {{code6 and "sub-block" or "scale block"}} */
};

/* Row groups [g0, g1) for every token (the range function of GEMV and GEMM alike) */
static void {{name}}_gemv(void *ctx, size_t g0, size_t g1, int worker)
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
                const int8_t *x = a->xq + (size_t)t * {{x_stride}};
                float sum = 0.0f;
                for (int b = 0; b < {{blocks}}; b++) {
                    int32_t acc = 0;
                    for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
                        const uint8_t *slab = a->w + (g * {{slabs}} + s) * {{slab_bytes}} + r * 4;
                        const int8_t *xs = x + s * {{slab_cols}};
//@ if code6 then
                        int32_t part = 0;
                        for (int q = 0; q < 4; q++)
                            for (int j = 0; j < 4; j++) {
                                /* low nibble from part j / 2, high 2 bits from part 2 */
                                const int lo = slab[j / 2 * {{rg * 4}} + q] >> (4 * (j % 2)) & 15;
                                const int hi = slab[{{2 * rg * 4}} + q] >> (2 * j) & 3;
                                part += (lo | hi << 4) * xs[4 * j + q];
                            }
                        const int8_t sc = (int8_t)a->w[{{sub_offset}} + (g * {{subs}} + s) * {{rg}} + r];
                        acc += sc * (part - {{offset}} * a->x_sum[t][s]);
//@ else
                        for (int q = 0; q < 4; q++) {
//@ if encoding == "trit5" then
                            /* 7 bits of base-3 digits; the top bit negates: u -> 2 - u */
                            unsigned byte = slab[q] & 127u;
                            const int negate = slab[q] >> 7;
//@ else
                            unsigned byte = slab[q];
//@ end
                            for (int j = 0; j < {{per_byte}}; j++) {
//@ if encoding == "trit5" then
                                const int u = negate ? 2 - (int)(byte % 3) : (int)(byte % 3);
                                byte /= 3;
//@ elseif encoding == "code2" then
                                const int u = (int)((byte >> (2 * j)) & 3);
//@ else
                                const int u = (int)((byte >> (4 * j)) & 15);
//@ end
                                acc += u * xs[4 * j + q];
                            }
                        }
//@ end
                    }
//@ if not code6 then
                    acc -= {{offset}} * a->x_sum[t][b];
//@ end
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

/* The activation sums of a's tokens (the rest of the driver: templates/kernels.c) */
static void {{name}}_sums(struct {{name}}_args *a)
{
    for (int t = 0; t < a->n; t++)
        for (int b = 0; b < {{x_blocks}}; b++) {
            int32_t sum = 0;
            for (int c = b * {{cols_pad // x_blocks}}; c < (b + 1) * {{cols_pad // x_blocks}}; c++)
                sum += a->xq[(size_t)t * {{x_stride}} + c];
            a->x_sum[t][b] = sum;
        }
}
