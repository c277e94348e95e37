//@ assert(vbmi, name .. ": the AVX-512 lut kernel needs VBMI (vpermb); use the mad family without it")
//@ assert(rg == 16 and q == 4 and order == "rq", name .. ": the AVX-512 lut kernel reads rg=16 q=4 order=rq slabs")
//@ local slab_blocks = per_tensor and slabs or sb // slab_cols
//@ local tail_rows = rows - (groups - 1) * 16
/* out[n][{{rows}}] = x . W^T with W {{wtype}} as {{bits}} bit-planes of u = w + {{offset}}
 * (layout "{{layout}}", gen/lowbit.lua), x int8 per token, by table
 * lookup (T-MAC) with AVX-512 VBMI{{vnni and " VNNI" or ""}}.
 * Per token and group of 4 activations the 16 subset sums are exact int16,
 * kept as a low-byte and a high-byte table; one 64-byte vpermb table holds
 * 4 groups, so a dword of looked-up bytes is 4 groups of one row and a dot
 * product with the plane's weight 2^p (vpdpbusd) adds them into that row's
 * int32 lane: low bytes as u8, high bytes as s8, sum = 256 * hi + lo.
 * A slab is 16 rows x 32 columns per plane (64 bytes: byte (r, i) holds
 * groups i and 4 + i in its nibbles).  Tiles of {{gemv_groups}} row groups x up to
 * {{token_tile}} tokens reuse each nibble index across tokens. */
struct {{name}}_args {
    float *out;
    const uint8_t *w;
    const int8_t *xq;
    const float *x_scale;
    int n;
    int32_t x_sum[{{token_tile}}][{{blocks}}];  /* sum of x per token and scale block */
    /* per token and slab: low bytes of groups 0-3, high bytes 0-3, low 4-7, high 4-7 */
    uint8_t table[{{token_tile}}][{{slabs}}][4][64] __attribute__((aligned(64)));
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

/* The tables of one slab (32 activations) for one token. */
static void {{name}}_tables(uint8_t table[4][64], const int8_t *x)
{
    /* int16 lane j of a half's 2 vectors: group 2z + j / 16, entry j % 16 */
    static const __mmask32 has_bit[4] = { 0xAAAAAAAAu, 0xCCCCCCCCu, 0xF0F0F0F0u, 0xFF00FF00u };
    for (int h = 0; h < 2; h++) {
        const __m512i xv = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const void *)(x + 16 * h))));
        __m512i t[2] = { _mm512_setzero_si512(), _mm512_setzero_si512() };
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++)
#pragma GCC unroll 2
            for (int z = 0; z < 2; z++) {
                /* activation k of the lane's group: element 4 * group + k */
                const __m512i pick = _mm512_add_epi16(
                    _mm512_set_epi16(4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z,
                                     4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z, 4 + 8 * z,
                                     4 + 8 * z, 4 + 8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z,
                                     8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z, 8 * z),
                    _mm512_set1_epi16((short)k));
                t[z] = _mm512_mask_add_epi16(t[z], has_bit[k], t[z], _mm512_permutexvar_epi16(pick, xv));
            }
        /* bytes 2j / 2j + 1 of the pair are the low / high bytes of entry j */
        const __m512i even = _mm512_set_epi64(0x7e7c7a7876747270ll, 0x6e6c6a6866646260ll, 0x5e5c5a5856545250ll,
                                              0x4e4c4a4846444240ll, 0x3e3c3a3836343230ll, 0x2e2c2a2826242220ll,
                                              0x1e1c1a1816141210ll, 0x0e0c0a0806040200ll);
        _mm512_store_si512((void *)table[2 * h], _mm512_permutex2var_epi8(t[0], even, t[1]));
        _mm512_store_si512((void *)table[2 * h + 1],
                           _mm512_permutex2var_epi8(t[0], _mm512_add_epi8(even, _mm512_set1_epi8(1)), t[1]));
    }
}

