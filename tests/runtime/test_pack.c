/* Tests of the low-bit weight packer (runtime/pack.c): layout keys, the
 * quantization rules, the mad code layout read back by an independent
 * decoder, packing tensors of a weight file, and refusing weights packed
 * for another layout.  (Every generated kernel's test also packs through
 * it and must match a scalar reference bit for bit.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "error.h"
#include "f16.h"
#include "pack.h"
#include "quant.h"
#include "sched.h"
#include "tensor.h"

/* Two small mad code2 layouts (rows groups of 4, slabs of 16 columns). */
#define TERNARY_3x20 "lowbit family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0"
#define INT4_2x24 "lowbit family=mad enc=code4 wtype=int4 rows=2 cols=24 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=16"

/* Weight (r, c) of a mad layout, decoded here from the key's description. */
static int mad_weight(const struct pack_layout *l, const uint8_t *data, int r, int c)
{
    const int per_byte = l->slab_cols / 4, slabs = (int)(l->cols_pad / l->slab_cols);
    const int s = c / l->slab_cols, j = (c % l->slab_cols) / 4, q = c % 4;
    unsigned byte = data[((size_t)(r / l->rg) * slabs + s) * l->slab_bytes + (size_t)(r % l->rg) * 4 + q];
    unsigned u;
    if (l->enc == PACK_TRIT5) {
        const int negate = byte >> 7;
        byte &= 127;
        for (int k = 0; k < j; k++)
            byte /= 3;
        u = negate ? 2 - byte % 3 : byte % 3;
    } else {
        const int width = per_byte == 4 ? 2 : 4;
        u = (byte >> (width * j)) & ((1u << width) - 1);
    }
    return (int)u - l->offset;
}

static void test_keys(void)
{
    group_begin("layout keys");
    struct pack_layout l;
    CHECK(pack_layout_parse(TERNARY_3x20, &l) == 0, "%s", ryot_last_error());
    CHECK(l.family == PACK_MAD && l.enc == PACK_CODE2 && l.wtype == PACK_TERNARY && l.offset == 1, "fields");
    CHECK(l.slab_cols == 16 && l.code_bytes == 2 * 16 && l.scale_offset == 64 && l.bytes == 128, "sizes %zu", l.bytes);
    CHECK(pack_layout_parse(INT4_2x24, &l) == 0 && l.slab_cols == 8 && l.code_bytes == 64 && l.bytes == 128, "%s", ryot_last_error());
    CHECK(pack_layout_parse("lowbit family=lut enc=planes wtype=int2 rows=16 cols=64 rows_pad=16 cols_pad=64 "
                            "rg=16 q=4 order=rq sb=64 g=4 table=i16", &l) == 0 && l.slab_bytes == 128 &&
          l.code_bytes == 256 && l.g == 4 && l.table == PACK_TABLE_I16, "%s", ryot_last_error());
    CHECK(pack_layout_parse("lowbit family=lut enc=planes wtype=ternary rows=16 cols=64 rows_pad=16 cols_pad=64 "
                            "rg=16 q=2 order=qr sb=0 g=2 table=i8", &l) == 0 && l.slab_bytes == 64 &&
          l.g == 2 && l.table == PACK_TABLE_I8, "%s", ryot_last_error());
    static const char *const bad[] = {
        "family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0",
        "lowbit family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 sb=0",
        "lowbit family=max enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0",
        "lowbit family=mad enc=trit5 wtype=int2 rows=3 cols=20 rows_pad=4 cols_pad=20 rg=4 q=4 order=rq sb=20",
        "lowbit family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=3 cols_pad=32 rg=4 q=4 order=rq sb=0",
        "lowbit family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=24 rg=4 q=4 order=rq sb=0",
        "lowbit family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=16",
        "lowbit family=mad enc=code2 wtype=int2 rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=24",
        "lowbit family=mad enc=code2 wtype=ternary rows=3x cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0",
        "lowbit family=lut enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0 g=4 table=i16",
        "lowbit family=lut enc=planes wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0",
        "lowbit family=lut enc=planes wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0 g=3 table=i16",
        "lowbit family=lut enc=planes wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=4 q=4 order=rq sb=0 g=4 table=i4",
        "lowbit family=mad enc=code2 wtype=ternary rows=3 cols=20 rows_pad=4 cols_pad=32 rg=99 q=4 order=rq sb=0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(pack_layout_parse(bad[i], &l) != 0, "accepted bad key %zu", i);
        CHECK(strstr(ryot_last_error(), "layout '") != NULL, "message '%s' does not name the key", ryot_last_error());
    }
    group_end();
}

