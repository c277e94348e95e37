//@ local P = ({ code2 = 4, code4 = 2, trit5 = 5, code6 = 4 })[encoding]
//@ local code6 = encoding == "code6"
//@ -- bytes of a slab (code6: 3 vectors), activation sums per scale block or per sub-block (code6)
//@ local SB = slab_bytes
//@ local x_blocks, x_block_cols = code6 and subs or blocks, code6 and sub or (per_tensor and cols_pad or sb)
//@ local unit = per_tensor and slab_cols or sb
//@ local kc = math.max(unit, k_chunk // unit * unit)
//@ local block_cols = per_tensor and cols_pad or sb
//@ local tail_rows = rows - (groups - 1) * 16
/* out[n][{{rows}}] = x . W^T with W {{wtype}} in {{encoding}} codes (layout
 * "{{layout}}", gen/lowbit.lua) and x int8 per token, AVX-512{{vnni and " VNNI" or ""}}{{vbmi and " VBMI" or ""}}.
 * A 64-byte slab is 16 rows x 4 bytes; unpacking plane j gives the codes
 * u = w + {{offset}} of 16 rows x 4 columns, whose dot products with 4
 * broadcast activations {{vnni and "one vpdpbusd" or "vpmaddubsw + vpmaddwd"}} accumulates per row (int32 lanes = rows).
 * GEMV (1 token) streams the packed weights once, {{gemv_groups}} row groups at a
 * time sharing each broadcast.  GEMM unpacks {{gemm_groups}} row groups x {{kc}} columns
 * once into a buffer and runs a {{gemm_groups}} x 16 rows by {{gemm_tokens}} tokens tile of
 * accumulators over it, for passes of up to {{token_tile}} tokens.  Integer sums
 * are exact; {{per_tensor and "the tensor's scale" or "each block of " .. sb .. " columns' f16 scale"}} is applied
 * as the kernel contract says (see tests/lowbit_check.h).
//@ if code6 then
 * int6: a slab is 3 vectors (gen/lowbit.lua) and one sub-block of 16
 * columns; its int32 sum, less 32 * sum(x), times the rows' int8 sub-scales
 * adds into the super-block's int32 sum (at most 2^27 in magnitude).
//@ end
 */
//@ if encoding == "trit5" then
//@   -- digits j0.. of 0..127 in base 3, digit j0 + k in bits 2k, 2k+1
//@   local function fields(j0, n)
//@     local t = {}
//@     for i = 0, 127 do
//@       local v = 0
//@       for k = 0, n - 1 do v = v | ((i // (3 ^ (j0 + k)) | 0) % 3) << (2 * k) end
//@       t[#t + 1] = tostring(v)
//@     end
//@     return table.concat(t, ",")
//@   end
//@   -- GF2P8AFFINEQB matrix moving bits 2k, 2k+1 of each byte to bits 0, 1
//@   local function field_matrix(k) return string.format("0x%02x%02x000000000000LL", 1 << (2 * k), 1 << (2 * k + 1)) end

/* Base-3 digits of 0..127 as 2-bit fields: digits 0-2 in one table, 3-4 in
 * the other.  A byte's low 7 bits index them, its top bit negates the tuple
 * (u -> 2 - u, for all fields at once: 0b101010 - t, no field borrows).
 * Two lookups per slab instead of five: the byte permutes were the
 * bottleneck, and extracting a field is cheaper. */
static const uint8_t {{name}}_digits[2][128] __attribute__((aligned(64))) = {
    { {{fields(0, 3)}} },
    { {{fields(3, 2)}} },
};

/* a slab's bytes as table indices, which index the upper 64 entries, which negate */
struct {{name}}_slab { __m512i idx; __mmask64 upper, negated; };

