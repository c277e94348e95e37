//@ local P = ({ code2 = 4, code4 = 2, trit5 = 5, code6 = 4 })[encoding]
//@ local code6 = encoding == "code6"
//@ -- bytes of a slab (code6: 3 vectors), activation sums per scale block or per sub-block (code6)
//@ local SB = slab_bytes
//@ local x_blocks, x_block_cols = code6 and subs or blocks, code6 and sub or (per_tensor and cols_pad or sb)
//@ local unit = per_tensor and slab_cols or sb
//@ local kc = math.max(unit, k_chunk // unit * unit)
//@ local block_cols = per_tensor and cols_pad or sb
//@ assert(rg == 8, name .. ": the AVX2 mad kernel reads rg=8 slabs")
//@ local tail_rows = rows - (groups - 1) * 8
/* out[n][{{rows}}] = x . W^T with W {{wtype}} in {{encoding}} codes (layout
 * "{{layout}}", gen/lowbit.lua) and x int8 per token, AVX2.
 * A 32-byte slab is 8 rows x 4 bytes; unpacking plane j gives the codes
 * u = w + {{offset}} of 8 rows x 4 columns, whose dot products with 4
 * broadcast activations vpmaddubsw + vpmaddwd accumulate per row (int32 lanes = rows).
 * GEMV (1 token) streams the packed weights once, {{gemv_groups}} row groups at a
 * time sharing each broadcast.  GEMM unpacks {{gemm_groups}} row groups x {{kc}} columns
 * once into a buffer and runs a {{gemm_groups}} x 8 rows by {{gemm_tokens}} tokens tile of
 * accumulators over it, for passes of up to {{token_tile}} tokens.  Integer sums
 * are exact; {{per_tensor and "the tensor's scale" or "each block of " .. sb .. " columns' f16 scale"}} is applied
 * as the kernel contract says (see tests/lowbit_check.h).
//@ if code6 then
 * int6: a slab is 3 vectors (gen/lowbit.lua) and one sub-block of 16
 * columns; its int32 sum, less 32 * sum(x), times the rows' int8 sub-scales
 * adds into the super-block's int32 sum (at most 2^27 in magnitude).
//@ end
 */
//@ assert(encoding ~= "trit5", name .. ": trit5 needs VBMI byte permutes; AVX2 reads code2")
//@ if code6 then

/* the low nibbles of planes 0, 1 and 2, 3; the high 2 bits of all four */
struct {{name}}_slab { __m256i lo01, lo23, hi; };

static inline __attribute__((always_inline)) struct {{name}}_slab {{name}}_load(const uint8_t *p)
{
    struct {{name}}_slab s = { _mm256_loadu_si256((const void *)p), _mm256_loadu_si256((const void *)(p + 32)),
                               _mm256_loadu_si256((const void *)(p + 64)) };
    return s;
}

/* codes of plane j: its nibble | its 2 high bits moved to bits 4, 5 (the
 * 16-bit shifts bring neighbouring bits into places the masks clear) */
static inline __attribute__((always_inline)) __m256i {{name}}_plane(struct {{name}}_slab s, int j)
{
    const __m256i lo = j < 2 ? s.lo01 : s.lo23;
    const __m256i nibble = j % 2 ? _mm256_srli_epi16(lo, 4) : lo;
    const __m256i high = j == 0 ? _mm256_slli_epi16(s.hi, 4) : j == 1 ? _mm256_slli_epi16(s.hi, 2)
                       : j == 2 ? s.hi : _mm256_srli_epi16(s.hi, 2);
    return _mm256_or_si256(_mm256_and_si256(nibble, _mm256_set1_epi8(0x0f)), _mm256_and_si256(high, _mm256_set1_epi8(0x30)));
}
//@ else

struct {{name}}_slab { __m256i bytes; };

static inline __attribute__((always_inline)) struct {{name}}_slab {{name}}_load(const uint8_t *p)
{
    struct {{name}}_slab s = { _mm256_loadu_si256((const void *)p) };
    return s;
}

