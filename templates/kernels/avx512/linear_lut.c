//@ assert(vbmi, name .. ": the AVX-512 lut kernel needs VBMI (vpermb); use the mad family without it")
//@ assert(rg == 16 and q == 4 and order == "rq", name .. ": the AVX-512 lut kernel reads rg=16 q=4 order=rq slabs")
//@ assert(g == 2 or g == 4, name .. ": the AVX-512 lut kernel has groups of g = 2 or 4 columns")
//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local tail_rows = rows - (groups - 1) * 16
//@ local i8 = table == "i8"
//@ local entries = 1 << g          -- table entries per group
//@ local fields = 8 // g           -- groups per byte
//@ local per_table = 64 // entries -- groups per 64-entry vpermb table
//@ local n_tab = 32 // g // per_table  -- tables per slab (of 32 columns)
//@ local versions = i8 and 1 or 2  -- int8 entries, or the low and high bytes of int16 ones
//@ -- "f(0), f(1), ..." (no table.concat: `table` is this kernel's table-precision parameter here)
//@ local function list(n, f) local s = tostring(f(0)) for e = 1, n - 1 do s = s .. ", " .. f(e) end return s end
//@ local function lanes(n, pred) local v = 0 for e = 0, n - 1 do if pred(e) then v = v | 1 << e end end return string.format("0x%x", v) end
//@ local function field_base(k) local v = 0 for i = 0, 3 do v = v | ((4 * k + i) % per_table * entries) << 8 * i end return string.format("0x%08x", v) end
/* out[n][{{rows}}] = x . W^T with W {{wtype}} as {{bits}} bit-planes of u = w + {{offset}}
 * (layout "{{layout}}", gen/lowbit.lua), x int8 per token, by table
 * lookup (T-MAC) with AVX-512 VBMI{{vnni and " VNNI" or ""}}.
 * Per token and group of {{g}} activations the {{entries}} subset sums are
//@ if i8 then
 * quantized to int8 with one scale per token (gen/lowbit.lua); one
//@ else
 * exact int16, kept as a low-byte and a high-byte table; one
//@ end
 * 64-byte vpermb table holds {{per_table}} groups.  A slab is 16 rows x 32 columns
 * per plane (64 bytes): byte (r, i) holds {{fields}} fields of {{g}} bits, field k
 * the bits of group 4k + i, so a dword of looked-up bytes is 4 groups of
 * one row and a dot product with the plane's weight 2^p (vpdpbusd) adds
//@ if i8 then
 * them into that row's int32 lane.
//@ else
 * them into that row's int32 lane: low bytes as u8, high bytes as s8,
 * sum = 256 * hi + lo.
//@ end
 * Tiles of {{gemv_groups}} row groups x up to {{token_tile}} tokens reuse each index across
 * tokens. */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    int n;
    float t_scale[{{token_tile}}];              /* x_scale times the table's scale */
    int32_t x_sum[{{token_tile}}][{{blocks}}];  /* sum of the all-ones entries per token and scale block */
    /* per token and slab: {{n_tab}} table{{n_tab > 1 and "s" or ""}} of {{per_table}} groups{{i8 and "" or ", each as low bytes then high bytes"}} */
    uint8_t table[{{token_tile}}][{{slabs}}][{{n_tab * versions}}][64] __attribute__((aligned(64)));
};

/* acc += per 32-bit lane: 4 u8 x 4 s8 */
static inline __attribute__((always_inline)) __m512i {{name}}_dot(__m512i acc, __m512i u, __m512i s)
{
//@ if vnni then
    return _mm512_dpbusd_epi32(acc, u, s);
//@ else
    /* |u * s| pairs stay far from int16 saturation: one side is 2^p <= 8 */
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1)));
//@ end
}
//@ if i8 then

/* The largest |subset sum| of a group of {{g}} activations of x: the larger
 * of the group's positive and negative parts. */