static void test_ternary(void)
{
    group_begin("ternary quantization and layout");
    struct pack_layout l;
    pack_layout_parse(TERNARY_3x20, &l);
    float w[3 * 20];
    uint8_t packed[128] __attribute__((aligned(64)));
    /* already ternary with magnitude 0.37: kept exactly */
    for (int i = 0; i < 60; i++)
        w[i] = (float)(i % 3 - 1) * 0.37f;
    CHECK(pack_f32(&l, w, packed) == 0, "%s", ryot_last_error());
    float s;
    memcpy(&s, packed + l.scale_offset, 4);
    CHECK(s == 0.37f, "scale %g, want 0.37", s);
    int bad = 0;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 32; c++)
            bad += mad_weight(&l, packed, r, c) != (r < 3 && c < 20 ? (r * 20 + c) % 3 - 1 : 0);
    CHECK(bad == 0, "%d codes decode wrong (padding must hold 0)", bad);
    /* not ternary: BitNet's absmean, round, clamp to [-1, 1] */
    double abs_sum = 0;
    for (int i = 0; i < 60; i++) {
        w[i] = (float)((i * 7) % 11 - 5) * 0.1f;
        abs_sum += fabsf(w[i]);
    }
    CHECK(pack_f32(&l, w, packed) == 0, "%s", ryot_last_error());
    memcpy(&s, packed + l.scale_offset, 4);
    CHECK(fabs(s - abs_sum / 60) <= 1e-6 * abs_sum / 60, "absmean scale %g, want %g", s, abs_sum / 60);
    bad = 0;
    for (int i = 0; i < 60; i++) {
        const float v = nearbyintf(w[i] / s);
        bad += mad_weight(&l, packed, i / 20, i % 20) != (v > 1 ? 1 : v < -1 ? -1 : (int)v);
    }
    CHECK(bad == 0, "%d absmean codes wrong", bad);
    w[7] = NAN;
    CHECK(pack_f32(&l, w, packed) != 0 && strstr(ryot_last_error(), "NaN"), "NaN weight accepted");
    group_end();
}

static void test_blocks(void)
{
    group_begin("int4 block scales");
    struct pack_layout l;
    pack_layout_parse(INT4_2x24, &l);
    float w[2 * 24];
    for (int i = 0; i < 48; i++)
        w[i] = (float)((i * 5) % 13 - 6) * 0.25f;
    w[3] = 3.5f;     /* block (0, 0): largest magnitude positive -> d = 3.5 / -8 */
    w[24 + 17] = -2.0f;  /* block (1, 1): columns 16..23, largest -2 -> d = 0.25 */
    uint8_t packed[192] __attribute__((aligned(64)));
    CHECK(pack_f32(&l, w, packed) == 0, "%s", ryot_last_error());
    uint16_t h;
    memcpy(&h, packed + l.scale_offset + (0 * 2 + 0) * 4 * 2 + 0 * 2, 2);
    const float d00 = f16_to_f32(h);
    CHECK(d00 == f16_to_f32(f32_to_f16(3.5f / -8)), "scale of block (0,0) is %g", d00);
    memcpy(&h, packed + l.scale_offset + (0 * 2 + 1) * 4 * 2 + 1 * 2, 2);
    CHECK(f16_to_f32(h) == 0.25f, "scale of block (1,1) is %g", f16_to_f32(h));
    CHECK(mad_weight(&l, packed, 0, 3) == -8 && mad_weight(&l, packed, 1, 17) == -8, "largest value -> code -8");
    int bad = 0;
    for (int c = 0; c < 16; c++) {
        const float v = nearbyintf(w[c] / d00);
        bad += mad_weight(&l, packed, 0, c) != (v > 7 ? 7 : v < -8 ? -8 : (int)v);
    }
    CHECK(bad == 0, "%d codes of block (0,0) wrong", bad);
    group_end();
}

