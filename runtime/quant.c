/* ggml's (and bitnet.cpp's) block-quantized formats, as GGUF files store them: conversion to
 * f32, the stored codes of the ternary formats, and the few quantizers the
 * synthetic model writer needs.
 *
 * Every block is read byte by byte (little-endian f16 scales assembled by
 * hand), so a block may sit at any address of a mapped file.  Layouts, with
 * byte offsets inside one block:
 *
 *   Q8_0  (34 B / 32)   [0] f16 d, [2] 32 x int8 q            x = d*q
 *   Q4_0  (18 B / 32)   [0] f16 d, [2] 16 bytes: element j in the low
 *                       nibble of byte j, element 16+j in its high nibble;
 *                       x = d*(q-8)
 *   Q4_K  (144 B / 256) [0] f16 d, [2] f16 dmin, [4] 12 bytes of eight 6-bit
 *                       scales and eight 6-bit mins, [16] 128 bytes of
 *                       nibbles; eight sub-blocks of 32, x = d*sc*q - dmin*m
 *   Q6_K  (210 B / 256) [0] 128 bytes low nibbles, [128] 64 bytes of 2-bit
 *                       high parts, [192] 16 x int8 scales, [208] f16 d;
 *                       sixteen sub-blocks of 16, x = d*sc*(q-32)
 *   TQ1_0 (54 B / 256)  [0] 48 bytes holding 5 trits each, [48] 4 bytes
 *                       holding 4 trits each, [52] f16 d; x = d*(t-1)
 *   TQ2_0 (66 B / 256)  [0] 64 bytes of 2-bit codes, [64] f16 d; x = d*(c-1)
 *   I2_S  (32 B / 128)  [0] 32 bytes of 2-bit codes; x = s*(c-1) with the
 *                       tensor's scale s (its trailer, struct tensor's
 *                       `scale`); code 3 is no value and refused
 *
 * The bit positions of each element are spelled out next to its decoder. */
#include "quant.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "error.h"
#include "f16.h"

static float load_f16(const unsigned char *p) { return f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static void store_f16(unsigned char *p, float v)
{
    uint16_t h = f32_to_f16(v);
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

static void dequant_q8_0(const unsigned char *b, float *y)
{
    float d = load_f16(b);
    for (int i = 0; i < 32; i++)
        y[i] = d * (float)(int8_t)b[2 + i];
}

static void dequant_q4_0(const unsigned char *b, float *y)
{
    float d = load_f16(b);
    const unsigned char *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)((qs[j] & 15) - 8);
        y[j + 16] = d * (float)((qs[j] >> 4) - 8);
    }
}

/* Q4_K's 12 scale bytes hold eight (scale, min) pairs of 6 bits each:
 *   bytes 0..3   low 6 bits: scale 0..3;  top 2 bits: bits 4..5 of scale 4..7
 *   bytes 4..7   low 6 bits: min 0..3;    top 2 bits: bits 4..5 of min 4..7
 *   bytes 8..11  low nibble: bits 0..3 of scale 4..7; high nibble: of min 4..7 */
