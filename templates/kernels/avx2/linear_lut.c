//@ assert(rg == 16 and q == 2 and order == "qr", name .. ": the AVX2 lut kernel reads rg=16 q=2 order=qr slabs")
//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local tail_rows = rows - (groups - 1) * 16
/* out[n][{{rows}}] = x . W^T with W {{wtype}} as {{bits}} bit-planes of u = w + {{offset}}
 * (layout "{{layout}}", gen/lowbit.lua), x int8 per token, by table
 * lookup (T-MAC) with AVX2 vpshufb.  Per token and group of 4 activations
 * the 16 subset sums are exact int16, kept as a low-byte and a high-byte
 * table, one group per 128-bit lane.  A slab is 16 rows x 16 columns per
 * plane (32 bytes: lane i holds 16 rows, the low nibble indexes group i,
 * the high nibble group 2 + i).  Looked-up bytes are interleaved back to
 * int16, the two groups of a row paired, and vpmaddwd with the plane's
 * weight 2^p adds them into the row's int32 lane.  Tiles of {{gemv_groups}} row
 * groups x up to {{token_tile}} tokens reuse each nibble index across tokens. */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    const int8_t *xq;
    const float *x_scale;
    int n;
    int32_t x_sum[{{token_tile}}][{{blocks}}];  /* sum of x per token and scale block */
    /* per token and slab: low bytes of groups 0|1, high 0|1, low 2|3, high 2|3 */
    uint8_t table[{{token_tile}}][{{slabs}}][4][32] __attribute__((aligned(32)));
};

/* The tables of one slab (16 activations) for one token. */
static void {{name}}_tables(uint8_t table[4][32], const int8_t *x)
{
    const __m256i entry = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    /* per 128-bit lane: the low bytes of 8 entries, then their high bytes */
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                           0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    for (int grp = 0; grp < 4; grp++) {
        __m256i t = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const __m256i bit = _mm256_set1_epi16((short)(1 << k));
            const __m256i has = _mm256_cmpeq_epi16(_mm256_and_si256(entry, bit), bit);
            t = _mm256_add_epi16(t, _mm256_and_si256(has, _mm256_set1_epi16(x[4 * grp + k])));
        }
        /* qwords: low bytes of entries 0-7, 8-15, then high bytes 0-7, 8-15 */
        const __m256i bytes = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(t, split), 0xd8);
        _mm_store_si128((void *)(table[2 * (grp / 2)] + 16 * (grp % 2)), _mm256_castsi256_si128(bytes));
        _mm_store_si128((void *)(table[2 * (grp / 2) + 1] + 16 * (grp % 2)), _mm256_extracti128_si256(bytes, 1));
    }
}

static int32_t {{name}}_sum(const int8_t *x, int n)
{
    int32_t sum = 0;
    for (int c = 0; c < n; c++)
        sum += x[c];
    return sum;
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

/* rows 4k..4k+3 of a group: the sum of an accumulator's two lanes */
static inline __m128i {{name}}_fold(__m256i acc)
{
    return _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
}

/* ng row groups from g x nt tokens: every output of the tile */
static inline __attribute__((always_inline)) void {{name}}_tile(const struct {{name}}_args *a, size_t g, int ng, int nt)
{
    const __m256i low_nibble = _mm256_set1_epi8(0x0f);
    /* acc[i][t][k]: rows 4k..4k+3, lane i's groups */
    __m256i acc[{{gemv_groups}}][{{token_tile}}][4];
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
#pragma GCC unroll 4
                for (int k = 0; k < 4; k++)
                    acc[i][t][k] = _mm256_setzero_si256();
        for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
#pragma GCC unroll {{bits}}
            for (int p = 0; p < {{bits}}; p++) {
                const __m256i weight = _mm256_set1_epi16((short)(1 << p));
#pragma GCC unroll {{gemv_groups}}
                for (int i = 0; i < ng; i++) {
                    const uint8_t *slab = a->w + ((g + i) * {{slabs}} + s) * {{slab_bytes}} + p * 32;
                    const __m256i bytes = _mm256_load_si256((const void *)slab);
//@ if gemv_prefetch > 0 then
                    /* the same plane of a tile {{gemv_prefetch}} ahead, into L2 */
                    _mm_prefetch((const char *)(slab + {{gemv_prefetch * gemv_groups * slabs * slab_bytes}}), _MM_HINT_T1);
//@ end
                    const __m256i idx_a = _mm256_and_si256(bytes, low_nibble);
                    const __m256i idx_b = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low_nibble);
#pragma GCC unroll {{token_tile}}
                    for (int t = 0; t < nt; t++) {
                        const uint8_t (*tab)[32] = a->table[t][s];
                        const __m256i lo_a = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[0]), idx_a);
                        const __m256i hi_a = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[1]), idx_a);
                        const __m256i lo_b = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[2]), idx_b);
                        const __m256i hi_b = _mm256_shuffle_epi8(_mm256_load_si256((const void *)tab[3]), idx_b);
                        /* int16 sums of rows 0-7 and 8-15 per lane */
                        const __m256i a0 = _mm256_unpacklo_epi8(lo_a, hi_a), a1 = _mm256_unpackhi_epi8(lo_a, hi_a);
                        const __m256i b0 = _mm256_unpacklo_epi8(lo_b, hi_b), b1 = _mm256_unpackhi_epi8(lo_b, hi_b);
                        acc[i][t][0] = _mm256_add_epi32(acc[i][t][0], _mm256_madd_epi16(_mm256_unpacklo_epi16(a0, b0), weight));
                        acc[i][t][1] = _mm256_add_epi32(acc[i][t][1], _mm256_madd_epi16(_mm256_unpackhi_epi16(a0, b0), weight));
                        acc[i][t][2] = _mm256_add_epi32(acc[i][t][2], _mm256_madd_epi16(_mm256_unpacklo_epi16(a1, b1), weight));
                        acc[i][t][3] = _mm256_add_epi32(acc[i][t][3], _mm256_madd_epi16(_mm256_unpackhi_epi16(a1, b1), weight));
                    }
                }
            }
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
                const __m256i lo = _mm256_sub_epi32(
                    _mm256_setr_m128i({{name}}_fold(acc[i][t][0]), {{name}}_fold(acc[i][t][1])), corr);
                const __m256i hi = _mm256_sub_epi32(
                    _mm256_setr_m128i({{name}}_fold(acc[i][t][2]), {{name}}_fold(acc[i][t][3])), corr);
//@ if per_tensor then
                const __m256 scale = _mm256_set1_ps(w_scale * a->x_scale[t]);
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
            const __m256 xs = _mm256_set1_ps(a->x_scale[t]);
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
        a.xq = xq + (size_t)t0 * {{x_stride}};
        a.x_scale = x_scale + t0;
        a.n = n - t0 < {{token_tile}} ? n - t0 : {{token_tile}};
        for (int t = 0; t < a.n; t++) {
            const int8_t *x = a.xq + (size_t)t * {{x_stride}};
            for (int b = 0; b < {{blocks}}; b++)
                a.x_sum[t][b] = {{name}}_sum(x + b * {{cols_pad // blocks}}, {{cols_pad // blocks}});
            for (int sl = 0; sl < {{slabs}}; sl++)
                {{name}}_tables(a.table[t][sl], x + sl * 16);
        }
        parallel_for(s, {{groups}}, {{math.max(1, rows_per_task // 16)}}, {{name}}_rows, &a);
    }
}
