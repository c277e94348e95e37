//@ assert(rg == 16 and q == 2 and order == "qr", name .. ": the AVX2 lut kernel reads rg=16 q=2 order=qr slabs")
//@ assert(g == 2 or g == 4, name .. ": the AVX2 lut kernel has groups of g = 2 or 4 columns")
//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local tail_rows = rows - (groups - 1) * 16
//@ local i8 = table == "i8"
//@ local entries = 1 << g          -- table entries per group
//@ local fields = 8 // g           -- groups per byte
//@ local per_lane = 16 // entries  -- groups per 16-entry lane table
//@ local n_vec = fields // per_lane  -- table vectors per slab (of 16 columns)
//@ local versions = i8 and 1 or 2  -- int8 entries, or the low and high bytes of int16 ones
//@ -- slabs per chunk: i8 sums rows in int16 for that long (|2^p (e + o)| <= 2^p 254 per pair of fields)
//@ local chunk = i8 and math.min(slab_blocks, 32767 // (127 * fields * ((1 << bits) - 1))) or slab_blocks
//@ -- "f(0), f(1), ..." (no table.concat: `table` is this kernel's table-precision parameter here)
//@ local function list(n, f) local s = tostring(f(0)) for e = 1, n - 1 do s = s .. ", " .. f(e) end return s end
/* out[n][{{rows}}] = x . W^T with W {{wtype}} as {{bits}} bit-planes of u = w + {{offset}}
 * (layout "{{layout}}", gen/lowbit.lua), x int8 per token, by table
 * lookup (T-MAC) with AVX2 vpshufb.  Per token and group of {{g}} activations
//@ if i8 then
 * the {{entries}} subset sums are quantized to int8 with one scale per token
 * (gen/lowbit.lua); a 128-bit lane table holds {{per_lane}} group{{per_lane > 1 and "s" or ""}}.
//@ else
 * the {{entries}} subset sums are exact int16, kept as a low-byte and a high-byte
 * table; a 128-bit lane table holds {{per_lane}} group{{per_lane > 1 and "s" or ""}}.
//@ end
 * A slab is 16 rows x 16 columns per plane (32 bytes): lane i holds 16
 * rows, field k ({{g}} bits) of a byte the bits of group 2k + i.
//@ if i8 then
 * Looked-up bytes of two fields are interleaved per row and vpmaddubsw
 * with the plane's weight 2^p adds them into int16 row sums, widened to
 * int32 every {{chunk}} slabs.
//@ else
 * Looked-up bytes are interleaved back to int16, the fields of a row
 * paired, and vpmaddwd with the plane's weight 2^p adds them into the
 * row's int32 lane.
//@ end
 * Tiles of {{gemv_groups}} row groups x up to {{token_tile}} tokens reuse each index across
 * tokens. */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    int n;
    float t_scale[{{token_tile}}];              /* x_scale times the table's scale */
    int32_t x_sum[{{token_tile}}][{{blocks}}];  /* sum of the all-ones entries per token and scale block */
    /* per token and slab: {{n_vec}} table vector{{n_vec > 1 and "s" or ""}} (lane i: groups of lane i){{i8 and "" or ", each as low bytes then high bytes"}} */
    uint8_t table[{{token_tile}}][{{slabs}}][{{n_vec * versions}}][32] __attribute__((aligned(32)));
};

static int32_t {{name}}_hsum(__m256i v)
{
    const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i t = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    return _mm_cvtsi128_si32(_mm_add_epi32(t, _mm_shuffle_epi32(t, 0xb1)));
}
//@ if i8 then

/* m, max over the groups of 32 activations v: each group's positive and
 * negative parts */
static inline __m256i {{name}}_group_max(__m256i m, __m256i v)
{
    const __m256i ones = _mm256_set1_epi8(1), neg = _mm256_cmpgt_epi8(_mm256_setzero_si256(), v);
    /* max(x, 0) and max(-x, 0) as u8, adjacent pairs summed to int16 */
    __m256i pos = _mm256_maddubs_epi16(_mm256_andnot_si256(neg, v), ones);
    __m256i negs = _mm256_maddubs_epi16(_mm256_and_si256(neg, _mm256_sub_epi8(_mm256_setzero_si256(), v)), ones);
//@ if g == 4 then
    /* the low int16 of a dword becomes its group's part; the high one (its
     * second pair alone) is never larger */
    pos = _mm256_add_epi16(pos, _mm256_srli_epi32(pos, 16));
    negs = _mm256_add_epi16(negs, _mm256_srli_epi32(negs, 16));
//@ end
    return _mm256_max_epi16(m, _mm256_max_epi16(pos, negs));
}