static void q4_k_scale_min(const unsigned char *s, int j, int *scale, int *min)
{
    if (j < 4) {
        *scale = s[j] & 63;
        *min = s[j + 4] & 63;
    } else {
        *scale = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
        *min = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

/* Sub-blocks 2k and 2k+1 share the 32 bytes qs[32k..32k+32): sub-block 2k
 * is their low nibbles, 2k+1 their high nibbles. */
static void dequant_q4_k(const unsigned char *b, float *y)
{
    float d = load_f16(b), dmin = load_f16(b + 2);
    const unsigned char *scales = b + 4, *qs = b + 16;
    for (int j = 0; j < 8; j++) {
        int sc, m;
        q4_k_scale_min(scales, j, &sc, &m);
        float mul = d * (float)sc, sub = dmin * (float)m;
        const unsigned char *q = qs + 32 * (j / 2);
        int shift = 4 * (j % 2);
        for (int l = 0; l < 32; l++)
            y[32 * j + l] = mul * (float)((q[l] >> shift) & 15) - sub;
    }
}

/* Q6_K: each half of 128 elements uses 64 low-nibble bytes, 32 high-bit
 * bytes and 8 scales.  Element 32*g + l of a half (quarter g = 0..3,
 * l = 0..31) takes its low 4 bits from byte l + 32*(g & 1) of the half's
 * low-nibble bytes (low nibble for g < 2, high for g >= 2), its high 2 bits
 * from bits 2g..2g+1 of high-bit byte l, and scale l/16 + 2g. */
void q6_k_codes(const void *src, int64_t nblocks, uint8_t *u, int8_t *sc, uint16_t *d)
{
    for (int64_t i = 0; i < nblocks; i++) {
        const unsigned char *b = (const unsigned char *)src + (size_t)i * 210;
        uint8_t *code = u + 256 * i;
        for (int half = 0; half < 2; half++) {
            const unsigned char *ql = b + 64 * half, *qh = b + 128 + 32 * half;
            for (int g = 0; g < 4; g++)
                for (int l = 0; l < 32; l++) {
                    const int lo = (ql[l + 32 * (g & 1)] >> (4 * (g >> 1))) & 15, hi = (qh[l] >> (2 * g)) & 3;
                    code[128 * half + 32 * g + l] = (uint8_t)(lo | hi << 4);
                }
        }
        for (int j = 0; j < 16; j++)
            sc[16 * i + j] = (int8_t)b[192 + j];
        d[i] = (uint16_t)(b[208] | b[209] << 8);
    }
}

static void dequant_q6_k(const unsigned char *b, float *y)
{
    uint8_t u[256];
    int8_t sc[16];
    uint16_t d16;
    q6_k_codes(b, 1, u, sc, &d16);
    const float d = f16_to_f32(d16);
    for (int k = 0; k < 256; k++)
        y[k] = d * (float)sc[k / 16] * (float)(u[k] - 32);
}

/* TQ1_0 packs 5 trits t0..t4 (each 0..2) into one byte as the fraction
 * (t0 t1 t2 t3 t4 in base 3) / 243 scaled to 256 and rounded up: multiplying
 * the byte by 3^n (mod 256) brings trit n to the top, where *3 >> 8 reads
 * it.  Element order in a block:
 *   0..159    byte k % 32 of the first 32, trit k / 32
 *   160..239  byte 32 + r % 16 (r = k - 160), trit r / 16
 *   240..255  qh byte r % 4 (r = k - 240), trit r / 4 (4 trits a byte) */
static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };

static int tq1_trit(uint8_t byte, int n) { return (uint8_t)(byte * pow3[n]) * 3 >> 8; }

/* Codes of a TQ1_0 block; returns the mask of codes present (bit c for c). */
static unsigned tq1_codes(const unsigned char *b, uint8_t *code)
{
    for (int n = 0; n < 5; n++)
        for (int m = 0; m < 32; m++)
            code[32 * n + m] = (uint8_t)tq1_trit(b[m], n);
    for (int n = 0; n < 5; n++)
        for (int m = 0; m < 16; m++)
            code[160 + 16 * n + m] = (uint8_t)tq1_trit(b[32 + m], n);
    for (int n = 0; n < 4; n++)
        for (int m = 0; m < 4; m++)
            code[240 + 4 * n + m] = (uint8_t)tq1_trit(b[48 + m], n);
    unsigned present = 0;
    for (int c = 0; c < 3; c++) {
        bool seen = false;
        for (int k = 0; k < 256; k++)
            seen |= code[k] == c;
        present |= (unsigned)seen << c;
    }
    return present;
}

/* 2-bit codes: group g of 32 bytes holds elements 128g .. 128g + 127, its
 * byte m element 128g + 32 * slot[j] + m in bits 2j+1..2j.  TQ2_0 has two
 * groups a block and slot j = j; I2_S one, with slot 3 - j (its first
 * element in the top bits).  Eight bytes at a time: shifting a word moves
 * every byte's field j to the bottom of that byte, and the mask drops what
 * came from the neighbour.  Returns the mask of codes present, read from
 * the packed fields: a field's low bit lo and high bit hi tell its code. */
static unsigned code2_fields(const unsigned char *b, int groups, const int slot[4], uint8_t *code)
{
    const uint64_t low_fields = 0x5555555555555555u, low_bits = 0x0303030303030303u;
    uint64_t seen[4] = { 0, 0, 0, 0 };
    for (int i = 0; i < 4 * groups; i++) {
        uint64_t x;
        memcpy(&x, b + 8 * i, 8);
        const uint64_t lo = x & low_fields, hi = x >> 1 & low_fields;
        seen[0] |= (lo | hi) ^ low_fields;
        seen[1] |= lo & ~hi;
        seen[2] |= hi & ~lo;
        seen[3] |= lo & hi;
        const int group = i / 4, m = 8 * (i % 4);
        for (int j = 0; j < 4; j++) {
            const uint64_t fields = x >> 2 * j & low_bits;
            memcpy(code + 128 * group + 32 * slot[j] + m, &fields, 8);
        }
    }
    return (unsigned)(seen[0] != 0) | (unsigned)(seen[1] != 0) << 1 | (unsigned)(seen[2] != 0) << 2 |
           (unsigned)(seen[3] != 0) << 3;
}

int ternary_codes(enum dtype t, const void *src, int64_t nblocks, uint8_t *codes, float *d, uint8_t *present)
{
    static const int in_order[4] = { 0, 1, 2, 3 }, reversed[4] = { 3, 2, 1, 0 };
    if (t != DT_TQ1_0 && t != DT_TQ2_0 && t != DT_I2_S)
        return ryot_fail("ternary codes: %s is not TQ1_0, TQ2_0 or I2_S", dtype_name(t));
    const unsigned char *b = src;
    const size_t bb = dtype_block_bytes(t), be = (size_t)dtype_block_elems(t);
    for (int64_t i = 0; i < nblocks; i++, b += bb) {
        uint8_t *code = codes + be * (size_t)i;
        unsigned seen;
        if (t == DT_TQ1_0) {
            seen = tq1_codes(b, code);
            d[i] = load_f16(b + 52);
        } else if (t == DT_TQ2_0) {
            seen = code2_fields(b, 2, in_order, code);
            d[i] = load_f16(b + 64);
        } else {
            seen = code2_fields(b, 1, reversed, code);
            d[i] = 1.0f;  /* the scale is the tensor's */
        }
        if (present)
            present[i] = (uint8_t)seen;
    }
    return 0;
}

static void dequant_ternary(enum dtype t, const unsigned char *b, float *y)
{
    uint8_t code[256];
    float d;
    ternary_codes(t, b, 1, code, &d, NULL);
    for (int k = 0; k < 256; k++)
        y[k] = d * (float)(code[k] - 1);
}

static void dequant_tq1_0(const unsigned char *b, float *y) { dequant_ternary(DT_TQ1_0, b, y); }

static void dequant_tq2_0(const unsigned char *b, float *y) { dequant_ternary(DT_TQ2_0, b, y); }

/* I2_S blocks as code - 1 (tensor_to_f32 applies the tensor's scale). */
static int dequant_i2_s(const unsigned char *src, float *dst, int64_t nblocks)
{
    for (int64_t i = 0; i < nblocks; i++) {
        uint8_t code[128], present;
        float d;
        ternary_codes(DT_I2_S, src + 32 * i, 1, code, &d, &present);
        if (present & 8)
            return ryot_fail("I2_S block %lld holds code 3, which is no ternary value", (long long)i);
        for (int k = 0; k < 128; k++)
            dst[128 * i + k] = (float)(code[k] - 1);
    }
    return 0;
}

typedef void (*block_fn)(const unsigned char *block, float *dst);

static block_fn block_decoder(enum dtype t)
{
    switch (t) {
    case DT_Q8_0: return dequant_q8_0;
    case DT_Q4_0: return dequant_q4_0;
    case DT_Q4_K: return dequant_q4_k;
    case DT_Q6_K: return dequant_q6_k;
    case DT_TQ1_0: return dequant_tq1_0;
    case DT_TQ2_0: return dequant_tq2_0;
    default: return NULL;
    }
}

int dequantize_row(enum dtype t, const void *src, float *dst, int64_t n)
{
    block_fn fn = block_decoder(t);
    if (!fn && t != DT_I2_S)
        return ryot_fail("dequantize: %s is not a block-quantized type", dtype_name(t));
    int64_t be = dtype_block_elems(t);
    if (n < 0 || n % be != 0)
        return ryot_fail("dequantize: %lld elements is not a whole number of %s blocks of %lld",
                         (long long)n, dtype_name(t), (long long)be);
    if (t == DT_I2_S)
        return dequant_i2_s(src, dst, n / be);
    const unsigned char *p = src;
    size_t bb = dtype_block_bytes(t);
    for (int64_t i = 0; i < n / be; i++)
        fn(p + (size_t)i * bb, dst + i * be);
    return 0;
}

/* ---- quantizers ---- */

static float abs_max(const float *x, int n)
{
    float m = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > m)
            m = a;
    }
    return m;
}

