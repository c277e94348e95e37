//@ -- x86 SIMD attention for avx2 (8 lanes) and avx512 (16 lanes: isa.lua searches avx512/, then
//@ -- avx2/).  The ISA's vector primitives come first, each set guarded so that several instances
//@ -- can share one file; the kernel below is written once against them.  Parameters: gen/attention.lua.
//@ local L, G, HD, HDP, NKV = lanes, group, head_dim, hd_pad, n_kv_heads
//@ local RP, KVT, DT = r_pad, kv_tile, decode_tile
//@ local function round_up(x, m) return (x + m - 1) // m * m end
//@ local CT = kv_type == "f16" and "uint16_t" or "float"
//@ local load_kv = kv_type == "f16" and "attn_load_f16" or "attn_loadu"
//@ -- 2^f on [-1/2, 1/2]: Taylor coefficients ln(2)^k / k!, relative error below 2e-7
//@ local exp2_c, fact = {}, 1
//@ for k = 0, 6 do exp2_c[k] = math.log(2) ^ k / fact; fact = fact * (k + 1) end
//@ if L == 16 then
#ifndef RYOT_ATTENTION_AVX512
#define RYOT_ATTENTION_AVX512
/* Vector primitives of the attention kernels, 16 lanes (AVX-512). */
typedef __m512 attn_vec;
static inline attn_vec attn_zero(void) { return _mm512_setzero_ps(); }
static inline attn_vec attn_set1(float x) { return _mm512_set1_ps(x); }
static inline attn_vec attn_load(const float *p) { return _mm512_load_ps(p); }
static inline attn_vec attn_loadu(const float *p) { return _mm512_loadu_ps(p); }
static inline void attn_store(float *p, attn_vec v) { _mm512_store_ps(p, v); }
static inline attn_vec attn_add(attn_vec a, attn_vec b) { return _mm512_add_ps(a, b); }
static inline attn_vec attn_sub(attn_vec a, attn_vec b) { return _mm512_sub_ps(a, b); }
static inline attn_vec attn_mul(attn_vec a, attn_vec b) { return _mm512_mul_ps(a, b); }
/* NaN in b propagates (the second operand wins when either is NaN) */
static inline attn_vec attn_max(attn_vec a, attn_vec b) { return _mm512_max_ps(a, b); }
static inline attn_vec attn_fma(attn_vec a, attn_vec b, attn_vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline float attn_hmax(attn_vec v) { return _mm512_reduce_max_ps(v); }
static inline float attn_hsum(attn_vec v) { return _mm512_reduce_add_ps(v); }
/* lanes from n on replaced by x */
static inline attn_vec attn_first_n(attn_vec v, int n, float x)
{
    return _mm512_mask_blend_ps((__mmask16)((1u << n) - 1), _mm512_set1_ps(x), v);
}
/* -infinity in the lanes whose query position is before `key` */
static inline attn_vec attn_mask_future(attn_vec s, attn_vec qpos, float key)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(qpos, _mm512_set1_ps(key), _CMP_LT_OQ), s,
                                _mm512_set1_ps(-INFINITY));
}
/* 2^x for x <= 0; exactly 0 below -126.5 (so -infinity gives 0) */
static inline attn_vec attn_exp2(attn_vec x)
{
    x = _mm512_max_ps(_mm512_set1_ps(-127.0f), x);
    const attn_vec n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const attn_vec f = _mm512_sub_ps(x, n);
    attn_vec p = _mm512_set1_ps({{exp2_c[6]}}f);
//@ for k = 5, 0, -1 do
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps({{exp2_c[k]}}f));
//@ end
    /* 2^n from the exponent bits; n = -127 gives +0 */
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}
/* Lane i = sum of the lanes of vector i, for the 16 vectors at `red`. */
static inline attn_vec attn_sum_lanes(const float *red)
{
    /* pairs: lanes {x, y, x, y} of each 128-bit quarter */
//@ for i = 0, 7 do
    const attn_vec x{{i}} = _mm512_load_ps(red + {{32 * i}}), y{{i}} = _mm512_load_ps(red + {{32 * i + 16}});
    const __m512d a{{i}} = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(x{{i}}, y{{i}}), _mm512_unpackhi_ps(x{{i}}, y{{i}})));
//@ end
    /* fours: one lane per vector in each quarter */
//@ for i = 0, 3 do
    const attn_vec b{{i}} = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a{{2 * i}}, a{{2 * i + 1}})),
                                    _mm512_castpd_ps(_mm512_unpackhi_pd(a{{2 * i}}, a{{2 * i + 1}})));