/* codes of plane j: bit field j of every byte */
static inline __attribute__((always_inline)) __m256i {{name}}_plane(struct {{name}}_slab s, int j)
{
//@   local width = encoding == "code2" and 2 or 4
    return _mm256_and_si256(_mm256_srli_epi16(s.bytes, {{width}} * j), _mm256_set1_epi8({{(1 << width) - 1}}));
}
//@ end

/* acc += per 32-bit lane: sum of 4 u8 codes x 4 s8 activations */
static inline __attribute__((always_inline)) __m256i {{name}}_dot(__m256i acc, __m256i u, __m256i x)
{
    /* u <= 63, so the int16 pair sums (at most 2 * 63 * 128) cannot saturate */
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1)));
}

static inline __m256i {{name}}_bcast(const int8_t *x)
{
    int32_t v;
    memcpy(&v, x, 4);
    return _mm256_set1_epi32(v);
}

/* sum of n int8 (n a multiple of 4) */
static int32_t {{name}}_sum(const int8_t *x, int n)
{
    __m256i acc = _mm256_setzero_si256();
    int c = 0;
    for (; c + 32 <= n; c += 32)
        acc = {{name}}_dot(acc, _mm256_set1_epi8(1), _mm256_loadu_si256((const void *)(x + c)));
    __m128i half = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    half = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4e));
    half = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0xb1));
    int32_t sum = _mm_cvtsi128_si32(half);
    for (; c < n; c++)
        sum += x[c];
    return sum;
}

struct {{name}}_args {
    float *out;
    const uint8_t *w;
    const int8_t *xq;
    const float *x_scale;
    int n;
    int32_t x_sum[{{token_tile}}][{{x_blocks}}];  /* sum of x per token and {{code6 and "sub-block" or "scale block"}} */
};

/* 8 outputs of row group g (fewer in the last group) */
static inline void {{name}}_store(float *out, size_t g, __m256 v)
{
//@ if tail_rows < 8 then
    if (g == {{groups - 1}}) {
        _mm256_maskstore_ps(out + g * 8, _mm256_cmpgt_epi32(_mm256_set1_epi32({{tail_rows}}),
                                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), v);
        return;
    }
//@ end
    _mm256_storeu_ps(out + g * 8, v);
}

//@ if not per_tensor then
static inline __m256 {{name}}_scale(const uint8_t *w, size_t g, int b)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const void *)(w + {{scale_offset}} + ((g * {{blocks}} + b) * 8) * 2)));
}
//@ if code6 then

/* int8 sub-scales of row group g's sub-block k, as int32 */
static inline __m256i {{name}}_subscale(const uint8_t *w, size_t g, int k)
{
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const void *)(w + {{sub_offset}} + (g * {{subs}} + (size_t)k) * 8)));
}
//@ end

//@ end
/* GEMV over ng row groups from g: one pass over their slabs */
static inline __attribute__((always_inline)) void {{name}}_gemv_tile(const struct {{name}}_args *a, size_t g, int ng)
{
    const int8_t *x = a->xq;
    const uint8_t *w[{{gemv_groups}}];
    __m256i acc[{{gemv_groups}}];
//@ if not per_tensor then
    __m256 sum[{{gemv_groups}}];
//@ end
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++) {
        w[i] = a->w + (g + i) * {{slabs * SB}};
//@ if per_tensor then
        acc[i] = _mm256_setzero_si256();
//@ else
        sum[i] = _mm256_setzero_ps();
//@ end
    }
    for (int b = 0; b < {{blocks}}; b++) {
//@ if not per_tensor then
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++) {
            acc[i] = _mm256_setzero_si256();
//@   if gemv_prefetch > 0 then
            /* the scales are streams of their own, too sparse for the
             * hardware prefetchers: the tile ahead's, as for the codes */
            _mm_prefetch((const char *)(a->w + {{scale_offset}} + ((g + i + {{gemv_prefetch * gemv_groups}}) * {{blocks}} + (size_t)b) * {{2 * rg}}), _MM_HINT_T1);
//@   end
        }