static void quant_q8_0(const float *x, unsigned char *b)
{
    float d = abs_max(x, 32) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(b, d);
    for (int i = 0; i < 32; i++)
        b[2 + i] = (unsigned char)(int8_t)lroundf(x[i] * id);
}

/* Ternary code 0..2 of x at block scale 1/id: round(x*id), halves away
 * from zero, clamped to -1..1, plus 1. */
static int trit(float x, float id)
{
    float q = x * id;
    return 1 + (q >= 0.5f) - (q <= -0.5f);  /* branch-free: random signs mispredict */
}

/* Inverse of tq1_trit's packing: trits t[0] (most significant) .. t[4]. */
static uint8_t tq1_pack(const int *t)
{
    int v = 0;
    for (int n = 0; n < 5; n++)
        v = v * 3 + t[n];
    return (uint8_t)((v * 256 + 242) / 243);
}

/* TQ1_0 and TQ2_0 use the block's absolute maximum as its scale, so values
 * that are already ternary times one scale re-encode exactly. */
static void quant_tq1_0(const float *x, unsigned char *b)
{
    float d = abs_max(x, 256);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    int t[5];
    for (int m = 0; m < 32; m++) {
        for (int n = 0; n < 5; n++)
            t[n] = trit(x[32 * n + m], id);
        b[m] = tq1_pack(t);
    }
    for (int m = 0; m < 16; m++) {
        for (int n = 0; n < 5; n++)
            t[n] = trit(x[160 + 16 * n + m], id);
        b[32 + m] = tq1_pack(t);
    }
    for (int m = 0; m < 4; m++) {
        for (int n = 0; n < 4; n++)
            t[n] = trit(x[240 + 4 * n + m], id);
        t[4] = 0;  /* 4 trits: the fifth, least significant, is zero */
        b[48 + m] = tq1_pack(t);
    }
    store_f16(b + 52, d);
}

