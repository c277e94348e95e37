/* Block dequantizers and quantizers (runtime/quant.c).
 *
 * Each format is checked against blocks built here from the documented
 * layout (written as the format's description reads, not as quant.c
 * decodes it), with values chosen so every element is predictable; the
 * ternary quantizers must round-trip exactly. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/error.h"
#include "../../runtime/f16.h"
#include "../../runtime/quant.h"
#include "check.h"

static void put_f16(unsigned char *p, float v)
{
    uint16_t h = f32_to_f16(v);
    p[0] = (unsigned char)(h & 0xff);
    p[1] = (unsigned char)(h >> 8);
}

/* Number of elements where got != want (exact comparison), reporting the first. */
static int mismatches(const char *what, const float *got, const float *want, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) {
            if (!bad)
                fprintf(stderr, "  %s: element %d is %g, expected %g\n", what, i, got[i], want[i]);
            bad++;
        }
    return bad;
}

static void test_q8_0(void)
{
    group_begin("Q8_0 hand-built blocks");
    unsigned char blk[2 * 34];
    float want[64], got[64];
    put_f16(blk, 0.5f);
    put_f16(blk + 34, -3.0f);
    for (int i = 0; i < 32; i++) {
        blk[2 + i] = (unsigned char)(int8_t)(i * 8 - 128);  /* -128 .. 120 */
        want[i] = 0.5f * (float)(i * 8 - 128);
        blk[34 + 2 + i] = (unsigned char)(int8_t)(127 - i);
        want[32 + i] = -3.0f * (float)(127 - i);
    }
    CHECK(dequantize_row(DT_Q8_0, blk, got, 64) == 0, "%s", ryot_last_error());
    CHECK(mismatches("Q8_0", got, want, 64) == 0, "Q8_0 values differ");
    group_end();
}

static void test_q4_0(void)
{
    group_begin("Q4_0 hand-built block");
    unsigned char blk[18];
    float want[32], got[32];
    put_f16(blk, 2.0f);
    /* byte j: low nibble = element j, high nibble = element j + 16 */
    for (int j = 0; j < 16; j++) {
        int lo = j, hi = 15 - j;
        blk[2 + j] = (unsigned char)(lo | hi << 4);
        want[j] = 2.0f * (float)(lo - 8);
        want[j + 16] = 2.0f * (float)(hi - 8);
    }
    CHECK(dequantize_row(DT_Q4_0, blk, got, 32) == 0, "%s", ryot_last_error());
    CHECK(mismatches("Q4_0", got, want, 32) == 0, "Q4_0 values differ");
    group_end();
}

/* Q4_K: 8 sub-blocks of 32 with 6-bit scale sc[j] and min mn[j].
 * Scale bytes: s[0..3] = sc[0..3] | (bits 4-5 of sc[4..7]) << 6,
 *              s[4..7] = mn[0..3] | (bits 4-5 of mn[4..7]) << 6,
 *              s[8..11] = (sc[4..7] & 15) | (mn[4..7] & 15) << 4.
 * Nibbles: 32-byte chunk c holds sub-block 2c in the low nibbles and 2c+1
 * in the high nibbles. */