//@ end
    /* add the quarters pairwise, twice */
//@ for i = 0, 1 do
    const attn_vec c{{i}} = _mm512_add_ps(_mm512_shuffle_f32x4(b{{2 * i}}, b{{2 * i + 1}}, 0x88),
                                    _mm512_shuffle_f32x4(b{{2 * i}}, b{{2 * i + 1}}, 0xdd));
//@ end
    return _mm512_add_ps(_mm512_shuffle_f32x4(c0, c1, 0x88), _mm512_shuffle_f32x4(c0, c1, 0xdd));
}
#endif
//@ else
#ifndef RYOT_ATTENTION_AVX2
#define RYOT_ATTENTION_AVX2
/* Vector primitives of the attention kernels, 8 lanes (AVX2, FMA, F16C). */
typedef __m256 attn_vec;
static inline attn_vec attn_zero(void) { return _mm256_setzero_ps(); }
static inline attn_vec attn_set1(float x) { return _mm256_set1_ps(x); }
static inline attn_vec attn_load(const float *p) { return _mm256_load_ps(p); }
static inline attn_vec attn_loadu(const float *p) { return _mm256_loadu_ps(p); }
/* all-ones in lanes 0..n-1 */
static inline __m256i attn_lanes_below(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline void attn_store(float *p, attn_vec v) { _mm256_store_ps(p, v); }
static inline attn_vec attn_add(attn_vec a, attn_vec b) { return _mm256_add_ps(a, b); }
static inline attn_vec attn_sub(attn_vec a, attn_vec b) { return _mm256_sub_ps(a, b); }
static inline attn_vec attn_mul(attn_vec a, attn_vec b) { return _mm256_mul_ps(a, b); }
/* NaN in b propagates (the second operand wins when either is NaN) */
static inline attn_vec attn_max(attn_vec a, attn_vec b) { return _mm256_max_ps(a, b); }
static inline attn_vec attn_fma(attn_vec a, attn_vec b, attn_vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline float attn_hmax(attn_vec v)
{
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_max_ss(x, _mm_movehdup_ps(x)));
}
static inline float attn_hsum(attn_vec v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_movehdup_ps(x)));
}
/* lanes from n on replaced by x */
static inline attn_vec attn_first_n(attn_vec v, int n, float x)
{
    return _mm256_blendv_ps(_mm256_set1_ps(x), v, _mm256_castsi256_ps(attn_lanes_below(n)));
}
/* -infinity in the lanes whose query position is before `key` */
static inline attn_vec attn_mask_future(attn_vec s, attn_vec qpos, float key)
{
    return _mm256_blendv_ps(s, _mm256_set1_ps(-INFINITY), _mm256_cmp_ps(qpos, _mm256_set1_ps(key), _CMP_LT_OQ));
}
/* 2^x for x <= 0; exactly 0 below -126.5 (so -infinity gives 0) */
static inline attn_vec attn_exp2(attn_vec x)
{
    x = _mm256_max_ps(_mm256_set1_ps(-127.0f), x);
    const attn_vec n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const attn_vec f = _mm256_sub_ps(x, n);
    attn_vec p = _mm256_set1_ps({{exp2_c[6]}}f);
//@ for k = 5, 0, -1 do
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps({{exp2_c[k]}}f));
//@ end
    /* 2^n from the exponent bits; n = -127 gives +0 */
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
/* Lane i = sum of the lanes of vector i, for the 8 vectors at `red`. */
static inline attn_vec attn_sum_lanes(const float *red)
{
    /* pairs: lanes {x, y, x, y} of each 128-bit half */
//@ for i = 0, 3 do
    const attn_vec x{{i}} = _mm256_load_ps(red + {{16 * i}}), y{{i}} = _mm256_load_ps(red + {{16 * i + 8}});
    const __m256d a{{i}} = _mm256_castps_pd(_mm256_add_ps(_mm256_unpacklo_ps(x{{i}}, y{{i}}), _mm256_unpackhi_ps(x{{i}}, y{{i}})));
//@ end
    /* fours: one lane per vector in each half */
//@ for i = 0, 1 do
    const attn_vec b{{i}} = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(a{{2 * i}}, a{{2 * i + 1}})),
                                    _mm256_castpd_ps(_mm256_unpackhi_pd(a{{2 * i}}, a{{2 * i + 1}})));