static struct tensor matrix(const char *name, enum dtype type, const void *data, size_t nbytes, int64_t rows,
                            int64_t cols)
{
    struct tensor t = { .type = type, .ndim = 2, .shape = { rows, cols }, .data = data, .nbytes = nbytes, .scale = 1.0f };
    snprintf(t.name, sizeof t.name, "%s", name);
    return t;
}

static void test_tensors(void)
{
    group_begin("pack_tensor and pack_check");
    /* BitNet-style checkpoints: I8 trits with a tensor scale, TQ2_0 blocks */
    int8_t trits[3 * 20];
    for (int i = 0; i < 60; i++)
        trits[i] = (int8_t)(i % 3 - 1);
    enum { TQ_COLS = 256 };
    uint8_t tq2[3][66];  /* per row one block: 64 bytes of 2-bit codes, f16 d */
    for (int r = 0; r < 3; r++) {
        memset(tq2[r], r == 0 ? 0xaa : r == 1 ? 0x00 : 0x55, 64);  /* codes 2 (+1), 0 (-1), 1 (0) */
        const uint16_t d = f32_to_f16(0.75f);
        memcpy(tq2[r] + 64, &d, 2);
    }
    struct tensor ts[3] = {
        matrix("trits", DT_I8, trits, sizeof trits, 3, 20),
        matrix("tq2", DT_TQ2_0, tq2, sizeof tq2, 3, TQ_COLS),
        matrix("wide", DT_I8, trits, sizeof trits, 2, 30),
    };
    ts[0].scale = 0.5f;
    struct weight_file wf = { .path = "mem.gguf", .tensors = ts, .n_tensors = 3 };
    struct arena store;
    CHECK(arena_init(&store, 1 << 20) == 0, "%s", ryot_last_error());
    struct packed_weights p;
    struct pack_layout l;
    CHECK(pack_tensor(&p, &wf, &store, NULL, "trits", TERNARY_3x20) == 0, "%s", ryot_last_error());
    pack_layout_parse(TERNARY_3x20, &l);
    float s;
    memcpy(&s, p.data + l.scale_offset, 4);
    int bad = 0;
    for (int i = 0; i < 60; i++)
        bad += mad_weight(&l, p.data, i / 20, i % 20) != trits[i];
    CHECK(bad == 0 && s == 0.5f, "I8 trits: %d codes wrong, scale %g", bad, s);
    CHECK(!strcmp(p.layout, TERNARY_3x20) && p.rows == 3 && p.cols == 20 && p.nbytes == l.bytes, "packed header");
    CHECK(pack_check(&p, TERNARY_3x20, "blk.0.attn_q.weight") == 0, "%s", ryot_last_error());
    CHECK(pack_check(&p, INT4_2x24, "blk.0.attn_q.weight") != 0 &&
              strstr(ryot_last_error(), "blk.0.attn_q.weight") && strstr(ryot_last_error(), "wtype=int4"),
          "layout mismatch not refused: '%s'", ryot_last_error());

    static const char tq_key[] = "lowbit family=mad enc=trit5 wtype=ternary rows=3 cols=256 rows_pad=4 cols_pad=260 "
                                 "rg=4 q=4 order=rq sb=0";
    CHECK(pack_tensor(&p, &wf, &store, NULL, "tq2", tq_key) == 0, "%s", ryot_last_error());
    pack_layout_parse(tq_key, &l);
    memcpy(&s, p.data + l.scale_offset, 4);
    bad = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < TQ_COLS; c++)
            bad += mad_weight(&l, p.data, r, c) != (r == 0 ? 1 : r == 1 ? -1 : 0);
    CHECK(bad == 0 && s == 0.75f, "TQ2_0 into trit5: %d codes wrong, scale %g", bad, s);

    CHECK(pack_tensor(&p, &wf, &store, NULL, "missing", TERNARY_3x20) != 0 &&
              strstr(ryot_last_error(), "mem.gguf") && strstr(ryot_last_error(), "'missing'"),
          "missing tensor: '%s'", ryot_last_error());
    CHECK(pack_tensor(&p, &wf, &store, NULL, "wide", TERNARY_3x20) != 0 && strstr(ryot_last_error(), "wide"),
          "wrong shape accepted: '%s'", ryot_last_error());
    CHECK(pack_tensor(&p, &wf, &store, NULL, "trits", "lowbit nonsense") != 0, "bad key accepted");
    arena_destroy(&store);
    group_end();
}