static void test_q4_k(void)
{
    group_begin("Q4_K hand-built block");
    unsigned char blk[144] = { 0 };
    int sc[8], mn[8], q[256];
    float want[256], got[256];
    const float d = 0.5f, dmin = 0.25f;
    for (int j = 0; j < 8; j++) {
        sc[j] = 7 * j + 5;   /* 5..54: the high bits of 4..7 are exercised */
        mn[j] = 63 - 6 * j;  /* 63..21 */
    }
    put_f16(blk, d);
    put_f16(blk + 2, dmin);
    unsigned char *s = blk + 4;
    for (int j = 0; j < 4; j++) {
        s[j] = (unsigned char)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (unsigned char)(mn[j] | (mn[j + 4] >> 4) << 6);
        s[j + 8] = (unsigned char)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
    for (int k = 0; k < 256; k++) {
        q[k] = (k * 5 + 3) % 16;
        int sub = k / 32, chunk = sub / 2, pos = k % 32;
        blk[16 + 32 * chunk + pos] |= (unsigned char)(q[k] << (sub % 2 ? 4 : 0));
        want[k] = d * (float)sc[sub] * (float)q[k] - dmin * (float)mn[sub];
    }
    CHECK(dequantize_row(DT_Q4_K, blk, got, 256) == 0, "%s", ryot_last_error());
    CHECK(mismatches("Q4_K", got, want, 256) == 0, "Q4_K values differ");
    group_end();
}

/* Q6_K: ql[128], qh[64], int8 scales[16], f16 d.  For each half h of 128
 * elements and l = 0..31, with ql' = ql + 64h, qh' = qh + 32h, sc' = sc + 8h:
 *   element  l      = ql'[l]    low nibble  | (qh'[l] bits 0-1) << 4, scale sc'[l/16]
 *   element  l + 32 = ql'[l+32] low nibble  | (qh'[l] bits 2-3) << 4, scale sc'[l/16 + 2]
 *   element  l + 64 = ql'[l]    high nibble | (qh'[l] bits 4-5) << 4, scale sc'[l/16 + 4]
 *   element  l + 96 = ql'[l+32] high nibble | (qh'[l] bits 6-7) << 4, scale sc'[l/16 + 6]
 * value = d * scale * (q - 32). */
static void test_q6_k(void)
{
    group_begin("Q6_K hand-built block");
    unsigned char blk[210] = { 0 };
    int q[256], sc[16];
    float want[256], got[256];
    const float d = 0.125f;
    for (int i = 0; i < 16; i++) {
        sc[i] = 3 * i - 20;
        blk[192 + i] = (unsigned char)(int8_t)sc[i];
    }
    put_f16(blk + 208, d);
    for (int k = 0; k < 256; k++)
        q[k] = (k * 37 + 11) % 64;
    for (int h = 0; h < 2; h++) {
        unsigned char *ql = blk + 64 * h, *qh = blk + 128 + 32 * h;
        const int *qq = q + 128 * h;
        for (int l = 0; l < 32; l++) {
            ql[l] = (unsigned char)((qq[l] & 15) | (qq[l + 64] & 15) << 4);
            ql[l + 32] = (unsigned char)((qq[l + 32] & 15) | (qq[l + 96] & 15) << 4);
            qh[l] = (unsigned char)(qq[l] >> 4 | (qq[l + 32] >> 4) << 2 | (qq[l + 64] >> 4) << 4
                                    | (qq[l + 96] >> 4) << 6);
            const int off[4] = { 0, 32, 64, 96 };
            for (int g = 0; g < 4; g++) {
                int k = 128 * h + l + off[g];
                want[k] = d * (float)sc[8 * h + l / 16 + 2 * g] * (float)(q[k] - 32);
            }
        }
    }
    CHECK(dequantize_row(DT_Q6_K, blk, got, 256) == 0, "%s", ryot_last_error());
    CHECK(mismatches("Q6_K", got, want, 256) == 0, "Q6_K values differ");
    group_end();
}

/* TQ2_0: qs[64] then f16 d.  For j in {0, 32}, l in 0..3, m in 0..31:
 * element 4*j + 32*l + m is bits 2l..2l+1 of qs[j + m], code c means c - 1. */
static void test_tq2_0_layout(void)
{
    group_begin("TQ2_0 hand-built block");
    unsigned char blk[66] = { 0 };
    int code[256];
    float want[256], got[256];
    const float d = 1.5f;
    for (int k = 0; k < 256; k++)
        code[k] = (k * 7 + k / 5) % 3;
    for (int j = 0; j < 64; j += 32)
        for (int l = 0; l < 4; l++)
            for (int m = 0; m < 32; m++) {
                int k = 4 * j + 32 * l + m;
                blk[j + m] |= (unsigned char)(code[k] << (2 * l));
                want[k] = d * (float)(code[k] - 1);
            }
    put_f16(blk + 64, d);
    CHECK(dequantize_row(DT_TQ2_0, blk, got, 256) == 0, "%s", ryot_last_error());
    CHECK(mismatches("TQ2_0", got, want, 256) == 0, "TQ2_0 values differ");
    group_end();
}

/* TQ1_0: a byte holds trits t0..t4 as ceil((t0*81 + t1*27 + t2*9 + t3*3 + t4) * 256 / 243).
 * Element order: bytes 0..31 give elements 32n + m (trit n of byte m),
 * bytes 32..47 give 160 + 16n + m (trit n of byte 32 + m), the 4 qh bytes
 * (4 trits each, fifth trit 0) give 240 + 4n + m; f16 d at byte 52. */
static unsigned char tq1_byte(const int *t5)
{
    int v = t5[0] * 81 + t5[1] * 27 + t5[2] * 9 + t5[3] * 3 + t5[4];
    return (unsigned char)((v * 256 + 242) / 243);
}

static void test_tq1_0_layout(void)
{
    group_begin("TQ1_0 every 5-trit byte, every position");
    unsigned char blk[54];
    float want[256], got[256];
    int bad = 0;
    const float d = 0.75f;
    /* Rotate every one of the 243 trit patterns through each byte. */
    for (int pattern = 0; pattern < 243 && !bad; pattern++) {
        memset(blk, 0, sizeof blk);
        put_f16(blk + 52, d);
        for (int byte = 0; byte < 52; byte++) {
            int p = (pattern + byte * 17) % 243, t[5];
            for (int n = 4; n >= 0; n--, p /= 3)
                t[n] = p % 3;
            if (byte >= 48)
                t[4] = 0;
            blk[byte] = tq1_byte(t);
            for (int n = 0; n < 5; n++) {
                int k = byte < 32 ? 32 * n + byte
                      : byte < 48 ? 160 + 16 * n + (byte - 32)
                      : n < 4 ? 240 + 4 * n + (byte - 48) : -1;
                if (k >= 0)
                    want[k] = d * (float)(t[n] - 1);
            }
        }
        CHECK(dequantize_row(DT_TQ1_0, blk, got, 256) == 0, "%s", ryot_last_error());
        bad += mismatches("TQ1_0", got, want, 256);
    }
    CHECK(bad == 0, "TQ1_0 values differ");
    group_end();
}

/* I2_S (bitnet.cpp): blocks of 128 in 32 bytes, byte j holding element j
 * in bits 7:6, 32 + j in bits 5:4, 64 + j in 3:2 and 96 + j in 1:0; code
 * q means q - 1 (times the tensor's scale, which tensor_to_f32 applies);
 * code 3 means nothing and is refused. */
static void put_i2_s(unsigned char *blk, const int *code)
{
    memset(blk, 0, 32);
    for (int j = 0; j < 32; j++)
        for (int q = 0; q < 4; q++)
            blk[j] |= (unsigned char)(code[32 * q + j] << (6 - 2 * q));
}

static void test_i2_s_layout(void)
{
    group_begin("I2_S hand-built blocks");
    unsigned char blk[2][32];
    int code[2][128];
    float want[256], got[256];
    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < 128; k++) {
            code[b][k] = (k * 5 + k / 3 + b) % 3;
            want[128 * b + k] = (float)(code[b][k] - 1);
        }
        put_i2_s(blk[b], code[b]);
    }
    CHECK(dequantize_row(DT_I2_S, blk, got, 256) == 0, "%s", ryot_last_error());
    CHECK(mismatches("I2_S", got, want, 256) == 0, "I2_S values differ");
    uint8_t codes[256], present[2];
    float d[2];
    CHECK(ternary_codes(DT_I2_S, blk, 2, codes, d, present) == 0, "%s", ryot_last_error());
    int bad = 0;
    for (int i = 0; i < 256; i++)
        bad += codes[i] != code[i / 128][i % 128];
    CHECK(bad == 0 && d[0] == 1.0f && d[1] == 1.0f && present[0] == 0x7 && present[1] == 0x7,
          "I2_S codes: %d differ, scales %g %g, present %#x %#x", bad, d[0], d[1], present[0], present[1]);
    code[1][77] = 3;
    put_i2_s(blk[1], code[1]);
    CHECK(dequantize_row(DT_I2_S, blk, got, 256) == -1 && strstr(ryot_last_error(), "code 3"),
          "code 3 accepted: '%s'", ryot_last_error());
    CHECK(ternary_codes(DT_I2_S, blk, 2, codes, d, present) == 0 && codes[128 + 77] == 3 && present[1] == 0xf,
          "ternary_codes reports code 3: present %#x", present[1]);
    CHECK(dequantize_row(DT_I2_S, blk, got, 64) == -1 && strstr(ryot_last_error(), "blocks of 128"),
          "half a block: '%s'", ryot_last_error());
    group_end();
}