static int {{name}}_table_max(const int8_t *x)
{
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i m = _mm512_setzero_si512();
    for (int c = 0; c < {{cols_pad}}; c += 64) {
        const int n = {{cols_pad}} - c < 64 ? {{cols_pad}} - c : 64;
        const __m512i v = _mm512_maskz_loadu_epi8(~0ull >> (64 - n), x + c);
        const __mmask64 neg = _mm512_movepi8_mask(v);
        /* max(x, 0) and max(-x, 0) as u8, adjacent pairs summed to int16 */
        __m512i pos = _mm512_maddubs_epi16(_mm512_maskz_mov_epi8(~neg, v), ones);
        __m512i negs = _mm512_maddubs_epi16(_mm512_maskz_sub_epi8(neg, _mm512_setzero_si512(), v), ones);
//@ if g == 4 then
        /* the low int16 of a dword becomes its group's part; the high one
         * (its second pair alone) is never larger */
        pos = _mm512_add_epi16(pos, _mm512_srli_epi32(pos, 16));
        negs = _mm512_add_epi16(negs, _mm512_srli_epi32(negs, 16));
//@ end
        m = _mm512_max_epi16(m, _mm512_max_epi16(pos, negs));
    }
    return _mm512_reduce_max_epi32(_mm512_max_epi32(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(m)),
                                                    _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(m, 1))));
}

/* Table entries s to int8: sign(s) * floor((254|s| + m) / 2m) as
 * gen/lowbit.lua defines them, computed as floor((254|s| + m + 1/4) / 2m)
 * in float.  The numerator is exact; the quotient, below 128 and at least
 * 1/8m >= 2^-12 from any integer, is off by at most 128 x 2^-23 after
 * rounding 1/2m and the product, so its floor is the same. */
static inline __m512i {{name}}_quantize(__m512i s, __m512 m_quarter, __m512 inv_2m)
{
    const __m512 num = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_abs_epi32(s)), _mm512_set1_ps(254.0f), m_quarter);
    const __m512i q = _mm512_cvttps_epi32(_mm512_mul_ps(num, inv_2m));
    return _mm512_mask_sub_epi32(q, _mm512_movepi32_mask(s), _mm512_setzero_si512(), q);
}
//@ end

/* The tables of one token (x: {{cols_pad}} activations) and, per scale block,
 * the sum of their all-ones entries: the sum of x{{i8 and ", quantized" or ""}}. */
static void {{name}}_tables(uint8_t (*table)[{{n_tab * versions}}][64], int32_t *x_sum, const int8_t *x{{i8 and ", int m" or ""}})
{
    /* int16 lane e of half h of table j: entry e % {{entries}} of group (64j + 32h + e) / {{entries}}
     * of the slab; pick[j][h][k] is the activation of that group's bit k */
    static const int16_t pick[{{n_tab}}][2][{{g}}][32] = {
//@ for j = 0, n_tab - 1 do
//@ for h = 0, 1 do
//@ for k = 0, g - 1 do
        [{{j}}][{{h}}][{{k}}] = { {{list(32, function(e) return ((64 * j + 32 * h + e) >> g) * g + k end)}} },
//@ end
//@ end
//@ end
    };
    /* the lanes whose entry has bit k set */
    static const __mmask32 has_bit[{{g}}] = { {{list(g, function(k) return lanes(32, function(e) return (e % entries) >> k & 1 == 1 end) end)}} };
//@ if i8 then
    const __mmask16 all_ones = {{lanes(16, function(e) return e % entries == entries - 1 end)}};  /* of 16 int32 entries */
    const __m512 m_quarter = _mm512_set1_ps((float)m + 0.25f), inv_2m = _mm512_set1_ps(m ? 1.0f / (float)(2 * m) : 0.0f);
//@ else
    const __m512i all_ones = _mm512_maskz_mov_epi16({{lanes(32, function(e) return e % entries == entries - 1 end)}}, _mm512_set1_epi16(1));
    /* bytes 2j / 2j + 1 of a pair of int16 vectors are the low / high bytes of entry j */
    const __m512i even = _mm512_set_epi64(0x7e7c7a7876747270ll, 0x6e6c6a6866646260ll, 0x5e5c5a5856545250ll,
                                          0x4e4c4a4846444240ll, 0x3e3c3a3836343230ll, 0x2e2c2a2826242220ll,
                                          0x1e1c1a1816141210ll, 0x0e0c0a0806040200ll);
    const __m512i odd = _mm512_add_epi8(even, _mm512_set1_epi8(1));
//@ end
    for (int b = 0; b < {{blocks}}; b++) {
        __m512i sum = _mm512_setzero_si512();
        for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
            const __m512i xv = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(x + 32 * s)));