/* pack_tensor reads ternary TQ1_0 / TQ2_0 / I2_S weights as codes, without
 * a float pass, when the tensor is exactly ternary (else as floats), and
 * splits the work over threads: the bytes must be those pack_f32 gives for
 * the tensor's f32 values, on any thread count.  Rows of 300 cross block
 * boundaries; 37 rows leave a partial row group.  I2_S has no block scales
 * (its scale is the tensor's) and refuses a code 3. */
static void test_stored_ternary(void)
{
    group_begin("pack_tensor from TQ1_0 / TQ2_0 / I2_S = pack_f32");
    enum { ROWS = 37, COLS = 300, N = ROWS * COLS, BLOCKS = (N + 255) / 256 };
    static const char *const keys[] = {
        "lowbit family=mad enc=trit5 wtype=ternary rows=37 cols=300 rows_pad=48 cols_pad=300 rg=16 q=4 order=rq sb=0",
        "lowbit family=mad enc=code2 wtype=ternary rows=37 cols=300 rows_pad=40 cols_pad=304 rg=4 q=4 order=rq sb=0",
    };
    enum { EXACT, NEGATIVE_BLOCK, CODE_3, ONLY_CODES_1_3, OTHER_SCALE, NAN_SCALE, TENSOR_SCALE, PADDING, CASES };
    static const char *const case_names[] = {
        "one scale", "a negative block scale", "a code 3", "codes 1 and 3 only (0 and 2d)",
        "a block of another scale", "a NaN block scale", "a tensor scale",
        "all zero but the last block's padding (not weights: scale 1)",
    };
    static float w[BLOCKS * 256], f[N];
    static unsigned char blocks[BLOCKS * 66];
    struct sched *two = sched_create(2, false);
    struct arena store;
    CHECK(two && arena_init(&store, 1 << 20) == 0, "%s", ryot_last_error());
    static const enum dtype types[] = { DT_TQ1_0, DT_TQ2_0, DT_I2_S };
    for (size_t type = 0; type < sizeof types / sizeof types[0]; type++) {
        const enum dtype dt = types[type];
        const size_t bb = dtype_block_bytes(dt), d_at = dt == DT_TQ2_0 ? 64 : 52;
        const bool i2_s = dt == DT_I2_S;
        for (int c = 0; c < CASES; c++) {
            if (i2_s && (c == NEGATIVE_BLOCK || c == ONLY_CODES_1_3 || c == OTHER_SCALE || c == NAN_SCALE))
                continue;  /* block scales, or TQ2_0's code 3 */
            uint32_t rng = 12345;
            for (int i = 0; i < BLOCKS * 256; i++) {
                rng = rng * 1103515245u + 12345u;
                w[i] = (i < N) == (c != PADDING) ? 0.37f * (float)((int)(rng >> 16) % 3 - 1) : 0.0f;
            }
            CHECK(quantize_row(dt, w, blocks, BLOCKS * 256) == 0, "%s", ryot_last_error());
            for (int b = 0; c == ONLY_CODES_1_3 && dt == DT_TQ2_0 && b < BLOCKS; b++)
                for (int i = 0; i < 64; i++)
                    blocks[b * bb + (size_t)i] |= 0x55;  /* code 0 -> 1, 2 -> 3 */
            unsigned char *b3 = blocks + 3 * bb;  /* block 3 spans rows 2 and 3 (TQ) or 1 (I2_S) */
            if (c == NEGATIVE_BLOCK)
                b3[d_at + 1] ^= 0x80;
            if (c == CODE_3 && dt == DT_TQ2_0)
                b3[0] |= 0x03;  /* element 0 of the block: code 3 is 2 * d */
            if (c == CODE_3 && i2_s)
                b3[5] |= 0x0c;  /* element 64 + 5 of the block: code 3 is no value */
            if (c == OTHER_SCALE)
                b3[d_at] ^= 0x01;
            if (c == NAN_SCALE)
                b3[d_at] = 0x00, b3[d_at + 1] = 0x7e;
            const float tensor_scale = c == TENSOR_SCALE ? -0.5f : 1.0f;
            struct tensor t = { .type = dt, .ndim = 2, .shape = { ROWS, COLS }, .data = blocks,
                                .nbytes = dtype_row_bytes(dt, N), .scale = i2_s ? 0.37f * tensor_scale : tensor_scale };
            snprintf(t.name, sizeof t.name, "w");
            struct weight_file wf = { .path = "mem.gguf", .tensors = &t, .n_tensors = 1 };
            if (c == CODE_3 && i2_s) {
                for (int threaded = 0; threaded < 2; threaded++) {
                    struct packed_weights p;
                    CHECK(pack_tensor(&p, &wf, &store, threaded ? two : NULL, "w", keys[threaded]) != 0
                              && strstr(ryot_last_error(), "mem.gguf: tensor 'w'")
                              && strstr(ryot_last_error(), "I2_S block 3 holds code 3"),
                          "I2_S code 3, %d threads: '%s'", threaded + 1, ryot_last_error());
                }
                continue;
            }
            CHECK(tensor_to_f32(&t, 0, N, f) == 0, "%s", ryot_last_error());
            for (int k = 0; k < 2; k++) {
                struct pack_layout l;
                pack_layout_parse(keys[k], &l);
                uint8_t *want = malloc(l.bytes);
                const int want_rc = pack_f32(&l, f, want);
                char want_error[256];
                snprintf(want_error, sizeof want_error, "%s", ryot_last_error());
                for (int threaded = 0; threaded < 2; threaded++) {
                    struct packed_weights p;
                    const int rc = pack_tensor(&p, &wf, &store, threaded ? two : NULL, "w", keys[k]);
                    CHECK(rc == want_rc, "%s with %s, key %d, %d threads: rc %d, pack_f32 %d", dtype_name(dt),
                          case_names[c], k, threaded + 1, rc, want_rc);
                    if (rc == 0 && want_rc == 0)
                        CHECK(memcmp(p.data, want, l.bytes) == 0, "%s with %s, key %d, %d threads: bytes differ",
                              dtype_name(dt), case_names[c], k, threaded + 1);
                    if (rc != 0 && want_rc != 0)
                        CHECK(strstr(ryot_last_error(), want_error) && strstr(ryot_last_error(), "'w'"),
                              "error '%s', want it to name 'w' and say '%s'", ryot_last_error(), want_error);
                    if (rc == 0 && c == EXACT) {
                        float s;
                        memcpy(&s, p.data + l.scale_offset, sizeof s);
                        CHECK(s == (i2_s ? 0.37f : f16_to_f32(f32_to_f16(0.37f))), "%s: scale %.9g kept exactly",
                              dtype_name(dt), s);
                    }
                }
                free(want);
            }
        }
    }
    arena_destroy(&store);
    sched_destroy(two);
    group_end();
}

