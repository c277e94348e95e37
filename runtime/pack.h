/* The packer: converts weights (f32/f16/bf16, or the ternary values a BitNet
 * checkpoint holds as TQ1_0/TQ2_0/I2_S/I8, all via tensor_to_f32, the
 * ternary block types straight from their codes when exactly ternary; Q6_K
 * into int6 as stored) into the exact layout one generated low-bit linear
 * kernel reads.
 *
 * A layout is named by a key string the generator writes for each kernel
 * instance (gen/lowbit.lua describes the layouts), e.g.
 *   "lowbit family=mad enc=trit5 wtype=ternary rows=640 cols=2560
 *    rows_pad=640 cols_pad=2560 rg=16 q=4 order=rq sb=0"
 * (lut keys end in " g=G table=i16|i8": the table precision does not change
 * the bytes, but names the kernel the weights were packed for).
 * The generated model passes its kernel's key to pack_tensor; the packed
 * weights carry the key, and pack_check refuses weights packed for any other
 * layout, so a kernel never reads a layout it was not generated for.
 *
 * Quantization: ternary weights get one scale per tensor: the common
 * magnitude when the tensor already is {-s, 0, +s} (a BitNet checkpoint),
 * else BitNet's absmean, w = clamp(round(w / mean|w|), -1, 1).  int2 and
 * int4 get an f16 scale per row and block of sb columns, d = m / -2^(bits-1)
 * where m is the block's value of largest magnitude (Q4_0's rule), so m
 * maps to the most negative code.  int6 has Q6_K's two levels (gen/lowbit.lua):
 * Q6_K blocks are copied as they are (codes, int8 sub-scales and f16 d: the
 * same values bit for bit); other types are quantized the same way twice:
 * per sub-block of 16 the value m of largest magnitude gives the real scale
 * s = m / -32, per super-block of 256 the s of largest magnitude gives
 * d = f16(s / -128), each sub-block sc = clamp(round(s / d), -128, 127) and
 * each weight u = clamp(round(w / (d * sc)), -32, 31) + 32 (sc = 0: u = 32),
 * rounding to nearest, ties to even.  Every weight is then within
 * |d * sc| + 16 |d| of its value (a step where a value of the other sign
 * than m clamps to 31, and the rounding of sc to 1/2 of d, 32 times). */
#ifndef RYOT_PACK_H
#define RYOT_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct sched;
struct weight_file;

#define PACK_LAYOUT_MAX 192

enum pack_family { PACK_MAD, PACK_LUT };
enum pack_encoding { PACK_CODE2, PACK_CODE4, PACK_TRIT5, PACK_PLANES, PACK_CODE6 };
enum pack_wtype { PACK_TERNARY, PACK_INT2, PACK_INT4, PACK_INT6 };
enum pack_table { PACK_TABLE_I16, PACK_TABLE_I8 };

struct pack_layout {
    enum pack_family family;
    enum pack_encoding enc;
    enum pack_wtype wtype;
    int64_t rows, cols, rows_pad, cols_pad;
    int rg;          /* rows per group */
    int q;           /* byte columns per slab (4 for mad) */
    bool row_major;  /* order=rq (lut slabs), else qr */
    int sb;          /* columns per scale block, 0 = one scale per tensor */
    int g;           /* lut: columns per table group, a divisor of 8 (0 for mad) */
    int sub;         /* int6: columns per int8 sub-block scale (16), else 0 */
    enum pack_table table;  /* lut: exact int16 or per-token int8 tables (gen/lowbit.lua) */
    /* derived */
    int offset;      /* stored code u = w + offset */
    int bits;        /* bits of u: planes of a lut layout */
    int qmin, qmax;  /* range of w */
    int slab_cols;
    size_t slab_bytes, code_bytes, scale_offset, bytes;
    size_t sub_offset;  /* int6: the int8 sub-scales [row group][sub-block][rg] */
};

/* Parse and validate a layout key.  0, or -1 with a message naming the key. */
int pack_layout_parse(const char *key, struct pack_layout *l);

/* Quantize weights w [rows][cols] (f32, row-major) to the layout's weight
 * type and write l->bytes bytes of packed data to dst (64-byte aligned). */
int pack_f32(const struct pack_layout *l, const float *w, void *dst);

/* Lay out int6 weights given as they are stored (an int6 layout): codes
 * u [rows][cols] in 0..63, int8 sub-scales sc [rows][cols_pad / 16] and
 * f16 super-block scales d [rows][cols_pad / 256]; w = d * sc * (u - 32). */
int pack_int6(const struct pack_layout *l, const uint8_t *u, const int8_t *sc, const uint16_t *d, void *dst);

struct packed_weights {
    char layout[PACK_LAYOUT_MAX];  /* key of the layout `data` is in */
    int64_t rows, cols;
    const uint8_t *data;
    size_t nbytes;
};

/* Pack tensor `name` of wf (shape [rows][cols] as the layout says) into
 * `store`, on the threads of `s` (NULL: on the calling thread alone; the
 * bytes do not depend on the thread count).  -1 with a message naming the
 * file and tensor on failure. */
int pack_tensor(struct packed_weights *out, const struct weight_file *wf, struct arena *store, struct sched *s,
                const char *name, const char *layout);

/* 0 if p was packed for `layout`, else -1 with a message naming `what`. */
int pack_check(const struct packed_weights *p, const char *layout, const char *what);

#endif