/* The largest |subset sum| of a group of {{g}} activations of x. */
static int {{name}}_table_max(const int8_t *x)
{
    __m256i m = _mm256_setzero_si256();
    int c = 0;
    for (; c + 32 <= {{cols_pad}}; c += 32)
        m = {{name}}_group_max(m, _mm256_loadu_si256((const void *)(x + c)));
//@ if cols_pad % 32 ~= 0 then
    m = {{name}}_group_max(m, _mm256_inserti128_si256(_mm256_setzero_si256(), _mm_loadu_si128((const void *)(x + c)), 0));
//@ end
    int16_t lane[16];
    _mm256_storeu_si256((void *)lane, m);
    int max = 0;
    for (int i = 0; i < 16; i++)
        max = lane[i] > max ? lane[i] : max;
    return max;
}

/* Table entries s to int8: sign(s) * floor((254|s| + m) / 2m) as
 * gen/lowbit.lua defines them, computed as floor((254|s| + m + 1/4) / 2m)
 * in float.  The numerator is exact; the quotient, below 128 and at least
 * 1/8m >= 2^-12 from any integer, is off by at most 128 x 2^-23 after
 * rounding 1/2m and the product, so its floor is the same. */
static inline __m256i {{name}}_quantize(__m256i s, __m256 m_quarter, __m256 inv_2m)
{
    const __m256 num = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_abs_epi32(s)), _mm256_set1_ps(254.0f), m_quarter);
    return _mm256_sign_epi32(_mm256_cvttps_epi32(_mm256_mul_ps(num, inv_2m)), s);
}
//@ end

/* The tables of one token (x: {{cols_pad}} activations) and, per scale block,
 * the sum of their all-ones entries: the sum of x{{i8 and ", quantized" or ""}}. */