/* ternary_codes: the stored code of every element, built here from the
 * layouts above, each block's scale, and which codes occur in a block.
 * Block 0 of each format holds every code it can, block 1 only some. */
static void test_ternary_codes(void)
{
    group_begin("ternary_codes: codes, scales, codes present");
    unsigned char tq2[2][66] = { { 0 } }, tq1[2][54] = { { 0 } };
    int want2[2][256], want1[2][256];
    for (int b = 0; b < 2; b++) {
        for (int k = 0; k < 256; k++)
            want2[b][k] = b == 0 ? (k * 5 + k / 7) % 4 : 2 * (k % 3 == 0);  /* block 1: codes 0 and 2 */
        for (int j = 0; j < 64; j += 32)
            for (int l = 0; l < 4; l++)
                for (int m = 0; m < 32; m++)
                    tq2[b][j + m] |= (unsigned char)(want2[b][4 * j + 32 * l + m] << (2 * l));
        put_f16(tq2[b] + 64, b ? -0.25f : 1.5f);
        for (int byte = 0; byte < 52; byte++) {
            int t[5] = { 0, 0, 0, 0, 0 };
            for (int n = 0; n < 5; n++) {
                const int k = byte < 32 ? 32 * n + byte
                            : byte < 48 ? 160 + 16 * n + (byte - 32)
                            : n < 4 ? 240 + 4 * n + (byte - 48) : -1;
                if (k >= 0)
                    t[n] = want1[b][k] = b == 0 ? (k * 7 + byte) % 3 : 1;  /* block 1: all code 1 */
            }
            tq1[b][byte] = tq1_byte(t);
        }
        put_f16(tq1[b] + 52, b ? 2.0f : 0.5f);
    }
    uint8_t codes[512], present[2];
    float d[2];
    int bad = 0;
    CHECK(ternary_codes(DT_TQ2_0, tq2, 2, codes, d, present) == 0, "%s", ryot_last_error());
    for (int i = 0; i < 512; i++)
        bad += codes[i] != want2[i / 256][i % 256];
    CHECK(bad == 0, "%d TQ2_0 codes differ", bad);
    CHECK(d[0] == 1.5f && d[1] == -0.25f, "TQ2_0 scales %g %g", d[0], d[1]);
    CHECK(present[0] == 0xf && present[1] == 0x5, "TQ2_0 codes present %#x %#x, want 0xf 0x5", present[0], present[1]);
    CHECK(ternary_codes(DT_TQ1_0, tq1, 2, codes, d, present) == 0, "%s", ryot_last_error());
    bad = 0;
    for (int i = 0; i < 512; i++)
        bad += codes[i] != want1[i / 256][i % 256];
    CHECK(bad == 0, "%d TQ1_0 codes differ", bad);
    CHECK(d[0] == 0.5f && d[1] == 2.0f, "TQ1_0 scales %g %g", d[0], d[1]);
    CHECK(present[0] == 0x7 && present[1] == 0x2, "TQ1_0 codes present %#x %#x, want 0x7 0x2", present[0], present[1]);
    CHECK(ternary_codes(DT_TQ1_0, tq1, 1, codes, d, NULL) == 0, "no presence wanted: %s", ryot_last_error());
    CHECK(ternary_codes(DT_Q8_0, tq1, 1, codes, d, present) == -1 && strstr(ryot_last_error(), "Q8_0"),
          "Q8_0 is not ternary: '%s'", ryot_last_error());
    group_end();
}