/* An int6 layout: 3 rows in a group of 4, 300 columns padded to two super-blocks. */
#define INT6_3x300 "lowbit family=mad enc=code6 wtype=int6 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=256 sub=16"

/* Weight (r, c) of an int6 layout decoded from gen/lowbit.lua's description,
 * as d * sc * (u - 32) in dequant_q6_k's order; *d and *sc its scales. */
static float int6_value(const struct pack_layout *l, const uint8_t *data, int64_t r, int64_t c, float *d, int *sc)
{
    const int64_t slabs = l->cols_pad / 16, g = r / l->rg, j = c % 16 / 4;
    const uint8_t *slab = data + (size_t)(g * slabs + c / 16) * l->slab_bytes + (size_t)(r % l->rg) * 4 + (size_t)(c % 4);
    const int nibble = slab[(size_t)(j / 2) * (size_t)l->rg * 4] >> (4 * (j % 2)) & 15;
    const int high = slab[2 * (size_t)l->rg * 4] >> (2 * j) & 3;
    *sc = (int8_t)data[l->sub_offset + (size_t)((g * slabs + c / 16) * l->rg + r % l->rg)];
    uint16_t h;
    memcpy(&h, data + l->scale_offset + (size_t)((g * (l->cols_pad / 256) + c / 256) * l->rg + r % l->rg) * 2, 2);
    *d = f16_to_f32(h);
    return *d * (float)*sc * (float)((nibble | high << 4) - 32);
}