static inline __attribute__((always_inline)) struct {{name}}_slab {{name}}_load(const uint8_t *p)
{
    const __m512i b = _mm512_loadu_si512((const void *)p);
    struct {{name}}_slab s = { b, _mm512_test_epi8_mask(b, _mm512_set1_epi8(64)), _mm512_movepi8_mask(b) };
    return s;
}

/* Digit j of every byte.  Planes j and j' of one table repeat the same
 * lookup, which the compiler merges once the plane loop is unrolled. */
static inline __attribute__((always_inline)) __m512i {{name}}_plane(struct {{name}}_slab s, int j)
{
    const int t = j < 3 ? 0 : 1, field = j < 3 ? j : j - 3;
    const __m512i lo = _mm512_load_si512((const void *){{name}}_digits[t]);
    const __m512i hi = _mm512_load_si512((const void *)({{name}}_digits[t] + 64));
    /* two 64-entry vpermb (bits 0-5), the second for indices 64..127: cheaper than one vpermi2b */
    __m512i d = _mm512_mask_permutexvar_epi8(_mm512_permutexvar_epi8(s.idx, lo), s.upper, s.idx, hi);
    d = _mm512_mask_sub_epi8(d, s.negated, _mm512_set1_epi8(t == 0 ? 0x2a : 0x0a), d);
//@   if gfni then
    /* field 1 or 2 to bits 0-1, zeros above, in one GF(2) affine transform
     * per byte (a shift and a mask otherwise): the qword's byte 7 selects
     * output bit 0, byte 6 bit 1 */
    if (field > 0)
        return _mm512_gf2p8affine_epi64_epi8(d, _mm512_set1_epi64(field == 1 ? {{field_matrix(1)}} : {{field_matrix(2)}}), 0);
//@   else
    if (field > 0)
        d = _mm512_srli_epi16(d, 2 * field);  /* bits shifted in from the next byte are masked off */
//@   end
    return _mm512_and_si512(d, _mm512_set1_epi8(3));
}
//@ elseif code6 then

/* the low nibbles of planes 0, 1 and 2, 3; the high 2 bits of all four */
struct {{name}}_slab { __m512i lo01, lo23, hi; };

static inline __attribute__((always_inline)) struct {{name}}_slab {{name}}_load(const uint8_t *p)
{
    struct {{name}}_slab s = { _mm512_loadu_si512((const void *)p), _mm512_loadu_si512((const void *)(p + 64)),
                               _mm512_loadu_si512((const void *)(p + 128)) };
    return s;
}

/* codes of plane j: its nibble | its 2 high bits moved to bits 4, 5 (the
 * 16-bit shifts bring neighbouring bits into places the masks clear) */
static inline __attribute__((always_inline)) __m512i {{name}}_plane(struct {{name}}_slab s, int j)
{
    const __m512i lo = j < 2 ? s.lo01 : s.lo23;
    const __m512i nibble = j % 2 ? _mm512_srli_epi16(lo, 4) : lo;
    const __m512i high = j == 0 ? _mm512_slli_epi16(s.hi, 4) : j == 1 ? _mm512_slli_epi16(s.hi, 2)
                       : j == 2 ? s.hi : _mm512_srli_epi16(s.hi, 2);
    return _mm512_or_si512(_mm512_and_si512(nibble, _mm512_set1_epi8(0x0f)), _mm512_and_si512(high, _mm512_set1_epi8(0x30)));
}
//@ else

struct {{name}}_slab { __m512i bytes; };

static inline __attribute__((always_inline)) struct {{name}}_slab {{name}}_load(const uint8_t *p)
{
    struct {{name}}_slab s = { _mm512_loadu_si512((const void *)p) };
    return s;
}

/* codes of plane j: bit field j of every byte */
static inline __attribute__((always_inline)) __m512i {{name}}_plane(struct {{name}}_slab s, int j)
{
//@   local width = encoding == "code2" and 2 or 4
    return _mm512_and_si512(_mm512_srli_epi16(s.bytes, {{width}} * j), _mm512_set1_epi8({{(1 << width) - 1}}));
}
//@ end