//@ end
        for (int s = b * {{block_cols // slab_cols}}; s < (b + 1) * {{block_cols // slab_cols}}; s++) {
            struct {{name}}_slab slab[{{gemv_groups}}];
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
            {
                slab[i] = {{name}}_load(w[i] + s * {{SB}});
//@ if gemv_prefetch > 0 then
                /* the same slab of a tile {{gemv_prefetch}} ahead, into L2: the hardware
                 * prefetchers lose the streams at every tile change */
                _mm_prefetch((const char *)(w[i] + s * {{SB}} + {{gemv_prefetch * gemv_groups * slabs * SB}}), _MM_HINT_T1);
//@   if code6 then
                /* and its int8 sub-scales, a line per {{64 // rg}} slabs */
                if (s % {{64 // rg}} == 0)
                    _mm_prefetch((const char *)(a->w + {{sub_offset}} + ((g + i + {{gemv_prefetch * gemv_groups}}) * {{subs}} + (size_t)s) * {{rg}}), _MM_HINT_T1);
//@   end
//@ end
            }
//@ if code6 then
            __m256i part[{{gemv_groups}}];  /* the sub-block's sums */
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
                part[i] = _mm256_setzero_si256();
//@ end
#pragma GCC unroll {{P}}
            for (int j = 0; j < {{P}}; j++) {
                const __m256i xb = {{name}}_bcast(x + s * {{slab_cols}} + 4 * j);
#pragma GCC unroll {{gemv_groups}}
                for (int i = 0; i < ng; i++)
                    {{code6 and "part" or "acc"}}[i] = {{name}}_dot({{code6 and "part" or "acc"}}[i], {{name}}_plane(slab[i], j), xb);
            }
//@ if code6 then
            const __m256i corr = _mm256_set1_epi32({{offset}} * a->x_sum[0][s]);
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
                acc[i] = _mm256_add_epi32(acc[i], _mm256_mullo_epi32({{name}}_subscale(a->w, g + i, s),
                                                                     _mm256_sub_epi32(part[i], corr)));
//@ end
        }
//@ if code6 then
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++)
            sum[i] = _mm256_fmadd_ps({{name}}_scale(a->w, g + i, b), _mm256_cvtepi32_ps(acc[i]), sum[i]);
//@ elseif not per_tensor then
        const __m256i corr = _mm256_set1_epi32({{offset}} * a->x_sum[0][b]);
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++)
            sum[i] = _mm256_fmadd_ps({{name}}_scale(a->w, g + i, b),
                                     _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i], corr)), sum[i]);
//@ end
    }
//@ if per_tensor then
    float w_scale;
    memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
    const __m256 scale = _mm256_set1_ps(w_scale * a->x_scale[0]);
    const __m256i corr = _mm256_set1_epi32({{offset}} * a->x_sum[0][0]);
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
        {{name}}_store(a->out, g + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i], corr)), scale));
//@ else
    const __m256 xs = _mm256_set1_ps(a->x_scale[0]);
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
        {{name}}_store(a->out, g + i, _mm256_mul_ps(sum[i], xs));
//@ end
}

static void {{name}}_gemv(void *ctx, size_t g0, size_t g1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    size_t g = g0;
    for (; g + {{gemv_groups}} <= g1; g += {{gemv_groups}})
        {{name}}_gemv_tile(a, g, {{gemv_groups}});
    for (; g < g1; g++)
        {{name}}_gemv_tile(a, g, 1);
}

/* Unpack the codes of ng row groups from g, columns [c0, c0 + {{kc}}) (fewer at
 * the end), into buf: [group][4-column quad][8 rows x 4 bytes]. */