static void {{name}}_tables(uint8_t (*table)[{{n_vec * versions}}][32], int32_t *x_sum, const int8_t *x{{i8 and ", int m" or ""}})
{
    /* entry e of lane i of table vector j: entry e % {{entries}} of group
     * 2 * (j * {{per_lane}} + e / {{entries}}) + i of the slab; pick[j][i][k] selects the activation
     * of that group's bit k, or zero (0x80) where the entry lacks the bit */
    static const uint8_t pick[{{n_vec}}][2][{{g}}][16] = {
//@ for j = 0, n_vec - 1 do
//@ for i = 0, 1 do
//@ for k = 0, g - 1 do
        [{{j}}][{{i}}][{{k}}] = { {{list(16, function(e) return (e % entries) >> k & 1 == 1 and g * (2 * (j * per_lane + e // entries) + i) + k or 0x80 end)}} },
//@ end
//@ end
//@ end
    };
//@ if i8 then
    /* the all-ones entries among entries 0-7 and 8-15 */
    const __m256i all_ones[2] = {
        _mm256_setr_epi32({{list(8, function(e) return e % entries == entries - 1 and -1 or 0 end)}}),
        _mm256_setr_epi32({{list(8, function(e) return (8 + e) % entries == entries - 1 and -1 or 0 end)}}),
    };
    const __m256 m_quarter = _mm256_set1_ps((float)m + 0.25f), inv_2m = _mm256_set1_ps(m ? 1.0f / (float)(2 * m) : 0.0f);
//@ else
    const __m256i all_ones = _mm256_setr_epi16({{list(16, function(e) return e % entries == entries - 1 and 1 or 0 end)}});
    /* per 128-bit lane: the low bytes of 8 entries, then their high bytes */
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                           0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
//@ end
    for (int b = 0; b < {{blocks}}; b++) {
        __m256i sum = _mm256_setzero_si256();
        for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
            const __m128i xs = _mm_loadu_si128((const void *)(x + 16 * s));
#pragma GCC unroll {{n_vec}}
            for (int j = 0; j < {{n_vec}}; j++)
#pragma GCC unroll 2
                for (int i = 0; i < 2; i++) {
                    __m256i e = _mm256_setzero_si256();  /* int16 entries of lane table (j, i) */
#pragma GCC unroll {{g}}
                    for (int k = 0; k < {{g}}; k++)
                        e = _mm256_add_epi16(e, _mm256_cvtepi8_epi16(_mm_shuffle_epi8(xs, _mm_loadu_si128((const void *)pick[j][i][k]))));
//@ if i8 then
                    const __m256i q0 = {{name}}_quantize(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(e)), m_quarter, inv_2m);
                    const __m256i q1 = {{name}}_quantize(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(e, 1)), m_quarter, inv_2m);
                    sum = _mm256_add_epi32(sum, _mm256_add_epi32(_mm256_and_si256(q0, all_ones[0]), _mm256_and_si256(q1, all_ones[1])));
                    /* int16 entries 0-15 in order, then bytes */
                    const __m256i q16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xd8);
                    _mm_store_si128((void *)(table[s][j] + 16 * i),
                                    _mm_packs_epi16(_mm256_castsi256_si128(q16), _mm256_extracti128_si256(q16, 1)));
//@ else
                    sum = _mm256_add_epi32(sum, _mm256_madd_epi16(e, all_ones));
                    /* qwords: low bytes of entries 0-7, 8-15, then high bytes 0-7, 8-15 */
                    const __m256i bytes = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(e, split), 0xd8);
                    _mm_store_si128((void *)(table[s][2 * j] + 16 * i), _mm256_castsi256_si128(bytes));
                    _mm_store_si128((void *)(table[s][2 * j + 1] + 16 * i), _mm256_extracti128_si256(bytes, 1));
//@ end
                }
        }
        x_sum[b] = {{name}}_hsum(sum);
    }
}

/* 16 outputs of row group g (fewer in the last group) */
static inline void {{name}}_store(float *out, size_t g, __m256 lo, __m256 hi)
{
//@ if tail_rows < 16 then
    if (g == {{groups - 1}}) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_maskstore_ps(out + g * 16, _mm256_cmpgt_epi32(_mm256_set1_epi32({{tail_rows}}), lane), lo);
        _mm256_maskstore_ps(out + g * 16 + 8, _mm256_cmpgt_epi32(_mm256_set1_epi32({{tail_rows - 8}}), lane), hi);
        return;
    }
//@ end
    _mm256_storeu_ps(out + g * 16, lo);
    _mm256_storeu_ps(out + g * 16 + 8, hi);
}
//@ if not i8 then

/* rows 4k..4k+3 of a group: the sum of an accumulator's two lanes */
static inline __m128i {{name}}_fold(__m256i acc)
{
    return _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
}
//@ end