/* acc += per 32-bit lane: sum of 4 u8 codes x 4 s8 activations */
static inline __attribute__((always_inline)) __m512i {{name}}_dot(__m512i acc, __m512i u, __m512i x)
{
//@ if vnni then
    return _mm512_dpbusd_epi32(acc, u, x);
//@ else
    /* u <= 63, so the int16 pair sums (at most 2 * 63 * 128) cannot saturate */
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(u, x), _mm512_set1_epi16(1)));
//@ end
}

static inline __m512i {{name}}_bcast(const int8_t *x)
{
    int32_t v;
    memcpy(&v, x, 4);
    return _mm512_set1_epi32(v);
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

struct {{name}}_args {
    float *out;
    const uint8_t *w;
    const int8_t *xq;
    const float *x_scale;
    int n;
    int32_t x_sum[{{token_tile}}][{{x_blocks}}];  /* sum of x per token and {{code6 and "sub-block" or "scale block"}} */
};

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

//@ if not per_tensor then
static inline __m512 {{name}}_scale(const uint8_t *w, size_t g, int b)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(w + {{scale_offset}} + ((g * {{blocks}} + b) * 16) * 2)));
}
//@ if code6 then

/* int8 sub-scales of row group g's sub-block k, as int32 */
static inline __m512i {{name}}_subscale(const uint8_t *w, size_t g, int k)
{
    return _mm512_cvtepi8_epi32(_mm_loadu_si128((const void *)(w + {{sub_offset}} + (g * {{subs}} + (size_t)k) * 16)));
}
//@ end

//@ end
/* GEMV over ng row groups from g: one pass over their slabs */
static inline __attribute__((always_inline)) void {{name}}_gemv_tile(const struct {{name}}_args *a, size_t g, int ng)
{
    const int8_t *x = a->xq;
    const uint8_t *w[{{gemv_groups}}];
    __m512i acc[{{gemv_groups}}];
//@ if not per_tensor then
    __m512 sum[{{gemv_groups}}];
//@ end
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++) {
        w[i] = a->w + (g + i) * {{slabs * SB}};
//@ if per_tensor then
        acc[i] = _mm512_setzero_si512();
//@ else
        sum[i] = _mm512_setzero_ps();
//@ end
    }
    for (int b = 0; b < {{blocks}}; b++) {
//@ if not per_tensor then
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++) {
            acc[i] = _mm512_setzero_si512();
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
//@   for line = 0, SB // 64 - 1 do
                _mm_prefetch((const char *)(w[i] + s * {{SB}} + {{gemv_prefetch * gemv_groups * slabs * SB + 64 * line}}), _MM_HINT_T1);
//@   end
//@   if code6 then
                /* and its int8 sub-scales, a line per {{64 // rg}} slabs */
                if (s % {{64 // rg}} == 0)
                    _mm_prefetch((const char *)(a->w + {{sub_offset}} + ((g + i + {{gemv_prefetch * gemv_groups}}) * {{subs}} + (size_t)s) * {{rg}}), _MM_HINT_T1);
//@   end
//@ end
            }
//@ if code6 then
            __m512i part[{{gemv_groups}}];  /* the sub-block's sums */
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
                part[i] = _mm512_setzero_si512();
//@ end
#pragma GCC unroll {{P}}
            for (int j = 0; j < {{P}}; j++) {
                const __m512i xb = {{name}}_bcast(x + s * {{slab_cols}} + 4 * j);
#pragma GCC unroll {{gemv_groups}}
                for (int i = 0; i < ng; i++)
                    {{code6 and "part" or "acc"}}[i] = {{name}}_dot({{code6 and "part" or "acc"}}[i], {{name}}_plane(slab[i], j), xb);
            }
//@ if code6 then
            const __m512i corr = _mm512_set1_epi32({{offset}} * a->x_sum[0][s]);
#pragma GCC unroll {{gemv_groups}}
            for (int i = 0; i < ng; i++)
                acc[i] = _mm512_add_epi32(acc[i], _mm512_mullo_epi32({{name}}_subscale(a->w, g + i, s),
                                                                     _mm512_sub_epi32(part[i], corr)));
//@ end
        }
//@ if code6 then
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++)
            sum[i] = _mm512_fmadd_ps({{name}}_scale(a->w, g + i, b), _mm512_cvtepi32_ps(acc[i]), sum[i]);
//@ elseif not per_tensor then
        const __m512i corr = _mm512_set1_epi32({{offset}} * a->x_sum[0][b]);
#pragma GCC unroll {{gemv_groups}}
        for (int i = 0; i < ng; i++)
            sum[i] = _mm512_fmadd_ps({{name}}_scale(a->w, g + i, b),
                                     _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i], corr)), sum[i]);