//@ end
    return _mm256_add_ps(_mm256_permute2f128_ps(b0, b1, 0x20), _mm256_permute2f128_ps(b0, b1, 0x31));
}
#endif
//@ end
//@ if kv_type == "f16" then
#ifndef RYOT_ATTENTION_F16_{{L}}
#define RYOT_ATTENTION_F16_{{L}}
/* f16 cache rows <-> f32 vectors (round to nearest even) */
//@   if L == 16 then
static inline attn_vec attn_load_f16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline void attn_store_f16(uint16_t *p, attn_vec v)
{
    _mm256_storeu_si256((__m256i *)p, _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
//@   else
static inline attn_vec attn_load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static inline void attn_store_f16(uint16_t *p, attn_vec v)
{
    _mm_storeu_si128((__m128i *)p, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
//@   end
#endif
//@ end

/* Causal flash attention (FlashAttention-2 style, {{L}}-lane vectors): {{n_heads}} query heads
 * over {{NKV}} KV heads of width {{HD}}, {{kv_type}} cache of {{seq_len}} positions.
 *
 * k_new and v_new (n rows) are first stored into the cache at positions
 * pos..pos+n-1; query i then sees positions 0..pos+i.  A task takes "rows",
 * the (query position, query head) pairs of one KV head's group, against a
 * range of cache positions, one tile at a time ({{KVT}} positions, {{DT}} when
 * decoding): the tile's scores, an online softmax (running max m and sum l
 * in base-2 units; the output accumulator is rescaled by 2^(m_old - m_new)),
 * then P.V.  Only one tile of scores ever exists, so scratch does not grow
 * with the context.
 *
 * Prefill tasks are (KV head, {{q_tile}} query positions = {{rows}} rows).  Rows lie
 * along the vector lanes: the query tile is transposed once, so scores,
 * softmax and the causal mask are plain vertical vector operations over a
 * [key][row] tile ({{score_keys}} keys x {{score_rvecs}} row vectors of registers),
 * and P.V runs {{pv_rows}} rows x {{pv_dvecs}} vectors of head_dim.
 * Decode (n = 1) has only {{G}} rows, so head_dim lies along the lanes: each
 * cache row's dot products are reduced {{L}} rows at a time with a transpose.
 * The context is split over tasks (flash-decoding, below) and the partial
 * results merged. */
struct {{name}}_args {
    float *out;
    const float *q;
    const {{CT}} *k, *v;  /* this layer's cache */
    unsigned char *scratch;
    int pos, n;
    int segments, seg_len;  /* decode: (KV head, position) pairs per task */
};

/* Vector c of a cache row, lanes past head_dim zero. */
static inline attn_vec {{name}}_row_vec(const {{CT}} *row, int c)
{
//@ if hd_tail == 0 then
    return {{load_kv}}(row + c * {{L}});
//@ else
    const {{CT}} *p = row + c * {{L}};
    if (c < {{hd_vecs - 1}})
        return {{load_kv}}(p);
    /* the last {{hd_tail}} elements */
//@   if L == 16 then
//@     if kv_type == "f16" then
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16({{(1 << hd_tail) - 1}}, p));
//@     else
    return _mm512_maskz_loadu_ps({{(1 << hd_tail) - 1}}, p);
//@     end
//@   elseif kv_type == "f16" then
    uint16_t part[8] = { 0 };
    memcpy(part, p, sizeof(uint16_t) * {{hd_tail}});
    return attn_load_f16(part);
//@   else
    return _mm256_maskload_ps(p, attn_lanes_below({{hd_tail}}));
//@   end
//@ end
}

/* k_new or v_new rows into the cache at pos..pos+n-1. */
static void {{name}}_store(const float *restrict src, {{CT}} *restrict cache, int pos, int n)
{
    for (int t = 0; t < n; t++)
        for (int h = 0; h < {{NKV}}; h++) {
            const float *x = src + ((size_t)t * {{NKV}} + h) * {{HD}};
            {{CT}} *dst = cache + (size_t)h * {{cache_head_stride}} + (size_t)(pos + t) * {{HD}};
//@ if kv_type == "f16" then
            int d = 0;
            for (; d + {{L}} <= {{HD}}; d += {{L}})
                attn_store_f16(dst + d, attn_loadu(x + d));
            for (; d < {{HD}}; d++)
                dst[d] = f32_to_f16(x[d]);
//@ else
            memcpy(dst, x, {{HD}} * sizeof(float));
//@ end
        }
}

/* Normalized output of `rows` rows (queries from i0) of KV head h. */
static void {{name}}_finish(const struct {{name}}_args *a, const float *o, const float *l, int h, int i0, int rows)
{
    for (int r = 0; r < rows; r++) {
        float *dst = a->out + (size_t)(i0 + r / {{G}}) * {{n_heads * HD}} + (size_t)(h * {{G}} + r % {{G}}) * {{HD}};
        const float inv = 1.0f / l[r];
        for (int d = 0; d < {{HD}}; d++)
            dst[d] = o[r * {{HDP}} + d] * inv;
    }
}

/* ---- prefill ---- */

/* Query tile of KV head h, transposed to qt[d][row] and scaled so scores
 * come out in base-2 units; qpos[row] = the last position the row sees
 * (+infinity for padding rows, which are never masked). */
static void {{name}}_load_queries(const struct {{name}}_args *a, float *restrict qt, float *restrict qpos,
                                  int h, int i0, int nq)
{
    for (int r = 0; r < {{RP}}; r++) {
        if (r < nq * {{G}}) {
            const float *src = a->q + (size_t)(i0 + r / {{G}}) * {{n_heads * HD}} + (size_t)(h * {{G}} + r % {{G}}) * {{HD}};
            for (int d = 0; d < {{HD}}; d++)
                qt[d * {{RP}} + r] = src[d] * {{score_scale}}f;
            qpos[r] = (float)(a->pos + i0 + r / {{G}});
        } else {
            for (int d = 0; d < {{HD}}; d++)
                qt[d * {{RP}} + r] = 0.0f;
            qpos[r] = INFINITY;
        }
    }
}

/* `jn` cache rows as f32 rows of {{HDP}}, then zero rows up to `rows`. */
static void {{name}}_load_tile(float *restrict dst, const {{CT}} *restrict src, int jn, int rows)
{
    for (int j = 0; j < jn; j++)
        for (int c = 0; c < {{hd_vecs}}; c++)
            attn_store(dst + j * {{HDP}} + c * {{L}}, {{name}}_row_vec(src + (size_t)j * {{HD}}, c));
    for (int j = jn; j < rows; j++)
        for (int c = 0; c < {{hd_vecs}}; c++)
            attn_store(dst + j * {{HDP}} + c * {{L}}, attn_zero());
}

/* st[key][row] = K row . Q^T column for {{score_keys}} keys x {{score_rvecs}} row vectors. */
static inline void {{name}}_score_block(float *restrict st, const float *restrict kt, const float *restrict qt)
{
//@ for a = 0, score_keys - 1 do for b = 0, score_rvecs - 1 do
    attn_vec s{{a}}_{{b}} = attn_zero();
//@ end end
    for (int d = 0; d < {{HD}}; d++) {
//@ for b = 0, score_rvecs - 1 do
        const attn_vec q{{b}} = attn_load(qt + d * {{RP}} + {{b * L}});
//@ end
//@ for a = 0, score_keys - 1 do
        const attn_vec k{{a}} = attn_set1(kt[{{a * HDP}} + d]);
//@   for b = 0, score_rvecs - 1 do
        s{{a}}_{{b}} = attn_fma(k{{a}}, q{{b}}, s{{a}}_{{b}});
//@   end
//@ end
    }
//@ for a = 0, score_keys - 1 do for b = 0, score_rvecs - 1 do
    attn_store(st + {{a * RP + b * L}}, s{{a}}_{{b}});
//@ end end
}

/* Causal mask and online softmax of a score tile, vertically over keys:
 * scores become probabilities, m and l are updated, corr = 2^(m_old - m_new). */
static void {{name}}_softmax_tile(float *restrict st, float *restrict m, float *restrict l, float *restrict corr,
                                  const float *restrict qpos, int j0, int jn, int q_first)
{
    /* keys up to the tile's first query are visible to every row */
    const int masked_from = q_first - j0 + 1 > 0 ? q_first - j0 + 1 : 0;
    for (int rv = 0; rv < {{r_vecs}}; rv++) {
        float *s = st + rv * {{L}};
        const attn_vec qp = attn_load(qpos + rv * {{L}});
        for (int j = masked_from; j < jn; j++)
            attn_store(s + j * {{RP}}, attn_mask_future(attn_load(s + j * {{RP}}), qp, (float)(j0 + j)));
        const attn_vec m_old = attn_load(m + rv * {{L}});
        attn_vec max = m_old;
        for (int j = 0; j < jn; j++)
            max = attn_max(max, attn_load(s + j * {{RP}}));
        attn_vec sum = attn_zero();
        for (int j = 0; j < jn; j++) {
            const attn_vec p = attn_exp2(attn_sub(attn_load(s + j * {{RP}}), max));
            attn_store(s + j * {{RP}}, p);
            sum = attn_add(sum, p);
        }
        const attn_vec c = attn_exp2(attn_sub(m_old, max));
        attn_store(corr + rv * {{L}}, c);
        attn_store(l + rv * {{L}}, attn_fma(attn_load(l + rv * {{L}}), c, sum));
        attn_store(m + rv * {{L}}, max);
    }
}

/* o = o * corr + P.V for {{pv_rows}} rows x {{pv_dvecs}} vectors of head_dim. */
static inline void {{name}}_pv_block(float *restrict o, const float *restrict st, const float *restrict vt,
                                     const float *restrict corr, int jn)
{
//@ for r = 0, pv_rows - 1 do for c = 0, pv_dvecs - 1 do
    attn_vec o{{r}}_{{c}} = attn_mul(attn_load(o + {{r * HDP + c * L}}), attn_set1(corr[{{r}}]));
//@ end end
    for (int j = 0; j < jn; j++) {
//@ for c = 0, pv_dvecs - 1 do
        const attn_vec v{{c}} = attn_load(vt + j * {{HDP}} + {{c * L}});
//@ end
//@ for r = 0, pv_rows - 1 do
        const attn_vec p{{r}} = attn_set1(st[j * {{RP}} + {{r}}]);
//@   for c = 0, pv_dvecs - 1 do
        o{{r}}_{{c}} = attn_fma(p{{r}}, v{{c}}, o{{r}}_{{c}});
//@   end
//@ end
    }
//@ for r = 0, pv_rows - 1 do for c = 0, pv_dvecs - 1 do
    attn_store(o + {{r * HDP + c * L}}, o{{r}}_{{c}});
//@ end end
}

static void {{name}}_prefill(void *ctx, size_t t0, size_t t1, int worker)
{
    const struct {{name}}_args *a = ctx;
    unsigned char *mine = a->scratch + {{scratch_shared_bytes}} + (size_t)worker * {{scratch_thread_bytes}};
    float *qt = (float *)(mine + {{scratch.qt}}), *qpos = (float *)(mine + {{scratch.qpos}});
    float *st = (float *)(mine + {{scratch.st}}), *kt = (float *)(mine + {{scratch.kt}});
    float *vt = (float *)(mine + {{scratch.vt}}), *o = (float *)(mine + {{scratch.o}});
    float *m = (float *)(mine + {{scratch.m}}), *l = (float *)(mine + {{scratch.l}});
    float *corr = (float *)(mine + {{scratch.corr}});
    for (size_t t = t0; t < t1; t++) {
        const int h = (int)(t % {{NKV}}), i0 = (int)(t / {{NKV}}) * {{q_tile}};
        const int nq = a->n - i0 < {{q_tile}} ? a->n - i0 : {{q_tile}};
        const {{CT}} *k = a->k + (size_t)h * {{cache_head_stride}}, *v = a->v + (size_t)h * {{cache_head_stride}};
        {{name}}_load_queries(a, qt, qpos, h, i0, nq);
        for (int r = 0; r < {{RP}}; r++) {
            m[r] = -1e30f;  /* finite, so 2^(m_old - m_new) is 0 rather than NaN */
            l[r] = 0.0f;
        }
        for (int i = 0; i < {{RP * HDP}}; i += {{L}})
            attn_store(o + i, attn_zero());
        const int q_first = a->pos + i0, kv_end = q_first + nq;
        for (int j0 = 0; j0 < kv_end; j0 += {{KVT}}) {
            const int jn = kv_end - j0 < {{KVT}} ? kv_end - j0 : {{KVT}};
            {{name}}_load_tile(kt, k + (size_t)j0 * {{HD}}, jn, (jn + {{score_keys - 1}}) / {{score_keys}} * {{score_keys}});
            {{name}}_load_tile(vt, v + (size_t)j0 * {{HD}}, jn, jn);
            for (int rv = 0; rv < {{r_vecs}}; rv += {{score_rvecs}})
                for (int j = 0; j < jn; j += {{score_keys}})
                    {{name}}_score_block(st + j * {{RP}} + rv * {{L}}, kt + j * {{HDP}}, qt + rv * {{L}});
            {{name}}_softmax_tile(st, m, l, corr, qpos, j0, jn, q_first);
            for (int r = 0; r < {{RP}}; r += {{pv_rows}})
                for (int c = 0; c < {{hd_vecs}}; c += {{pv_dvecs}})
                    {{name}}_pv_block(o + r * {{HDP}} + c * {{L}}, st + r, vt + c * {{L}}, corr + r, jn);
        }
        {{name}}_finish(a, o, l, h, i0, nq * {{G}});
    }
}

/* ---- decode ---- */

/* sc[g][j] = scores of the group's queries qd against cache rows k[0..jn).
 * Each row's per-lane products go to red until {{L}} rows can be reduced at once. */
static void {{name}}_decode_scores(float *restrict sc, float *restrict red, const float *restrict qd,
                                   const {{CT}} *restrict k, int jn)
{
    for (int jb = 0; jb < jn; jb += {{L}}) {
        const int cnt = jn - jb < {{L}} ? jn - jb : {{L}};
        for (int g0 = 0; g0 < {{G}}; g0 += {{dec_score_rows}})
            for (int j = 0; j < cnt; j++) {
                const {{CT}} *row = k + (size_t)(jb + j) * {{HD}};
                const float *q = qd + g0 * {{HDP}};
//@ for g = 0, dec_score_rows - 1 do
                attn_vec s{{g}} = attn_zero();
//@ end
//@ for c = 0, hd_vecs - 1 do
                const attn_vec k{{c}} = {{name}}_row_vec(row, {{c}});
//@   for g = 0, dec_score_rows - 1 do
                s{{g}} = attn_fma(k{{c}}, attn_load(q + {{g * HDP + c * L}}), s{{g}});
//@   end
//@ end
//@ for g = 0, dec_score_rows - 1 do
                attn_store(red + ((g0 + {{g}}) * {{L}} + j) * {{L}}, s{{g}});
//@ end
            }
        /* lanes from cnt on are stale; the softmax never looks at them */
        for (int g = 0; g < {{G}}; g++)
            attn_store(sc + g * {{DT}} + jb, attn_sum_lanes(red + g * {{L * L}}));
    }
}

/* Online softmax of each query head's scores sc[g][0..jn), horizontally.
 * The running sums stay per lane in lsum[g] until the range is done, and
 * the rescale factors of all heads take one vector exp2. */
static void {{name}}_decode_softmax(float *restrict sc, float *restrict m, float *restrict lsum, float *restrict corr,
                                    int jn)
{
    const int full = jn / {{L}} * {{L}}, tail = jn - full;
    for (int g = 0; g < {{G}}; g++) {  /* new maxima; corr = m_old - m_new for now */
        const float *s = sc + g * {{DT}};
        attn_vec max = attn_set1(m[g]);
        for (int j = 0; j < full; j += {{L}})
            max = attn_max(max, attn_load(s + j));
        if (tail)
            max = attn_max(max, attn_first_n(attn_load(s + full), tail, -INFINITY));
        const float m_new = attn_hmax(max);
        corr[g] = m[g] - m_new;
        m[g] = m_new;
    }
    for (int g = 0; g < {{G}}; g += {{L}})
        attn_store(corr + g, attn_exp2(attn_load(corr + g)));
    for (int g = 0; g < {{G}}; g++) {
        float *s = sc + g * {{DT}};
        const attn_vec mv = attn_set1(m[g]);
        attn_vec sum = attn_mul(attn_load(lsum + g * {{L}}), attn_set1(corr[g]));
        for (int j = 0; j < full; j += {{L}}) {
            const attn_vec p = attn_exp2(attn_sub(attn_load(s + j), mv));
            attn_store(s + j, p);
            sum = attn_add(sum, p);
        }
        if (tail) {
            const attn_vec p = attn_first_n(attn_exp2(attn_sub(attn_load(s + full), mv)), tail, 0.0f);
            attn_store(s + full, p);
            sum = attn_add(sum, p);
        }
        attn_store(lsum + g * {{L}}, sum);
    }
}

/* o = o * corr + P.V for {{dec_pv_rows}} query heads x {{pv_dvecs}} vectors of head_dim from vector c0,
 * V read straight from the cache rows v[0..jn). */
static inline void {{name}}_decode_pv_block(float *restrict o, const float *restrict p, const {{CT}} *restrict v,
                                            const float *restrict corr, int jn, int c0)
{
//@ for r = 0, dec_pv_rows - 1 do for c = 0, pv_dvecs - 1 do
    attn_vec o{{r}}_{{c}} = attn_mul(attn_load(o + {{r * HDP + c * L}}), attn_set1(corr[{{r}}]));
//@ end end
    for (int j = 0; j < jn; j++) {
//@ for c = 0, pv_dvecs - 1 do
        const attn_vec v{{c}} = {{name}}_row_vec(v + (size_t)j * {{HD}}, c0 + {{c}});
//@ end
//@ for r = 0, dec_pv_rows - 1 do
        const attn_vec p{{r}} = attn_set1(p[{{r * DT}} + j]);
//@   for c = 0, pv_dvecs - 1 do
        o{{r}}_{{c}} = attn_fma(p{{r}}, v{{c}}, o{{r}}_{{c}});
//@   end
//@ end
    }
//@ for r = 0, dec_pv_rows - 1 do for c = 0, pv_dvecs - 1 do
    attn_store(o + {{r * HDP + c * L}}, o{{r}}_{{c}});
//@ end end
}

/* Attend the {{G}} query heads of KV head h to cache positions [j_begin, j_end):
 * unnormalized output o, running max m and sum l in scratch. */
static void {{name}}_decode_range(const struct {{name}}_args *a, unsigned char *mine, int h, int j_begin, int j_end)
{
    float *qd = (float *)(mine + {{scratch.qd}}), *sc = (float *)(mine + {{scratch.st}});
    float *red = (float *)(mine + {{scratch.red}}), *o = (float *)(mine + {{scratch.o}});
    float *m = (float *)(mine + {{scratch.m}}), *l = (float *)(mine + {{scratch.l}});
    float *lsum = (float *)(mine + {{scratch.lsum}}), *corr = (float *)(mine + {{scratch.corr}});
    const {{CT}} *k = a->k + (size_t)h * {{cache_head_stride}}, *v = a->v + (size_t)h * {{cache_head_stride}};
    for (int g = 0; g < {{G}}; g++) {
        const float *src = a->q + (size_t)(h * {{G}} + g) * {{HD}};
        /* separate loops of fixed length, so they vectorize: this runs per range */
        for (int d = 0; d < {{HD}}; d++)
            qd[g * {{HDP}} + d] = src[d] * {{score_scale}}f;
//@ if HDP > HD then
        for (int d = {{HD}}; d < {{HDP}}; d++)
            qd[g * {{HDP}} + d] = 0.0f;
//@ end
        for (int d = 0; d < {{HDP}}; d++)
            o[g * {{HDP}} + d] = 0.0f;
        m[g] = -1e30f;  /* finite, so 2^(m_old - m_new) is 0 rather than NaN */
        attn_store(lsum + g * {{L}}, attn_zero());
    }
    for (int g = {{G}}; g < {{round_up(G, L)}}; g++)
        corr[g] = 0.0f;  /* lanes past the group, exponentiated along */
    /* small tiles: K and V stream in turns of a few KB, and stay in L1 */
    for (int j0 = j_begin; j0 < j_end; j0 += {{DT}}) {
        const int jn = j_end - j0 < {{DT}} ? j_end - j0 : {{DT}};
        /* the next tile's K and V rows meanwhile: each tile is a few KB
         * from two streams, too short for the hardware prefetchers to ramp
         * up on, and decode reads the cache from memory (the weights
         * streamed since evicted it) */
        if (j0 + {{DT}} < j_end) {
            const int next = j_end - j0 - {{DT}} < {{DT}} ? j_end - j0 - {{DT}} : {{DT}};
            const char *kn = (const char *)(k + (size_t)(j0 + {{DT}}) * {{HD}});
            const char *vn = (const char *)(v + (size_t)(j0 + {{DT}}) * {{HD}});
            for (size_t off = 0; off < (size_t)next * {{HD}} * sizeof({{CT}}); off += 64) {
                _mm_prefetch(kn + off, _MM_HINT_T0);
                _mm_prefetch(vn + off, _MM_HINT_T0);
            }
        }
        {{name}}_decode_scores(sc, red, qd, k + (size_t)j0 * {{HD}}, jn);
        {{name}}_decode_softmax(sc, m, lsum, corr, jn);
        for (int g = 0; g < {{G}}; g += {{dec_pv_rows}})
            for (int c = 0; c < {{hd_vecs}}; c += {{pv_dvecs}})
                {{name}}_decode_pv_block(o + g * {{HDP}} + c * {{L}}, sc + g * {{DT}}, v + (size_t)j0 * {{HD}},
                                         corr + g, jn, c);
    }
    for (int g = 0; g < {{G}}; g++)
        l[g] = attn_hsum(attn_load(lsum + g * {{L}}));
}

/* Flash-decoding: the step's {{NKV}} x (pos + 1) (KV head, position) pairs are
 * cut into equal segments, about 4 per thread so the threads finish together
 * whatever the number of KV heads, none shorter than {{split_min}} pairs, at
 * most {{max_tasks}}.  A KV head that lies within one segment is finished
 * there; the parts of a head that segments share are merged afterwards.  The
 * part of head h in segment t has partials slot h + t: walking the pairs in
 * order, each new part moves to the next head, the next segment or both. */
static void {{name}}_plan_segments(struct {{name}}_args *a, int threads)
{
    const int pairs = {{NKV}} * (a->pos + 1);
    int tasks = 4 * threads;
    if (tasks > {{max_tasks}})
        tasks = {{max_tasks}};
    if (tasks > (pairs + {{split_min - 1}}) / {{split_min}})
        tasks = (pairs + {{split_min - 1}}) / {{split_min}};
    a->seg_len = (pairs + tasks - 1) / tasks;
    a->segments = (pairs + a->seg_len - 1) / a->seg_len;
}

static void {{name}}_decode(void *ctx, size_t t0, size_t t1, int worker)
{
    const struct {{name}}_args *a = ctx;
    unsigned char *mine = a->scratch + {{scratch_shared_bytes}} + (size_t)worker * {{scratch_thread_bytes}};
    const float *o = (const float *)(mine + {{scratch.o}});
    const float *m = (const float *)(mine + {{scratch.m}}), *l = (const float *)(mine + {{scratch.l}});
    const int n_ctx = a->pos + 1, pairs = {{NKV}} * n_ctx;
    for (size_t t = t0; t < t1; t++) {
        const int begin = (int)t * a->seg_len, end = pairs - begin < a->seg_len ? pairs : begin + a->seg_len;
        for (int h = begin / n_ctx; h * n_ctx < end; h++) {
            const int j_begin = begin > h * n_ctx ? begin - h * n_ctx : 0;
            const int j_end = end < (h + 1) * n_ctx ? end - h * n_ctx : n_ctx;
            {{name}}_decode_range(a, mine, h, j_begin, j_end);
            if (j_begin == 0 && j_end == n_ctx) {
                {{name}}_finish(a, o, l, h, 0, {{G}});
                continue;
            }
            const size_t slot = ((size_t)h + t) * {{G}};
            memcpy((float *)(a->scratch + {{partials.o}}) + slot * {{HDP}}, o, {{G}} * {{HDP}} * sizeof(float));
            memcpy((float *)(a->scratch + {{partials.m}}) + slot, m, {{G}} * sizeof(float));
            memcpy((float *)(a->scratch + {{partials.l}}) + slot, l, {{G}} * sizeof(float));
        }
    }
}

/* Combine the parts of every shared KV head: weights 2^(m_part - m_max). */
static void {{name}}_merge(const struct {{name}}_args *a)
{
    const float *po = (const float *)(a->scratch + {{partials.o}});
    const float *pm = (const float *)(a->scratch + {{partials.m}}), *pl = (const float *)(a->scratch + {{partials.l}});
    const int n_ctx = a->pos + 1;
    for (int h = 0; h < {{NKV}}; h++) {
        const int first = h * n_ctx / a->seg_len, last = ((h + 1) * n_ctx - 1) / a->seg_len;
        if (first == last)
            continue;  /* finished by its segment */
        for (int g = 0; g < {{G}}; g++) {
            float *dst = a->out + (size_t)(h * {{G}} + g) * {{HD}};
            float max = -INFINITY, sum = 0.0f;
            for (int t = first; t <= last; t++)
                max = fmaxf(max, pm[(h + t) * {{G}} + g]);
            for (int d = 0; d < {{HD}}; d++)
                dst[d] = 0.0f;
            for (int t = first; t <= last; t++) {
                const size_t slot = (size_t)(h + t) * {{G}} + g;
                const float w = exp2f(pm[slot] - max);
                sum += w * pl[slot];
                for (int d = 0; d < {{HD}}; d++)
                    dst[d] += w * po[slot * {{HDP}} + d];
            }
            for (int d = 0; d < {{HD}}; d++)
                dst[d] /= sum;
        }
    }
}

void {{name}}(struct sched *s, float *restrict out, const float *restrict q, const float *restrict k_new,
              const float *restrict v_new, void *restrict k_cache, void *restrict v_cache, void *restrict scratch,
              int pos, int n)
{
    {{name}}_store(k_new, k_cache, pos, n);
    {{name}}_store(v_new, v_cache, pos, n);
    struct {{name}}_args a = { out, q, k_cache, v_cache, scratch, pos, n, 0, 0 };
    if (n > 1) {
        parallel_for(s, (size_t){{NKV}} * ((n + {{q_tile - 1}}) / {{q_tile}}), 1, {{name}}_prefill, &a);
        return;
    }
    {{name}}_plan_segments(&a, sched_threads(s));
    parallel_for(s, (size_t)a.segments, 1, {{name}}_decode, &a);
    {{name}}_merge(&a);
}