#pragma GCC unroll {{n_tab}}
            for (int j = 0; j < {{n_tab}}; j++) {
                __m512i t[2];  /* int16 entries 0-31, 32-63 of table j */
#pragma GCC unroll 2
                for (int h = 0; h < 2; h++) {
                    t[h] = _mm512_setzero_si512();
#pragma GCC unroll {{g}}
                    for (int k = 0; k < {{g}}; k++)
                        t[h] = _mm512_mask_add_epi16(t[h], has_bit[k], t[h],
                                                     _mm512_permutexvar_epi16(_mm512_loadu_si512(pick[j][h][k]), xv));
                }
//@ if i8 then
#pragma GCC unroll 4
                for (int c = 0; c < 4; c++) {
                    const __m256i half = c & 1 ? _mm512_extracti64x4_epi64(t[c / 2], 1) : _mm512_castsi512_si256(t[c / 2]);
                    const __m512i entry = {{name}}_quantize(_mm512_cvtepi16_epi32(half), m_quarter, inv_2m);
                    sum = _mm512_mask_add_epi32(sum, all_ones, sum, entry);
                    _mm_store_si128((void *)(table[s][j] + 16 * c), _mm512_cvtepi32_epi8(entry));
                }
//@ else
                sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_madd_epi16(t[0], all_ones), _mm512_madd_epi16(t[1], all_ones)));
                _mm512_store_si512((void *)table[s][2 * j], _mm512_permutex2var_epi8(t[0], even, t[1]));
                _mm512_store_si512((void *)table[s][2 * j + 1], _mm512_permutex2var_epi8(t[0], odd, t[1]));
//@ end
            }
        }
        x_sum[b] = _mm512_reduce_add_epi32(sum);
    }
}

/* 16 outputs of row group g (fewer in the last group) */
static inline void {{name}}_store(float *out, size_t g, __m512 v)
{
//@ if tail_rows < 16 then
    if (g == {{groups - 1}}) {
        _mm512_mask_storeu_ps(out + g * 16, {{(1 << tail_rows) - 1}}, v);
        return;
    }
//@ end
    _mm512_storeu_ps(out + g * 16, v);
}