/* int6: keys; Q6_K tensors packed as stored (the same values bit for bit,
 * the same bytes as pack_int6 lays out from the block's codes, any thread
 * count, odd and extreme sub-scales, d = 0 and negative d; a NaN d is an
 * error); floats within the quantizer's bound (runtime/pack.h). */
static void test_int6(void)
{
    group_begin("int6: keys, Q6_K as stored, float quantizer");
    struct pack_layout l;
    CHECK(pack_layout_parse(INT6_3x300, &l) == 0, "%s", ryot_last_error());
    CHECK(l.enc == PACK_CODE6 && l.wtype == PACK_INT6 && l.offset == 32 && l.slab_cols == 16 && l.slab_bytes == 48 &&
          l.code_bytes == 32 * 48 && l.sub_offset == 1536 && l.scale_offset == 1664 && l.bytes == 1728,
          "sizes: codes %zu, sub-scales at %zu, scales at %zu, %zu bytes", l.code_bytes, l.sub_offset, l.scale_offset,
          l.bytes);
    static const char *const bad[] = {
        "lowbit family=mad enc=code6 wtype=int6 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=256",
        "lowbit family=mad enc=code6 wtype=int6 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=64 sub=16",
        "lowbit family=mad enc=code6 wtype=int6 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=256 sub=32",
        "lowbit family=mad enc=code6 wtype=int4 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=256 sub=16",
        "lowbit family=mad enc=code4 wtype=int6 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=256 sub=16",
        "lowbit family=lut enc=planes wtype=int6 rows=3 cols=300 rows_pad=4 cols_pad=512 rg=4 q=4 order=rq sb=256 g=4 table=i16 sub=16",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(pack_layout_parse(bad[i], &l) != 0, "accepted bad int6 key %zu", i);

    enum { ROWS = 5, COLS = 512, BLOCKS = ROWS * COLS / 256 };
    static const char key[] = "lowbit family=mad enc=code6 wtype=int6 rows=5 cols=512 rows_pad=8 cols_pad=512 rg=4 q=4 "
                              "order=rq sb=256 sub=16";
    CHECK(pack_layout_parse(key, &l) == 0, "%s", ryot_last_error());
    unsigned char blocks[BLOCKS * 210];
    uint64_t state = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof blocks; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        blocks[i] = (unsigned char)(state >> 56);
    }
    for (int b = 0; b < BLOCKS; b++) {
        unsigned char *blk = blocks + b * 210;
        blk[192] = 0x80, blk[193] = 0x7f, blk[194] = 0xff, blk[195] = 0x01;  /* sc -128, 127, -1, 1 */
        const uint16_t d = b == 3 ? 0 : f32_to_f16((b % 2 ? -1.0f : 1.0f) * 0.001f * (float)(b + 1));
        blk[208] = (unsigned char)d, blk[209] = (unsigned char)(d >> 8);
    }
    struct tensor t = matrix("w", DT_Q6_K, blocks, sizeof blocks, ROWS, COLS);
    struct weight_file wf = { .path = "mem.gguf", .tensors = &t, .n_tensors = 1 };
    float *want = malloc(sizeof(float) * ROWS * COLS);
    uint8_t *codes = malloc(ROWS * COLS), *laid = aligned_alloc(64, l.bytes);
    int8_t sc[ROWS * COLS / 16];
    uint16_t d16[BLOCKS];
    CHECK(tensor_to_f32(&t, 0, ROWS * COLS, want) == 0, "%s", ryot_last_error());
    q6_k_codes(blocks, BLOCKS, codes, sc, d16);
    CHECK(pack_int6(&l, codes, sc, d16, laid) == 0, "%s", ryot_last_error());
    struct arena store;
    struct sched *two = sched_create(2, false);
    CHECK(arena_init(&store, 1 << 20) == 0 && two, "setup");
    for (int threaded = 0; threaded < 2; threaded++) {
        struct packed_weights p;
        CHECK(pack_tensor(&p, &wf, &store, threaded ? two : NULL, "w", key) == 0, "%s", ryot_last_error());
        int differ = 0;
        for (int64_t r = 0; r < ROWS; r++)
            for (int64_t c = 0; c < COLS; c++) {
                float d;
                int s;
                const float v = int6_value(&l, p.data, r, c, &d, &s);
                differ += memcmp(&v, &want[r * COLS + c], sizeof v) != 0;
            }
        CHECK(differ == 0, "%d threads: %d values differ from dequant_q6_k", threaded + 1, differ);
        CHECK(memcmp(p.data, laid, l.bytes) == 0, "%d threads: bytes differ from pack_int6's", threaded + 1);
    }
    blocks[5 * 210 + 208] = 0x00, blocks[5 * 210 + 209] = 0x7e;  /* a NaN d */
    struct packed_weights p;
    CHECK(pack_tensor(&p, &wf, &store, NULL, "w", key) != 0 && strstr(ryot_last_error(), "'w'") &&
          strstr(ryot_last_error(), "NaN"), "NaN d: '%s'", ryot_last_error());

    /* floats: sub-blocks of different magnitudes, one all zero, padding columns */
    CHECK(pack_layout_parse(INT6_3x300, &l) == 0, "%s", ryot_last_error());
    float w[3 * 300];
    for (int i = 0; i < 3 * 300; i++) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        const float mag = (i / 16 % 5 == 4) ? 0.0f : ldexpf(1.0f, i / 16 % 5 - 3);
        w[i] = mag * ((float)(state >> 40) / (float)(1 << 24) - 0.5f);
    }
    uint8_t *packed = aligned_alloc(64, l.bytes);
    CHECK(pack_f32(&l, w, packed) == 0, "%s", ryot_last_error());
    int outside = 0;
    double err2 = 0, w2 = 0;
    for (int64_t r = 0; r < 3; r++)
        for (int64_t c = 0; c < 300; c++) {
            float d;
            int s;
            const float v = int6_value(&l, packed, r, c, &d, &s), x = w[r * 300 + c];
            outside += !(fabsf(v - x) <= fabsf(d * (float)s) + 16 * fabsf(d) + 1e-6f * fabsf(x));
            outside += x == 0.0f && v != 0.0f;
            err2 += (double)(v - x) * (v - x);
            w2 += (double)x * x;
        }
    CHECK(outside == 0, "%d float weights outside the quantizer's bound", outside);
    CHECK(sqrt(err2 / w2) < 0.02, "relative rms error %.4f of 6-bit weights", sqrt(err2 / w2));
    free(packed);
    free(want);
    free(codes);
    free(laid);
    arena_destroy(&store);
    sched_destroy(two);
    group_end();
}

int main(void)
{
    test_keys();
    test_ternary();
    test_blocks();
    test_tensors();
    test_stored_ternary();
    test_int6();
    return check_summary();
}