/* Random ternary values times one f16-exact scale per row: both ternary
 * formats must give them back exactly, in several blocks. */
static void test_ternary_round_trip(void)
{
    group_begin("TQ1_0 / TQ2_0 / I2_S quantize round trip");
    enum { N = 4 * 256, TYPES = 3 };
    static float x[N], y[N];
    static unsigned char buf[4 * 66];
    const enum dtype types[TYPES] = { DT_TQ1_0, DT_TQ2_0, DT_I2_S };
    const float scales[3] = { 1.0f, 0.0302734375f, 3.5f };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (int ti = 0; ti < TYPES; ti++)
        for (int si = 0; si < 3; si++) {
            for (int i = 0; i < N; i++) {
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                x[i] = scales[si] * (float)((int)(rng >> 33) % 3 - 1);
            }
            x[5] = scales[si];  /* each block's absmax is the scale */
            x[256 + 7] = -scales[si];
            x[512] = scales[si];
            x[768 + 255] = scales[si];
            x[128] = x[384] = x[640] = x[896] = scales[si];  /* and each I2_S block's */
            CHECK(quantize_row(types[ti], x, buf, N) == 0, "%s", ryot_last_error());
            CHECK(dequantize_row(types[ti], buf, y, N) == 0, "%s", ryot_last_error());
            if (types[ti] == DT_I2_S)  /* its scale is the tensor's, applied by tensor_to_f32 */
                for (int i = 0; i < N; i++)
                    y[i] *= scales[si];
            CHECK(mismatches(dtype_name(types[ti]), y, x, N) == 0, "%s scale %g not exact",
                  dtype_name(types[ti]), scales[si]);
        }
    /* An all-zero block (scale 0) stays zero. */
    for (int i = 0; i < 256; i++)
        x[i] = 0.0f;
    for (int ti = 0; ti < TYPES; ti++) {
        CHECK(quantize_row(types[ti], x, buf, 256) == 0, "%s", ryot_last_error());
        CHECK(dequantize_row(types[ti], buf, y, 256) == 0, "%s", ryot_last_error());
        CHECK(mismatches("zero block", y, x, 256) == 0, "%s zero block", dtype_name(types[ti]));
    }
    group_end();
}