/* ng row groups from g x nt tokens: every output of the tile */
static inline __attribute__((always_inline)) void {{name}}_tile(const struct {{name}}_args *a, size_t g, int ng, int nt)
{
    const __m256i field_mask = _mm256_set1_epi8({{entries - 1}});
    /* field k's groups start at entry (k % {{per_lane}}) * {{entries}} of their lane table (vector k / {{per_lane}}) */
    static const uint8_t field_base[{{fields}}] = { {{list(fields, function(k) return k % per_lane * entries end)}} };
//@ if i8 then
    /* acc16[i][t][h]: int16 sums of rows 8h..8h+7 per lane; acc[i][t][h]: int32, the lanes added */
    __m256i acc16[{{gemv_groups}}][{{token_tile}}][2], acc[{{gemv_groups}}][{{token_tile}}][2];
//@ else
    /* acc[i][t][k]: rows 4k..4k+3, lane i's groups */
    __m256i acc[{{gemv_groups}}][{{token_tile}}][4];
//@ end
    __m256 sum[{{gemv_groups}}][{{token_tile}}][2];
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
        for (int t = 0; t < nt; t++)
            sum[i][t][0] = sum[i][t][1] = _mm256_setzero_ps();
    for (int b = 0; b < {{blocks}}; b++) {
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
            for (int t = 0; t < nt; t++)
//@ if i8 then
                acc[i][t][0] = acc[i][t][1] = _mm256_setzero_si256();
//@ else
#pragma GCC unroll 4
                for (int k = 0; k < 4; k++)
                    acc[i][t][k] = _mm256_setzero_si256();
//@ end
        for (int s0 = b * {{slab_blocks}}; s0 < (b + 1) * {{slab_blocks}}; s0 += {{chunk}}) {
            const int s1 = s0 + {{chunk}} < (b + 1) * {{slab_blocks}} ? s0 + {{chunk}} : (b + 1) * {{slab_blocks}};
//@ if i8 then
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
                for (int t = 0; t < nt; t++)
                    acc16[i][t][0] = acc16[i][t][1] = _mm256_setzero_si256();
//@ end
            for (int s = s0; s < s1; s++) {
#pragma GCC unroll {{bits}}
                for (int p = 0; p < {{bits}}; p++) {
//@ if i8 then
                    const __m256i weight = _mm256_set1_epi8((char)(1 << p));
//@ else
                    const __m256i weight = _mm256_set1_epi16((short)(1 << p));
//@ end
#pragma GCC unroll {{gemv_groups}}
                    for (int i = 0; i < ng; i++) {
                        const uint8_t *slab = a->w + ((g + i) * {{slabs}} + s) * {{slab_bytes}} + p * 32;
                        const __m256i bytes = _mm256_load_si256((const void *)slab);
//@ if gemv_prefetch > 0 then
                        /* the same plane of a tile {{gemv_prefetch}} ahead, into L2 */
                        _mm_prefetch((const char *)(slab + {{gemv_prefetch * gemv_groups * slabs * slab_bytes}}), _MM_HINT_T1);
//@ end
                        __m256i idx[{{fields}}];
#pragma GCC unroll {{fields}}
                        for (int k = 0; k < {{fields}}; k++)
                            idx[k] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bytes, {{g}} * k), field_mask),
                                                     _mm256_set1_epi8((char)field_base[k]));
#pragma GCC unroll {{token_tile}}
                        for (int t = 0; t < nt; t++) {
                            const uint8_t (*tab)[32] = a->table[t][s];
//@ if i8 then
#pragma GCC unroll {{fields // 2}}
                            for (int k = 0; k < {{fields}}; k += 2) {
                                const __m256i e = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[k / {{per_lane}}]), idx[k]);
                                const __m256i o = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[(k + 1) / {{per_lane}}]), idx[k + 1]);
                                /* a row's two fields side by side, times 2^p, summed to int16 */
                                acc16[i][t][0] = _mm256_add_epi16(acc16[i][t][0], _mm256_maddubs_epi16(weight, _mm256_unpacklo_epi8(e, o)));
                                acc16[i][t][1] = _mm256_add_epi16(acc16[i][t][1], _mm256_maddubs_epi16(weight, _mm256_unpackhi_epi8(e, o)));
                            }
//@ else
                            /* int16 sums of rows 0-7 and 8-15 per lane: even fields in a, odd in b */
                            __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0 = a0, b1 = a0;
#pragma GCC unroll {{fields}}
                            for (int k = 0; k < {{fields}}; k++) {
                                const __m256i lo = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[2 * (k / {{per_lane}})]), idx[k]);
                                const __m256i hi = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[2 * (k / {{per_lane}}) + 1]), idx[k]);
                                if (k % 2 == 0) {
                                    a0 = _mm256_add_epi16(a0, _mm256_unpacklo_epi8(lo, hi));
                                    a1 = _mm256_add_epi16(a1, _mm256_unpackhi_epi8(lo, hi));
                                } else {
                                    b0 = _mm256_add_epi16(b0, _mm256_unpacklo_epi8(lo, hi));
                                    b1 = _mm256_add_epi16(b1, _mm256_unpackhi_epi8(lo, hi));
                                }
                            }
                            acc[i][t][0] = _mm256_add_epi32(acc[i][t][0], _mm256_madd_epi16(_mm256_unpacklo_epi16(a0, b0), weight));
                            acc[i][t][1] = _mm256_add_epi32(acc[i][t][1], _mm256_madd_epi16(_mm256_unpackhi_epi16(a0, b0), weight));
                            acc[i][t][2] = _mm256_add_epi32(acc[i][t][2], _mm256_madd_epi16(_mm256_unpacklo_epi16(a1, b1), weight));
                            acc[i][t][3] = _mm256_add_epi32(acc[i][t][3], _mm256_madd_epi16(_mm256_unpackhi_epi16(a1, b1), weight));