/* sum of n int8 (n a multiple of 4) */
static int32_t {{name}}_sum(const int8_t *x, int n)
{
    __m512i acc = _mm512_setzero_si512();
    int c = 0;
    for (; c + 64 <= n; c += 64)
        acc = {{name}}_dot(acc, _mm512_set1_epi8(1), _mm512_loadu_si512((const void *)(x + c)));
    if (c < n)
        acc = {{name}}_dot(acc, _mm512_set1_epi8(1), _mm512_maskz_loadu_epi8(~0ull >> (64 - (n - c)), x + c));
    return _mm512_reduce_add_epi32(acc);
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
    const __m512i low_nibble = _mm512_set1_epi8(0x0f);
    const __m512i group_of = _mm512_set1_epi32(0x30201000);  /* byte i of a dword: table entries of group i */
    __m512i lo[{{gemv_groups}}][{{token_tile}}], hi[{{gemv_groups}}][{{token_tile}}];
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
                lo[i][t] = hi[i][t] = _mm512_setzero_si512();
        for (int s = b * {{slab_blocks}}; s < (b + 1) * {{slab_blocks}}; s++) {
#pragma GCC unroll {{bits}}
            for (int p = 0; p < {{bits}}; p++) {
                const __m512i weight_u8 = _mm512_set1_epi8((char)(1 << p)), weight_s8 = weight_u8;
#pragma GCC unroll {{gemv_groups}}
                for (int i = 0; i < ng; i++) {
                    const uint8_t *slab = a->w + ((g + i) * {{slabs}} + s) * {{slab_bytes}} + p * 64;
                    const __m512i bytes = _mm512_load_si512((const void *)slab);
//@ if gemv_prefetch > 0 then
                    /* the same plane of a tile {{gemv_prefetch}} ahead, into L2 */
                    _mm_prefetch((const char *)(slab + {{gemv_prefetch * gemv_groups * slabs * slab_bytes}}), _MM_HINT_T1);
//@ end
                    /* (bytes & 0x0f) | group_of, and the same for the high nibbles */
                    const __m512i idx_a = _mm512_ternarylogic_epi32(bytes, low_nibble, group_of, 0xea);
                    const __m512i idx_b = _mm512_ternarylogic_epi32(_mm512_srli_epi16(bytes, 4), low_nibble, group_of, 0xea);
#pragma GCC unroll {{token_tile}}
                    for (int t = 0; t < nt; t++) {
                        const uint8_t (*tab)[64] = a->table[t][s];
                        lo[i][t] = {{name}}_dot(lo[i][t], _mm512_permutexvar_epi8(idx_a, _mm512_load_si512((const void *)tab[0])), weight_s8);
                        hi[i][t] = {{name}}_dot(hi[i][t], weight_u8, _mm512_permutexvar_epi8(idx_a, _mm512_load_si512((const void *)tab[1])));
                        lo[i][t] = {{name}}_dot(lo[i][t], _mm512_permutexvar_epi8(idx_b, _mm512_load_si512((const void *)tab[2])), weight_s8);
                        hi[i][t] = {{name}}_dot(hi[i][t], weight_u8, _mm512_permutexvar_epi8(idx_b, _mm512_load_si512((const void *)tab[3])));
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
                const __m512i acc = _mm512_sub_epi32(_mm512_add_epi32(_mm512_slli_epi32(hi[i][t], 8), lo[i][t]),
                                                     _mm512_set1_epi32({{offset}} * a->x_sum[t][b]));
//@ if per_tensor then
                float w_scale;
                memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
                sum[i][t] = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(w_scale * a->x_scale[t]));
//@ else
                sum[i][t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(acc), sum[i][t]);
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
            {{name}}_store(a->out + (size_t)t * {{rows}}, g + i, _mm512_mul_ps(sum[i][t], _mm512_set1_ps(a->x_scale[t])));
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
        a.xq = xq + (size_t)t0 * {{x_stride}};
        a.x_scale = x_scale + t0;
        a.n = n - t0 < {{token_tile}} ? n - t0 : {{token_tile}};
        for (int t = 0; t < a.n; t++) {
            const int8_t *x = a.xq + (size_t)t * {{x_stride}};
            for (int b = 0; b < {{blocks}}; b++)
                a.x_sum[t][b] = {{name}}_sum(x + b * {{cols_pad // blocks}}, {{cols_pad // blocks}});
            for (int sl = 0; sl < {{slabs}}; sl++)
                {{name}}_tables(a.table[t][sl], x + sl * 32);
        }
        parallel_for(s, {{groups}}, {{math.max(1, rows_per_task // 16)}}, {{name}}_rows, &a);
    }
}