/* ng row groups from g x nt tokens: every output of the tile */
static inline __attribute__((always_inline)) void {{name}}_tile(const struct {{name}}_args *a, size_t g, int ng, int nt)
{
    const __m512i field_mask = _mm512_set1_epi8({{entries - 1}});
    /* byte i of a dword, field k: where group 4k + i starts in its table (table k * 4 / {{per_table}}) */
    static const uint32_t field_base[{{fields}}] = { {{list(fields, field_base)}} };
//@ if i8 then
    __m512i acc[{{gemv_groups}}][{{token_tile}}];
//@ else
    __m512i lo[{{gemv_groups}}][{{token_tile}}], hi[{{gemv_groups}}][{{token_tile}}];
//@ end
    __m512 sum[{{gemv_groups}}][{{token_tile}}];
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
        for (int t = 0; t < nt; t++)
            sum[i][t] = _mm512_setzero_ps();
    for (int b = 0; b < {{blocks}}; b++) {
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
            for (int t = 0; t < nt; t++)
//@ if i8 then
                acc[i][t] = _mm512_setzero_si512();
//@ else
                lo[i][t] = hi[i][t] = _mm512_setzero_si512();
//@ end
        for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
#pragma GCC unroll {{bits}}
            for (int p = 0; p < {{bits}}; p++) {
                const __m512i weight_u8 = _mm512_set1_epi8((char)(1 << p));
//@ if not i8 then
                const __m512i weight_s8 = weight_u8;
//@ end
#pragma GCC unroll {{gemv_groups}}
                for (int i = 0; i < ng; i++) {
                    const uint8_t *slab = a->w + ((g + i) * {{slabs}} + s) * {{slab_bytes}} + p * 64;
                    const __m512i bytes = _mm512_load_si512((const void *)slab);
//@ if gemv_prefetch > 0 then
                    /* the same plane of a tile {{gemv_prefetch}} ahead, into L2 */
                    _mm_prefetch((const char *)(slab + {{gemv_prefetch * gemv_groups * slabs * slab_bytes}}), _MM_HINT_T1);
//@ end
#pragma GCC unroll {{fields}}
                    for (int k = 0; k < {{fields}}; k++) {
                        /* ((bytes >> {{g}}k) & field_mask) | field_base[k] */
                        const __m512i idx = _mm512_ternarylogic_epi32(_mm512_srli_epi16(bytes, {{g}} * k), field_mask,
                                                                      _mm512_set1_epi32((int)field_base[k]), 0xea);
#pragma GCC unroll {{token_tile}}
                        for (int t = 0; t < nt; t++) {
                            const uint8_t (*tab)[64] = a->table[t][s] + {{versions}} * (k * 4 / {{per_table}});
//@ if i8 then
                            acc[i][t] = {{name}}_dot(acc[i][t], weight_u8, _mm512_permutexvar_epi8(idx, _mm512_load_si512((const void *)tab[0])));
//@ else
                            lo[i][t] = {{name}}_dot(lo[i][t], _mm512_permutexvar_epi8(idx, _mm512_load_si512((const void *)tab[0])), weight_s8);
                            hi[i][t] = {{name}}_dot(hi[i][t], weight_u8, _mm512_permutexvar_epi8(idx, _mm512_load_si512((const void *)tab[1])));
//@ end
                        }
                    }
                }
            }
        }
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++) {
//@ if per_tensor then
            (void)b;
//@ else
            const __m512 d = _mm512_cvtph_ps(
                _mm256_loadu_si256((const void *)(a->w + {{scale_offset}} + (((g + i) * {{blocks}} + b) * 16) * 2)));
//@ end
#pragma GCC unroll {{token_tile}}
            for (int t = 0; t < nt; t++) {
//@ if i8 then
                const __m512i total = _mm512_sub_epi32(acc[i][t], _mm512_set1_epi32({{offset}} * a->x_sum[t][b]));
//@ else
                const __m512i total = _mm512_sub_epi32(_mm512_add_epi32(_mm512_slli_epi32(hi[i][t], 8), lo[i][t]),
                                                       _mm512_set1_epi32({{offset}} * a->x_sum[t][b]));
//@ end
//@ if per_tensor then
                float w_scale;
                memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
                sum[i][t] = _mm512_mul_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(w_scale * a->t_scale[t]));
//@ else
                sum[i][t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(total), sum[i][t]);
//@ end
            }
        }
    }
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{token_tile}}
        for (int t = 0; t < nt; t++)
//@ if per_tensor then
            {{name}}_store(a->out + (size_t)t * {{rows}}, g + i, sum[i][t]);
//@ else
            {{name}}_store(a->out + (size_t)t * {{rows}}, g + i, _mm512_mul_ps(sum[i][t], _mm512_set1_ps(a->t_scale[t])));
//@ end
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