//@ end
                        }
                    }
                }
            }
//@ if i8 then
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
                for (int t = 0; t < nt; t++)
#pragma GCC unroll 2
                    for (int h = 0; h < 2; h++)
                        acc[i][t][h] = _mm256_add_epi32(acc[i][t][h], _mm256_add_epi32(
                            _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc16[i][t][h])),
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc16[i][t][h], 1))));
//@ end
        }
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++) {
//@ if per_tensor then
            (void)b;
            float w_scale;
            memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
//@ else
            const uint8_t *d = a->w + {{scale_offset}} + (((g + i) * {{blocks}} + b) * 16) * 2;
            const __m256 d_lo = _mm256_cvtph_ps(_mm_loadu_si128((const void *)d));
            const __m256 d_hi = _mm256_cvtph_ps(_mm_loadu_si128((const void *)(d + 16)));
//@ end
#pragma GCC unroll {{token_tile}}
            for (int t = 0; t < nt; t++) {
                const __m256i corr = _mm256_set1_epi32({{offset}} * a->x_sum[t][b]);
//@ if i8 then
                const __m256i lo = _mm256_sub_epi32(acc[i][t][0], corr), hi = _mm256_sub_epi32(acc[i][t][1], corr);
//@ else
                const __m256i lo = _mm256_sub_epi32(
                    _mm256_setr_m128i({{name}}_fold(acc[i][t][0]), {{name}}_fold(acc[i][t][1])), corr);
                const __m256i hi = _mm256_sub_epi32(
                    _mm256_setr_m128i({{name}}_fold(acc[i][t][2]), {{name}}_fold(acc[i][t][3])), corr);
//@ end
//@ if per_tensor then
                const __m256 scale = _mm256_set1_ps(w_scale * a->t_scale[t]);
                sum[i][t][0] = _mm256_mul_ps(_mm256_cvtepi32_ps(lo), scale);
                sum[i][t][1] = _mm256_mul_ps(_mm256_cvtepi32_ps(hi), scale);
//@ else
                sum[i][t][0] = _mm256_fmadd_ps(d_lo, _mm256_cvtepi32_ps(lo), sum[i][t][0]);
                sum[i][t][1] = _mm256_fmadd_ps(d_hi, _mm256_cvtepi32_ps(hi), sum[i][t][1]);
//@ end
            }
        }
    }
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
        for (int t = 0; t < nt; t++) {
//@ if per_tensor then
            {{name}}_store(a->out + (size_t)t * {{rows}}, g + i, sum[i][t][0], sum[i][t][1]);
//@ else
            const __m256 xs = _mm256_set1_ps(a->t_scale[t]);
            {{name}}_store(a->out + (size_t)t * {{rows}}, g + i, _mm256_mul_ps(sum[i][t][0], xs),
                           _mm256_mul_ps(sum[i][t][1], xs));
//@ end
        }
}

static void {{name}}_rows(void *ctx, size_t g0, size_t g1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    switch (a->n) {
//@ for nt = 1, token_tile do
    case {{nt}}: {
        size_t g = g0;
        for (; g + {{gemv_groups}} <= g1; g += {{gemv_groups}})
            {{name}}_tile(a, g, {{gemv_groups}}, {{nt}});
        for (; g < g1; g++)
            {{name}}_tile(a, g, 1, {{nt}});
        break;
    }
//@ end
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
//@ if i8 then
            const int m = {{name}}_table_max(x);
            a.t_scale[t] = x_scale[t0 + t] * ((float)m / 127.0f);
            {{name}}_tables(a.table[t], a.x_sum[t], x, m);
//@ else
            a.t_scale[t] = x_scale[t0 + t];
            {{name}}_tables(a.table[t], a.x_sum[t], x);
//@ end
        }
        if (a.n == 1)  /* one token reads the weights once: one range per thread (sched.h) */
            parallel_for_streaming(s, {{groups}}, {{math.max(1, rows_per_task // 16)}}, {{name}}_rows, &a);
        else
            parallel_for(s, {{groups}}, {{math.max(1, rows_per_task // 16)}}, {{name}}_rows, &a);
    }
}