static void test_q8_0_round_trip(void)
{
    group_begin("Q8_0 quantize round trip");
    enum { N = 8 * 32 };
    float x[N], y[N];
    unsigned char buf[8 * 34];
    for (int i = 0; i < N; i++)
        x[i] = sinf((float)i * 0.37f) * (float)(1 + i / 32);
    CHECK(quantize_row(DT_Q8_0, x, buf, N) == 0, "%s", ryot_last_error());
    CHECK(dequantize_row(DT_Q8_0, buf, y, N) == 0, "%s", ryot_last_error());
    int bad = 0;
    for (int b = 0; b < N / 32; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++)
            amax = fmaxf(amax, fabsf(x[32 * b + i]));
        /* error: half a step plus the f16 rounding of the scale */
        float tol = amax / 127.0f * 0.5f + amax * 1e-3f;
        for (int i = 0; i < 32; i++)
            bad += fabsf(y[32 * b + i] - x[32 * b + i]) > tol;
    }
    CHECK(bad == 0, "%d Q8_0 values outside half a quantization step", bad);
    group_end();
}

static void test_float_round_trip(void)
{
    group_begin("F16 / BF16 / F32 quantize_row");
    const float x[8] = { 0.0f, 1.0f, -2.5f, 65504.0f, 0.000061035156f, -0.099975586f, 3.0f, 1024.0f };
    unsigned char buf[32];
    uint16_t h;
    CHECK(quantize_row(DT_F16, x, buf, 8) == 0, "%s", ryot_last_error());
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        memcpy(&h, buf + 2 * i, 2);
        bad += f16_to_f32(h) != x[i];
    }
    CHECK(bad == 0, "F16 values not exact");
    const float xb[4] = { 1.0f, -0.5f, 3.0f, 1.5f };
    CHECK(quantize_row(DT_BF16, xb, buf, 4) == 0, "%s", ryot_last_error());
    bad = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(&h, buf + 2 * i, 2);
        bad += bf16_to_f32(h) != xb[i];
    }
    CHECK(bad == 0, "BF16 values not exact");
    float y[8];
    CHECK(quantize_row(DT_F32, x, y, 8) == 0 && memcmp(x, y, sizeof y) == 0, "F32 copy");
    group_end();
}

static void test_errors(void)
{
    group_begin("bad arguments give -1 with a message");
    unsigned char blk[66] = { 0 };
    float y[256], x[256] = { 0 };
    CHECK(dequantize_row(DT_F32, blk, y, 4) == -1 && strstr(ryot_last_error(), "F32"),
          "F32 is not block-quantized: '%s'", ryot_last_error());
    CHECK(dequantize_row(DT_TQ2_0, blk, y, 100) == -1 && strstr(ryot_last_error(), "100"),
          "partial block: '%s'", ryot_last_error());
    CHECK(dequantize_row(DT_Q8_0, blk, y, -32) == -1, "negative count");
    CHECK(dequantize_row((enum dtype)99, blk, y, 32) == -1, "invalid dtype");
    CHECK(quantize_row(DT_Q4_K, x, blk, 256) == -1 && strstr(ryot_last_error(), "Q4_K"),
          "no Q4_K quantizer: '%s'", ryot_last_error());
    CHECK(quantize_row(DT_TQ1_0, x, blk, 255) == -1, "partial TQ1_0 block");
    CHECK(dequantize_row(DT_Q4_0, blk, y, 0) == 0, "zero elements is fine");
    group_end();
}

int main(void)
{
    test_q8_0();
    test_q4_0();
    test_q4_k();
    test_q6_k();
    test_tq2_0_layout();
    test_tq1_0_layout();
    test_i2_s_layout();
    test_ternary_codes();
    test_ternary_round_trip();
    test_q8_0_round_trip();
    test_float_round_trip();
    test_errors();
    return check_summary();
}