static inline __attribute__((always_inline)) void {{name}}_unpack(const uint8_t *w, size_t g, int ng, int c0, int cols,
                                                                  uint8_t *buf)
{
    for (int i = 0; i < ng; i++) {
        const uint8_t *slabs = w + (g + i) * {{slabs * SB}} + c0 / {{slab_cols}} * {{SB}};
        uint8_t *dst = buf + (size_t)i * {{kc * 8}};
        for (int s = 0; s < cols / {{slab_cols}}; s++) {
            const struct {{name}}_slab slab = {{name}}_load(slabs + s * {{SB}});
#pragma GCC unroll {{P}}
            for (int j = 0; j < {{P}}; j++)
                _mm256_store_si256((void *)(dst + (s * {{P}} + j) * 32), {{name}}_plane(slab, j));
        }
    }
}

/* acc[i][t] += unpacked quads [q0, q1) of group i . token t's activations */
static inline __attribute__((always_inline)) void {{name}}_micro(__m256i acc[][{{gemm_tokens}}], const uint8_t *buf,
                                                                 const int8_t *x, int ng, int nt, int q0, int q1, int c0)
{
    for (int qd = q0; qd < q1; qd++) {
        __m256i u[{{gemm_groups}}];
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
            u[i] = _mm256_load_si256((const void *)(buf + (size_t)i * {{kc * 8}} + qd * 32));
#pragma GCC unroll {{gemm_tokens}}
        for (int t = 0; t < nt; t++) {
            const __m256i xb = {{name}}_bcast(x + (size_t)t * {{x_stride}} + c0 + 4 * qd);
#pragma GCC unroll {{gemm_groups}}
            for (int i = 0; i < ng; i++)
                acc[i][t] = {{name}}_dot(acc[i][t], u[i], xb);
        }
    }
}

/* One tile of ng row groups x nt tokens over the unpacked chunk at c0. */
static inline __attribute__((always_inline)) void {{name}}_gemm_tile(const struct {{name}}_args *a, const uint8_t *buf,
                                                                     size_t g, int ng, int t0, int nt, int c0, int cols,
//@ if per_tensor then
                                                                     int32_t (*total)[{{gemm_groups * 8}}])
//@ else
                                                                     float (*total)[{{gemm_groups * 8}}])