//@ end
    }
//@ if per_tensor then
    float w_scale;
    memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
    const __m512 scale = _mm512_set1_ps(w_scale * a->x_scale[0]);
    const __m512i corr = _mm512_set1_epi32({{offset}} * a->x_sum[0][0]);
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
        {{name}}_store(a->out, g + i, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i], corr)), scale));
//@ else
    const __m512 xs = _mm512_set1_ps(a->x_scale[0]);
#pragma GCC unroll {{gemv_groups}}
    for (int i = 0; i < ng; i++)
        {{name}}_store(a->out, g + i, _mm512_mul_ps(sum[i], xs));
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
 * the end), into buf: [group][4-column quad][16 rows x 4 bytes]. */
static inline __attribute__((always_inline)) void {{name}}_unpack(const uint8_t *w, size_t g, int ng, int c0, int cols,
                                                                  uint8_t *buf)
{
    for (int i = 0; i < ng; i++) {
        const uint8_t *slabs = w + (g + i) * {{slabs * SB}} + c0 / {{slab_cols}} * {{SB}};
        uint8_t *dst = buf + (size_t)i * {{kc * 16}};
        for (int s = 0; s < cols / {{slab_cols}}; s++) {
            const struct {{name}}_slab slab = {{name}}_load(slabs + s * {{SB}});
#pragma GCC unroll {{P}}
            for (int j = 0; j < {{P}}; j++)
                _mm512_store_si512((void *)(dst + (s * {{P}} + j) * 64), {{name}}_plane(slab, j));
        }
    }
}