static void quant_tq2_0(const float *x, unsigned char *b)
{
    float d = abs_max(x, 256);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int half = 0; half < 2; half++)
        for (int m = 0; m < 32; m++) {
            const float *xs = x + 128 * half + m;
            b[32 * half + m] = (unsigned char)(trit(xs[0], id) | trit(xs[32], id) << 2
                                               | trit(xs[64], id) << 4 | trit(xs[96], id) << 6);
        }
    store_f16(b + 64, d);
}

/* I2_S codes of a block of 128, each value rounded at the block's absolute
 * maximum: values already ternary times one scale keep their codes.  The
 * tensor's scale, in its trailer, is the caller's to write. */
static void quant_i2_s(const float *x, unsigned char *b)
{
    float d = abs_max(x, 128);
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int m = 0; m < 32; m++)
        b[m] = (unsigned char)(trit(x[m], id) << 6 | trit(x[32 + m], id) << 4 | trit(x[64 + m], id) << 2
                               | trit(x[96 + m], id));
}

int quantize_row(enum dtype t, const float *src, void *dst, int64_t n)
{
    unsigned char *out = dst;
    int64_t be = dtype_block_elems(t);
    if (be <= 0 || n < 0 || n % be != 0)
        return ryot_fail("quantize: %lld elements is not a whole number of %s blocks",
                         (long long)n, dtype_name(t));
    void (*fn)(const float *, unsigned char *) = NULL;
    switch (t) {
    case DT_F32:
        memcpy(dst, src, (size_t)n * sizeof *src);
        return 0;
    case DT_F16:
        for (int64_t i = 0; i < n; i++)
            store_f16(out + 2 * i, src[i]);
        return 0;
    case DT_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = f32_to_bf16(src[i]);
            out[2 * i] = (unsigned char)h;
            out[2 * i + 1] = (unsigned char)(h >> 8);
        }
        return 0;
    case DT_Q8_0: fn = quant_q8_0; break;
    case DT_TQ1_0: fn = quant_tq1_0; break;
    case DT_TQ2_0: fn = quant_tq2_0; break;
    case DT_I2_S: fn = quant_i2_s; break;
    default:
        return ryot_fail("quantize: no quantizer for %s", dtype_name(t));
    }
    size_t bb = dtype_block_bytes(t);
    for (int64_t i = 0; i < n / be; i++)
        fn(src + i * be, out + (size_t)i * bb);
    return 0;
}