//@ end
{
    __m256i acc[{{gemm_groups}}][{{gemm_tokens}}];
//@ if per_tensor then
    (void)g;  /* one scale for the tensor, applied after the last chunk */
#pragma GCC unroll {{gemm_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
        for (int t = 0; t < nt; t++)
            acc[i][t] = c0 == 0 ? _mm256_setzero_si256() : _mm256_load_si256((const void *)(total[t0 + t] + i * 8));
    {{name}}_micro(acc, buf, a->xq + (size_t)t0 * {{x_stride}}, ng, nt, 0, cols / 4, c0);
#pragma GCC unroll {{gemm_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
        for (int t = 0; t < nt; t++)
            _mm256_store_si256((void *)(total[t0 + t] + i * 8), acc[i][t]);
//@ else
    for (int b = 0; b < cols / {{sb}}; b++) {
        const int blk = c0 / {{sb}} + b;
        __m256i bsum[{{gemm_groups}}][{{gemm_tokens}}];  /* the block's integer sums, less {{offset}} * sum(x) */
//@   if code6 then
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++)
                bsum[i][t] = _mm256_setzero_si256();
        for (int k = 0; k < {{sb // sub}}; k++) {  /* sub-blocks, each times its int8 sub-scale */
            const int sub = blk * {{sb // sub}} + k;
#pragma GCC unroll {{gemm_groups}}
            for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
                for (int t = 0; t < nt; t++)
                    acc[i][t] = _mm256_setzero_si256();
            {{name}}_micro(acc, buf, a->xq + (size_t)t0 * {{x_stride}}, ng, nt, (b * {{sb}} + k * {{sub}}) / 4,
                           (b * {{sb}} + (k + 1) * {{sub}}) / 4, c0);
#pragma GCC unroll {{gemm_groups}}
            for (int i = 0; i < ng; i++) {
                const __m256i sc = {{name}}_subscale(a->w, g + i, sub);
#pragma GCC unroll {{gemm_tokens}}
                for (int t = 0; t < nt; t++) {
                    const __m256i corr = _mm256_set1_epi32({{offset}} * a->x_sum[t0 + t][sub]);
                    bsum[i][t] = _mm256_add_epi32(bsum[i][t], _mm256_mullo_epi32(sc, _mm256_sub_epi32(acc[i][t], corr)));
                }
            }
        }
//@   else
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++)
                acc[i][t] = _mm256_setzero_si256();
        {{name}}_micro(acc, buf, a->xq + (size_t)t0 * {{x_stride}}, ng, nt, b * {{sb // 4}}, (b + 1) * {{sb // 4}}, c0);
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++)
                bsum[i][t] = _mm256_sub_epi32(acc[i][t], _mm256_set1_epi32({{offset}} * a->x_sum[t0 + t][blk]));
//@   end
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++) {
            const __m256 d = {{name}}_scale(a->w, g + i, blk);
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++) {
                float *sum = total[t0 + t] + i * 8;
                _mm256_store_ps(sum, _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(bsum[i][t]), _mm256_load_ps(sum)));
            }
        }
    }
//@ end
}

static void {{name}}_gemm(void *ctx, size_t tile0, size_t tile1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    uint8_t buf[{{gemm_groups * kc * 8}}] __attribute__((aligned(64)));
//@ if per_tensor then
    int32_t total[{{token_tile}}][{{gemm_groups * 8}}] __attribute__((aligned(64)));
    float w_scale;
    memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
//@ else
    float total[{{token_tile}}][{{gemm_groups * 8}}] __attribute__((aligned(64)));
    memset(total, 0, sizeof total);
//@ end
    for (size_t tile = tile0; tile < tile1; tile++) {
        const size_t g = tile * {{gemm_groups}};
        const int ng = g + {{gemm_groups}} <= {{groups}} ? {{gemm_groups}} : (int)({{groups}} - g);
        for (int c0 = 0; c0 < {{cols_pad}}; c0 += {{kc}}) {
            const int cols = {{cols_pad}} - c0 < {{kc}} ? {{cols_pad}} - c0 : {{kc}};
            {{name}}_unpack(a->w, g, ng, c0, cols, buf);
            int t = 0;
            if (ng == {{gemm_groups}}) {
                for (; t + {{gemm_tokens}} <= a->n; t += {{gemm_tokens}})
                    {{name}}_gemm_tile(a, buf, g, {{gemm_groups}}, t, {{gemm_tokens}}, c0, cols, total);
                for (; t < a->n; t++)
                    {{name}}_gemm_tile(a, buf, g, {{gemm_groups}}, t, 1, c0, cols, total);
            } else {
                for (; t < a->n; t++)
                    {{name}}_gemm_tile(a, buf, g, 1, t, 1, c0, cols, total);
            }
        }
        for (int t = 0; t < a->n; t++)
            for (int i = 0; i < ng; i++) {
//@ if per_tensor then
                const __m256i corr = _mm256_set1_epi32({{offset}} * a->x_sum[t][0]);
                const __m256 v = _mm256_mul_ps(
                    _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_load_si256((const void *)(total[t] + i * 8)), corr)),
                    _mm256_set1_ps(w_scale * a->x_scale[t]));
//@ else
                const __m256 v = _mm256_mul_ps(_mm256_load_ps(total[t] + i * 8), _mm256_set1_ps(a->x_scale[t]));
                _mm256_store_ps(total[t] + i * 8, _mm256_setzero_ps());
//@ end
                {{name}}_store(a->out + (size_t)t * {{rows}}, g + i, v);
            }
    }
}

/* The activation sums of a's tokens (the rest of the driver: templates/kernels.c) */
static void {{name}}_sums(struct {{name}}_args *a)
{
    for (int t = 0; t < a->n; t++)
        for (int b = 0; b < {{x_blocks}}; b++)
            a->x_sum[t][b] = {{name}}_sum(a->xq + (size_t)t * {{x_stride}} + b * {{x_block_cols}}, {{x_block_cols}});
}