/* acc[i][t] += unpacked quads [q0, q1) of group i . token t's activations */
static inline __attribute__((always_inline)) void {{name}}_micro(__m512i acc[][{{gemm_tokens}}], const uint8_t *buf,
                                                                 const int8_t *x, int ng, int nt, int q0, int q1, int c0)
{
    for (int qd = q0; qd < q1; qd++) {
        __m512i u[{{gemm_groups}}];
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
            u[i] = _mm512_load_si512((const void *)(buf + (size_t)i * {{kc * 16}} + qd * 64));
#pragma GCC unroll {{gemm_tokens}}
        for (int t = 0; t < nt; t++) {
            const __m512i xb = {{name}}_bcast(x + (size_t)t * {{x_stride}} + c0 + 4 * qd);
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
                                                                     int32_t (*total)[{{gemm_groups * 16}}])
//@ else
                                                                     float (*total)[{{gemm_groups * 16}}])
//@ end
{
    __m512i acc[{{gemm_groups}}][{{gemm_tokens}}];
//@ if per_tensor then
    (void)g;  /* one scale for the tensor, applied after the last chunk */
#pragma GCC unroll {{gemm_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
        for (int t = 0; t < nt; t++)
            acc[i][t] = c0 == 0 ? _mm512_setzero_si512() : _mm512_load_si512((const void *)(total[t0 + t] + i * 16));
    {{name}}_micro(acc, buf, a->xq + (size_t)t0 * {{x_stride}}, ng, nt, 0, cols / 4, c0);
#pragma GCC unroll {{gemm_groups}}
    for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
        for (int t = 0; t < nt; t++)
            _mm512_store_si512((void *)(total[t0 + t] + i * 16), acc[i][t]);
//@ else
    for (int b = 0; b < cols / {{sb}}; b++) {
        const int blk = c0 / {{sb}} + b;
        __m512i bsum[{{gemm_groups}}][{{gemm_tokens}}];  /* the block's integer sums, less {{offset}} * sum(x) */
//@   if code6 then
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++)
                bsum[i][t] = _mm512_setzero_si512();
        for (int k = 0; k < {{sb // sub}}; k++) {  /* sub-blocks, each times its int8 sub-scale */
            const int sub = blk * {{sb // sub}} + k;
#pragma GCC unroll {{gemm_groups}}
            for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
                for (int t = 0; t < nt; t++)
                    acc[i][t] = _mm512_setzero_si512();
            {{name}}_micro(acc, buf, a->xq + (size_t)t0 * {{x_stride}}, ng, nt, (b * {{sb}} + k * {{sub}}) / 4,
                           (b * {{sb}} + (k + 1) * {{sub}}) / 4, c0);
#pragma GCC unroll {{gemm_groups}}
            for (int i = 0; i < ng; i++) {
                const __m512i sc = {{name}}_subscale(a->w, g + i, sub);
#pragma GCC unroll {{gemm_tokens}}
                for (int t = 0; t < nt; t++) {
                    const __m512i corr = _mm512_set1_epi32({{offset}} * a->x_sum[t0 + t][sub]);
                    bsum[i][t] = _mm512_add_epi32(bsum[i][t], _mm512_mullo_epi32(sc, _mm512_sub_epi32(acc[i][t], corr)));
                }
            }
        }
//@   else
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++)
                acc[i][t] = _mm512_setzero_si512();
        {{name}}_micro(acc, buf, a->xq + (size_t)t0 * {{x_stride}}, ng, nt, b * {{sb // 4}}, (b + 1) * {{sb // 4}}, c0);
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++)
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++)
                bsum[i][t] = _mm512_sub_epi32(acc[i][t], _mm512_set1_epi32({{offset}} * a->x_sum[t0 + t][blk]));
//@   end
#pragma GCC unroll {{gemm_groups}}
        for (int i = 0; i < ng; i++) {
            const __m512 d = {{name}}_scale(a->w, g + i, blk);
#pragma GCC unroll {{gemm_tokens}}
            for (int t = 0; t < nt; t++) {
                float *sum = total[t0 + t] + i * 16;
                _mm512_store_ps(sum, _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(bsum[i][t]), _mm512_load_ps(sum)));
            }
        }
    }
//@ end
}

static void {{name}}_gemm(void *ctx, size_t tile0, size_t tile1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    uint8_t buf[{{gemm_groups * kc * 16}}] __attribute__((aligned(64)));
//@ if per_tensor then
    int32_t total[{{token_tile}}][{{gemm_groups * 16}}] __attribute__((aligned(64)));
    float w_scale;
    memcpy(&w_scale, a->w + {{scale_offset}}, sizeof w_scale);
//@ else
    float total[{{token_tile}}][{{gemm_groups * 16}}] __attribute__((aligned(64)));
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
                const __m512i corr = _mm512_set1_epi32({{offset}} * a->x_sum[t][0]);
                const __m512 v = _mm512_mul_ps(
                    _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_load_si512((const void *)(total[t] + i * 16)), corr)),
                    _mm512_set1_ps(w_scale * a->x_scale[t]));
//@ else
                const __m512 v = _mm512_mul_ps(_mm512_load_ps(total[t] + i * 16), _mm512_set1_ps(a->x_scale[t]));
                _mm512_store_ps(total[t] + i * 16, _mm512_setzero_ps());
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
