#include "pack.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "f16.h"
#include "quant.h"
#include "sched.h"
#include "tensor.h"

static int bad_key(const char *key, const char *why)
{
    return ryot_fail("layout '%s': %s", key, why);
}

static int field_int(const char *key, const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", name);
    const char *p = strstr(key, pat);
    if (!p)
        return ryot_fail("layout '%s': missing field '%s'", key, name);
    char *end;
    long long v = strtoll(p + strlen(pat), &end, 10);
    if (end == p + strlen(pat) || (*end != ' ' && *end != '\0') || v < lo || v > hi)
        return ryot_fail("layout '%s': field '%s' must be an integer in [%lld, %lld]", key, name,
                         (long long)lo, (long long)hi);
    *out = v;
    return 0;
}

/* Index of the field's value among `names`, or -1 with a message. */
static int field_enum(const char *key, const char *name, const char *const *names, int n)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", name);
    const char *p = strstr(key, pat);
    if (!p)
        return ryot_fail("layout '%s': missing field '%s'", key, name);
    p += strlen(pat);
    size_t len = strcspn(p, " ");
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == len && strncmp(p, names[i], len) == 0)
            return i;
    return ryot_fail("layout '%s': unknown %s '%.*s'", key, name, (int)len, p);
}

static size_t round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

int pack_layout_parse(const char *key, struct pack_layout *l)
{
    static const char *const families[] = { "mad", "lut" };
    static const char *const encodings[] = { "code2", "code4", "trit5", "planes", "code6" };
    static const char *const wtypes[] = { "ternary", "int2", "int4", "int6" };
    static const char *const orders[] = { "qr", "rq" };
    memset(l, 0, sizeof *l);
    if (strncmp(key, "lowbit ", 7) != 0 || strlen(key) >= PACK_LAYOUT_MAX)
        return bad_key(key, "not a low-bit layout key");
    int fam = field_enum(key, "family", families, 2), enc = field_enum(key, "enc", encodings, 5);
    int wt = field_enum(key, "wtype", wtypes, 4), ord = field_enum(key, "order", orders, 2);
    if (fam < 0 || enc < 0 || wt < 0 || ord < 0)
        return -1;
    l->family = (enum pack_family)fam;
    l->enc = (enum pack_encoding)enc;
    l->wtype = (enum pack_wtype)wt;
    l->row_major = ord == 1;
    int64_t rg, q, sb;
    if (field_int(key, "rows", 1, INT32_MAX, &l->rows) || field_int(key, "cols", 1, INT32_MAX, &l->cols) ||
        field_int(key, "rows_pad", 1, INT32_MAX, &l->rows_pad) ||
        field_int(key, "cols_pad", 1, INT32_MAX, &l->cols_pad) || field_int(key, "rg", 1, 64, &rg) ||
        field_int(key, "q", 1, 16, &q) || field_int(key, "sb", 0, 1 << 20, &sb))
        return -1;
    l->rg = (int)rg;
    l->q = (int)q;
    l->sb = (int)sb;

    static const int offsets[] = { 1, 2, 8, 32 }, bits[] = { 2, 2, 4, 6 };
    l->offset = offsets[wt];
    l->bits = bits[wt];
    l->qmin = -offsets[wt];
    l->qmax = wt == PACK_TERNARY ? 1 : offsets[wt] - 1;
    if (l->family == PACK_MAD) {
        static const int per_byte[] = { 4, 2, 5, 0, 4 };
        if (l->enc == PACK_PLANES)
            return bad_key(key, "mad layouts store codes, not planes");
        if ((l->enc == PACK_TRIT5 && l->wtype != PACK_TERNARY) || (l->enc == PACK_CODE2 && l->bits != 2)
            || ((l->enc == PACK_CODE6) != (l->wtype == PACK_INT6)))
            return bad_key(key, "encoding cannot hold this weight type");
        if (l->q != 4 || !l->row_major)
            return bad_key(key, "mad slabs are rg rows x 4 byte columns, row-major");
        l->slab_cols = 4 * per_byte[l->enc];
        l->slab_bytes = (size_t)l->rg * (l->enc == PACK_CODE6 ? 12 : 4);  /* code6: 3 parts */
    } else {
        static const char *const tables[] = { "i16", "i8" };
        const int table = field_enum(key, "table", tables, 2);
        int64_t g;
        if (table < 0 || field_int(key, "g", 1, 8, &g))
            return -1;
        if (8 % g != 0)
            return bad_key(key, "the lut group size g must divide 8");
        l->g = (int)g;
        l->table = (enum pack_table)table;
        if (l->enc != PACK_PLANES || l->wtype == PACK_INT6)
            return bad_key(key, "lut layouts store bit-planes of one-level scaled weights");
        l->slab_cols = 8 * l->q;
        l->slab_bytes = (size_t)l->rg * l->q * l->bits;
    }
    if ((l->wtype == PACK_TERNARY) != (l->sb == 0))
        return bad_key(key, "ternary weights have one scale per tensor (sb=0), int2/int4 per block");
    if (l->sb % l->slab_cols != 0)
        return bad_key(key, "the scale block must be a whole number of slabs");
    if (l->rows_pad < l->rows || l->rows_pad % l->rg != 0 || l->rows_pad - l->rows >= l->rg)
        return bad_key(key, "rows_pad must be rows rounded up to a multiple of rg");
    if (l->cols_pad < l->cols || l->cols_pad % l->slab_cols != 0 || (l->sb && l->cols_pad % l->sb != 0))
        return bad_key(key, "cols_pad must be a multiple of the slab and scale block covering cols");
    if (l->wtype == PACK_INT6) {
        int64_t sub;
        if (field_int(key, "sub", 16, 16, &sub))
            return -1;
        if (l->sb != 256)
            return bad_key(key, "int6 super-blocks are 256 columns (sb=256), Q6_K's");
        l->sub = (int)sub;
    }
    l->code_bytes = (size_t)(l->rows_pad / l->rg) * (size_t)(l->cols_pad / l->slab_cols) * l->slab_bytes;
    l->scale_offset = round_up(l->code_bytes, 64);
    if (l->sub) {
        l->sub_offset = l->scale_offset;
        l->scale_offset = round_up(l->sub_offset + (size_t)l->rows_pad * (size_t)(l->cols_pad / l->sub), 64);
    }
    size_t scale_bytes = l->sb ? (size_t)l->rows_pad * (size_t)(l->cols_pad / l->sb) * 2 : 4;
    l->bytes = l->scale_offset + round_up(scale_bytes, 64);
    return 0;
}

/* ---- quantization ---------------------------------------------------------
 * Packing runs in passes over the tensor, each on the scheduler's threads:
 * a scale pass (ternary only: the one scale needs every weight), then a
 * band pass that quantizes one row group at a time into a codes band
 * [rg][cols_pad] small enough to stay in cache, and lays it out.  Ternary
 * weights stored as TQ1_0 / TQ2_0 / I2_S take one band pass instead,
 * straight from their codes, which also checks that the tensor is exactly
 * ternary (the usual case); if not, the float passes run.  Nothing the size
 * of the tensor is allocated besides the packed result. */

/* BitNet's absmean adds |w| up as float sums of this many weights, in
 * order, then those sums in double: the grouping is part of the result. */
#define ABS_CHUNK 4096
/* weights per task of the scale pass (a whole number of ABS_CHUNKs and of
 * any block) */
#define STATS_SPAN (8 * ABS_CHUNK)

/* What the scale pass learns about a ternary tensor, or a span of it. */
struct ternary_stats {
    uint32_t max_bits;          /* largest |w| as bits (the same order as the floats) */
    uint32_t min_nonzero_bits;  /* smallest nonzero |w| as bits, UINT32_MAX if none */
    size_t non_finite;
};

static const struct ternary_stats no_stats = { 0, UINT32_MAX, 0 };

static void stats_add(struct ternary_stats *st, uint32_t abs_bits)
{
    st->max_bits = abs_bits > st->max_bits ? abs_bits : st->max_bits;
    if (abs_bits != 0 && abs_bits < st->min_nonzero_bits)
        st->min_nonzero_bits = abs_bits;
    st->non_finite += abs_bits >= 0x7f800000u;
}

static void stats_merge(struct ternary_stats *into, const struct ternary_stats *part)
{
    into->max_bits = part->max_bits > into->max_bits ? part->max_bits : into->max_bits;
    into->min_nonzero_bits = part->min_nonzero_bits < into->min_nonzero_bits ? part->min_nonzero_bits
                                                                             : into->min_nonzero_bits;
    into->non_finite += part->non_finite;
}

/* Whether every weight is 0 or +-s, s = the largest |w|, and s > 0. */
static bool is_ternary(const struct ternary_stats *st)
{
    return st->max_bits != 0 && st->min_nonzero_bits == st->max_bits;
}

/* Ternary: one scale for the tensor of n finite weights.  An already-ternary
 * tensor {-s, 0, s} keeps s exactly (*exact set); anything else gets
 * BitNet's absmean from the float sums `partials` of each ABS_CHUNK. */
static float ternary_scale(const struct ternary_stats *st, const float *partials, size_t n, bool *exact)
{
    *exact = is_ternary(st);
    if (*exact)
        return f32_from_bits(st->max_bits);
    if (st->max_bits == 0)  /* all zero */
        return 1.0f;
    double abs_sum = 0.0;
    for (size_t i = 0; i < (n + ABS_CHUNK - 1) / ABS_CHUNK; i++)
        abs_sum += partials[i];
    const float mean = (float)(abs_sum / (double)n);
    return mean > 0.0f ? mean : 1.0f;
}

/* Stats of w[0, n) (n <= STATS_SPAN), and into partials[i] the float sum of
 * |w| over chunk i.  Eight chunks are summed side by side, each still in
 * order, so eight additions are in flight instead of one. */
static void float_stats(const float *w, size_t n, struct ternary_stats *st, float *partials)
{
    *st = no_stats;
    for (size_t i = 0; i < n; i++)
        stats_add(st, f32_bits(w[i]) & 0x7fffffffu);
    size_t c0 = 0;
    if (n == STATS_SPAN) {
        float part[STATS_SPAN / ABS_CHUNK] = { 0 };
        for (size_t i = 0; i < ABS_CHUNK; i++)
            for (size_t k = 0; k < STATS_SPAN / ABS_CHUNK; k++)
                part[k] += fabsf(w[k * ABS_CHUNK + i]);
        memcpy(partials, part, sizeof part);
        c0 = n;
    }
    for (; c0 < n; c0 += ABS_CHUNK) {
        float part = 0.0f;
        for (size_t i = c0; i < n && i < c0 + ABS_CHUNK; i++)
            part += fabsf(w[i]);
        partials[c0 / ABS_CHUNK] = part;
    }
}

/* round(v) to nearest, ties to even, clamped to [lo, hi].  Clamping first
 * keeps |v| small, so adding and removing 1.5 * 2^23 rounds exactly as
 * nearbyintf does, without a libm call per weight (NaN maps to lo). */
static int clamp_round(float v, int lo, int hi)
{
    v = v > (float)lo ? v : (float)lo;
    v = v < (float)hi ? v : (float)hi;
    return (int)((v + 0x1.8p23f) - 0x1.8p23f);
}

/* Byte offset in dst of row r's scale number `b` of `per_row`, in a section
 * stored [row group][scale][rg] at `section`, of `size` bytes each. */
static size_t scale_at(const struct pack_layout *l, size_t section, int64_t r, int64_t b, int64_t per_row, size_t size)
{
    const size_t g = (size_t)(r / l->rg);
    return section + ((g * (size_t)per_row + (size_t)b) * (size_t)l->rg + (size_t)(r % l->rg)) * size;
}

/* Row r's int8 sub-scales sc [cols_pad / 16] and f16 super-block scales d
 * [cols_pad / 256] into dst's scale sections. */
static void store_int6_scales(const struct pack_layout *l, int64_t r, const int8_t *sc, const uint16_t *d,
                              uint8_t *dst)
{
    const int64_t subs = l->cols_pad / l->sub, blocks = l->cols_pad / l->sb;
    for (int64_t k = 0; k < subs; k++)
        dst[scale_at(l, l->sub_offset, r, k, subs, 1)] = (uint8_t)sc[k];
    for (int64_t b = 0; b < blocks; b++)
        memcpy(dst + scale_at(l, l->scale_offset, r, b, blocks, 2), &d[b], 2);
}

/* The value of largest magnitude among w[0, n) (the first such). */
static float largest(const float *w, int64_t n)
{
    float m = 0.0f;
    for (int64_t c = 0; c < n; c++)
        if (fabsf(w[c]) > fabsf(m))
            m = w[c];
    return m;
}

/* int6 codes of row r (w: its cols weights) into u[0, cols), its scales
 * into dst: Q6_K's structure with this packer's rule (runtime/pack.h). */
static void quantize_int6(const struct pack_layout *l, const float *w, int64_t r, uint8_t *u, uint8_t *dst)
{
    enum { SUBS = 16 };  /* sub-blocks per super-block: the parser checked sb = 256, sub = 16 */
    const int64_t subs = l->cols_pad / l->sub, blocks = l->cols_pad / l->sb;
    for (int64_t b = 0; b < blocks; b++) {
        float s[SUBS], s_max = 0.0f;
        for (int k = 0; k < SUBS; k++) {
            const int64_t c0 = b * l->sb + k * l->sub, n = l->cols - c0 < l->sub ? l->cols - c0 : l->sub;
            s[k] = n > 0 ? largest(w + c0, n) / -32.0f : 0.0f;
            s_max = fabsf(s[k]) > fabsf(s_max) ? s[k] : s_max;
        }
        const uint16_t d16 = f32_to_f16(s_max / -128.0f);
        const float d = f16_to_f32(d16);
        memcpy(dst + scale_at(l, l->scale_offset, r, b, blocks, 2), &d16, 2);
        for (int k = 0; k < SUBS; k++) {
            const int sc = d != 0.0f ? clamp_round(s[k] / d, -128, 127) : 0;
            dst[scale_at(l, l->sub_offset, r, b * SUBS + k, subs, 1)] = (uint8_t)(int8_t)sc;
            const float ds = d * (float)sc;  /* the product the dequantization forms */
            const int64_t c0 = b * l->sb + k * l->sub;
            for (int64_t c = c0; c < c0 + l->sub && c < l->cols; c++)
                u[c] = (uint8_t)((ds != 0.0f ? clamp_round(w[c] / ds, -32, 31) : 0) + 32);
        }
    }
}

/* Codes u = w + offset of row r (w: its cols weights) into u[0, cols):
 * ternary at the tensor scale s (the sign when `exact`), int2/int4 with a
 * scale per row and block, int6 with its two levels, written to dst's scale
 * sections. */
static void quantize(const struct pack_layout *l, const float *w, int64_t r, float s, bool exact, uint8_t *u,
                     uint8_t *dst)
{
    if (l->sb == 0) {
        if (exact)  /* w / s is exactly -1, 0 or 1: its sign */
            for (int64_t c = 0; c < l->cols; c++)
                u[c] = (uint8_t)((w[c] > 0.0f) - (w[c] < 0.0f) + l->offset);
        else
            for (int64_t c = 0; c < l->cols; c++)
                u[c] = (uint8_t)(clamp_round(w[c] / s, -1, 1) + l->offset);
        return;
    }
    if (l->wtype == PACK_INT6) {
        quantize_int6(l, w, r, u, dst);
        return;
    }
    const int blocks = (int)(l->cols_pad / l->sb);
    for (int b = 0; b < blocks; b++) {
        const int64_t c0 = (int64_t)b * l->sb, c1 = c0 + l->sb < l->cols ? c0 + l->sb : l->cols;
        const uint16_t d16 = f32_to_f16(largest(w + c0, c1 - c0) / (float)l->qmin);
        const float d = f16_to_f32(d16);
        for (int64_t c = c0; c < c1; c++)
            u[c] = (uint8_t)((d != 0.0f ? clamp_round(w[c] / d, l->qmin, l->qmax) : 0) + l->offset);
        memcpy(dst + scale_at(l, l->scale_offset, r, b, blocks, 2), &d16, 2);
    }
}

/* mad: byte (r, q) of a slab holds row r's codes of columns 4j + q, j < P
 * (trit5: base 3, sign-folded; code6: in 3 parts, as gen/lowbit.lua
 * describes).  One row group:
 * codes [rg][cols_pad] into its slabs at dst.  Word j of a slab's row in
 * `codes` holds the codes of columns 4j .. 4j + 3, so the row's 4 bytes are
 * computed as one 32-bit word, lane by lane: no lane exceeds 255, so no
 * carry crosses lanes. */
static void lay_out_mad(const struct pack_layout *l, const uint8_t *codes, uint8_t *dst)
{
    const size_t cp = (size_t)l->cols_pad, slabs = cp / (size_t)l->slab_cols;
    for (int r = 0; r < l->rg; r++) {
        const uint8_t *u = codes + (size_t)r * cp;
        uint8_t *out = dst + (size_t)r * 4;
        for (size_t s = 0; s < slabs; s++, u += l->slab_cols, out += l->slab_bytes) {
            uint32_t w[5], v;
            memcpy(w, u, (size_t)l->slab_cols);
            if (l->enc == PACK_TRIT5) {
                v = w[0] + 3 * (w[1] + 3 * (w[2] + 3 * (w[3] + 3 * w[4])));
                /* lanes above 121 take the negated tuple, 242 - c, with the top bit set */
                const uint32_t fold = (((v + 0x06060606u) & 0x80808080u) >> 7) * 0xffu;
                v = (v & ~fold) | (((0xf2f2f2f2u - v) | 0x80808080u) & fold);
            } else if (l->enc == PACK_CODE2) {
                v = w[0] | w[1] << 2 | w[2] << 4 | w[3] << 6;
            } else if (l->enc == PACK_CODE6) {
                /* parts 0 and 1: the low nibbles of planes 0, 1 and 2, 3;
                 * part 2: the high 2 bits of plane j in bits 2j, 2j+1 */
                const uint32_t lo = 0x0f0f0f0fu, hi = 0x03030303u;
                const uint32_t part[3] = { (w[0] & lo) | (w[1] & lo) << 4, (w[2] & lo) | (w[3] & lo) << 4,
                                           (w[0] >> 4 & hi) | (w[1] >> 4 & hi) << 2 | (w[2] >> 4 & hi) << 4
                                               | (w[3] >> 4 & hi) << 6 };
                for (int p = 0; p < 3; p++)
                    memcpy(out + (size_t)p * (size_t)l->rg * 4, &part[p], 4);
                continue;
            } else {
                v = w[0] | w[1] << 4;
            }
            memcpy(out, &v, 4);
        }
    }
}

/* lut: plane p of a slab is rg x q bytes; byte column i holds 8/g fields of
 * g bits, field k bit p of the codes of group k*q + i (g columns). */
static void lay_out_lut(const struct pack_layout *l, const uint8_t *codes, uint8_t *dst)
{
    const size_t cp = (size_t)l->cols_pad, slabs = cp / (size_t)l->slab_cols;
    const size_t plane_bytes = (size_t)l->rg * (size_t)l->q;
    for (size_t rgi = 0; rgi < (size_t)(l->rows_pad / l->rg); rgi++)  /* row groups */
        for (size_t s = 0; s < slabs; s++)
            for (int p = 0; p < l->bits; p++) {
                uint8_t *plane = dst + (rgi * slabs + s) * l->slab_bytes + (size_t)p * plane_bytes;
                for (int r = 0; r < l->rg; r++) {
                    const uint8_t *u = codes + (rgi * l->rg + (size_t)r) * cp + s * (size_t)l->slab_cols;
                    for (int i = 0; i < l->q; i++) {
                        unsigned byte = 0;
                        for (int k = 0; k < 8 / l->g; k++)
                            for (int j = 0; j < l->g; j++)
                                byte |= ((u[(k * l->q + i) * l->g + j] >> p) & 1u) << (k * l->g + j);
                        const size_t at = l->row_major ? (size_t)r * l->q + i : (size_t)i * l->rg + r;
                        plane[at] = (uint8_t)byte;
                    }
                }
            }
}

/* ---- the passes ----------------------------------------------------------- */

struct pack_job {
    const struct pack_layout *l;
    const float *w;            /* the weights as f32 rows (pack_f32), or NULL: */
    const struct tensor *t;    /*   converted from this tensor (pack_tensor) */
    bool direct;               /* ternary codes straight from t's TQ1_0 / TQ2_0 / I2_S blocks */
    bool q6_k;                 /* int6 codes and scales copied from t's Q6_K blocks */
    float scale;               /* ternary: the tensor's scale */
    bool exact;                /*   and whether every w / scale is -1, 0 or 1 */
    uint8_t *dst;
    struct ternary_stats *stats;  /* one per STATS_SPAN weights (scale pass) or row group (direct) */
    float *partials;              /* scale pass: one |w| sum per ABS_CHUNK */
    /* per-worker scratch: f32 weights, stored ternary codes with their
     * blocks' scales and codes present, the codes band; `scratch_bytes` each */
    unsigned char *scratch;
    size_t scratch_bytes, f32_bytes, codes_bytes, scales_bytes;
    atomic_size_t non_finite;  /* band pass (int2/int4/int6) */
    atomic_size_t code_3_block;  /* direct: the first I2_S block holding a code 3, else SIZE_MAX */
    atomic_bool failed;        /* a conversion failed */
};

struct scratch {
    float *f32;
    uint8_t *codes;    /* stored ternary codes (direct) */
    float *scales;     /* their blocks' scales */
    uint8_t *present;  /* and the codes present in each (bit c for code c) */
    uint8_t *band;     /* [rg][cols_pad] */
};

static struct scratch scratch_of(const struct pack_job *job, int worker)
{
    unsigned char *p = job->scratch + (size_t)worker * job->scratch_bytes;
    return (struct scratch){
        .f32 = (float *)p,
        .codes = p + job->f32_bytes,
        .scales = (float *)(p + job->f32_bytes + job->codes_bytes),
        .present = p + job->f32_bytes + job->codes_bytes + job->scales_bytes,
        .band = p + job->f32_bytes + job->codes_bytes + 2 * job->scales_bytes,
    };
}

static size_t weight_count(const struct pack_layout *l) { return (size_t)l->rows * (size_t)l->cols; }

static size_t block_elems(const struct tensor *t)
{
    return dtype_block_elems(t->type) > 0 ? (size_t)dtype_block_elems(t->type) : 1;
}

/* Types whose blocks ternary_codes reads. */
static bool stores_ternary_codes(const struct tensor *t)
{
    return t && (t->type == DT_TQ1_0 || t->type == DT_TQ2_0 || t->type == DT_I2_S);
}

/* Weights [e0, e1) as f32: in place for pack_f32, else converted into buf
 * from the block boundary at or before e0.  NULL if conversion fails. */
static const float *weights_f32(const struct pack_job *job, size_t e0, size_t e1, float *buf)
{
    if (job->w)
        return job->w + e0;
    const size_t first = e0 / block_elems(job->t) * block_elems(job->t);
    if (tensor_to_f32(job->t, (int64_t)first, (int64_t)(e1 - first), buf) != 0)
        return NULL;
    return buf + (e0 - first);
}

/* Stored codes of the blocks covering weights [e0, e1) into the scratch;
 * returns the index of the first block. */
static size_t stored_codes(const struct pack_job *job, size_t e0, size_t e1, struct scratch *sc)
{
    const size_t be = block_elems(job->t), b0 = e0 / be, b1 = (e1 + be - 1) / be;
    const unsigned char *blocks = (const unsigned char *)job->t->data + b0 * dtype_block_bytes(job->t->type);
    ternary_codes(job->t->type, blocks, (int64_t)(b1 - b0), sc->codes, sc->scales, sc->present);
    return b0;
}

/* Weight (code - 1) * d of a block as tensor_to_f32 computes it. */
static float stored_weight(const struct tensor *t, float d, int code)
{
    float w = d * (float)(code - 1);
    if (t->scale != 1.0f)
        w *= t->scale;
    return w;
}

/* Codes of rows [r0, r1) into the band from the stored codes, assuming the
 * tensor is exactly ternary: u = sign(w) + 1 needs no scale, only each
 * block's sign of d.  The band's stats, into *st, tell whether the
 * assumption held: a block's weights take one value per code present.
 * An I2_S code 3 is no value at all: the first block holding one is noted
 * in job->code_3_block. */
static void band_from_stored(struct pack_job *job, int64_t r0, int64_t r1, struct scratch *sc,
                             struct ternary_stats *st)
{
    const struct pack_layout *l = job->l;
    const size_t e0 = (size_t)r0 * (size_t)l->cols, e1 = (size_t)r1 * (size_t)l->cols, be = block_elems(job->t);
    const size_t b0 = stored_codes(job, e0, e1, sc);
    *st = no_stats;
    /* Neighbouring blocks nearly always share their scale (I2_S's are all
     * 1): the sign table and the stats of its codes carry over until the
     * scale changes. */
    float d = NAN;
    uint8_t sign[4];
    bool fast = false;
    unsigned counted = 0;  /* codes whose weight at scale d is in *st */
    for (size_t b = b0; b * be < e1; b++) {
        uint8_t *code = sc->codes + (b - b0) * be;
        /* a block the band shares with its neighbours counts its own weights only */
        const size_t lo = e0 > b * be ? e0 - b * be : 0, hi = e1 - b * be < be ? e1 - b * be : be;
        unsigned present = sc->present[b - b0];
        if (lo > 0 || hi < be) {
            present = 0;
            for (size_t i = lo; i < hi; i++)
                present |= 1u << code[i];
        }
        if (job->t->type == DT_I2_S && present >> 3) {
            size_t seen = atomic_load_explicit(&job->code_3_block, memory_order_relaxed);
            while (b < seen && !atomic_compare_exchange_weak_explicit(&job->code_3_block, &seen, b,
                                                                      memory_order_relaxed, memory_order_relaxed)) {
            }
        }
        if (!(sc->scales[b - b0] == d)) {
            d = sc->scales[b - b0];
            for (int k = 0; k < 4; k++) {
                const float w = stored_weight(job->t, d, k);
                sign[k] = (uint8_t)((w > 0.0f) - (w < 0.0f) + 1);
            }
            fast = sign[0] == 0 && sign[1] == 1 && sign[2] == 2 && sign[3] == 2;
            counted = 0;
        }
        for (int k = 0; k < 4; k++)
            if ((present & ~counted) >> k & 1)
                stats_add(st, f32_bits(stored_weight(job->t, d, k)) & 0x7fffffffu);
        counted |= present;
        if (fast) {
            /* d > 0: the code itself, 3 read as 2 (eight codes a word) */
            for (size_t i = 0; i < be; i += 8) {
                uint64_t x;
                memcpy(&x, code + i, 8);
                x -= x & x >> 1 & 0x0101010101010101u;
                memcpy(code + i, &x, 8);
            }
        } else {
            for (size_t i = 0; i < be; i++)
                code[i] = sign[code[i]];
        }
    }
    const size_t cp = (size_t)l->cols_pad;
    for (int64_t r = r0; r < r1; r++)
        memcpy(sc->band + (size_t)(r - r0) * cp, sc->codes + ((size_t)r * (size_t)l->cols - b0 * be),
               (size_t)l->cols);
}

/* Rows [r0, r1) of a Q6_K tensor (rows of whole blocks) into the band and
 * their scales into dst, as stored; a block whose d is not finite counts
 * its weights as non-finite. */
static void band_from_q6_k(struct pack_job *job, int64_t r0, int64_t r1, uint8_t *band)
{
    const struct pack_layout *l = job->l;
    enum { CHUNK = 16 };  /* blocks decoded at a time: the stack stays small for any row */
    const int64_t blocks = l->cols / 256;
    size_t non_finite = 0;
    for (int64_t r = r0; r < r1; r++) {
        int8_t sc[CHUNK * 16];
        uint16_t d[CHUNK];
        for (int64_t b0 = 0; b0 < blocks; b0 += CHUNK) {
            const int64_t nb = blocks - b0 < CHUNK ? blocks - b0 : CHUNK;
            const unsigned char *src =
                (const unsigned char *)job->t->data + (size_t)(r * blocks + b0) * dtype_block_bytes(DT_Q6_K);
            q6_k_codes(src, nb, band + (size_t)(r - r0) * (size_t)l->cols_pad + (size_t)b0 * 256, sc, d);
            for (int64_t b = 0; b < nb; b++) {
                non_finite += (d[b] & 0x7c00u) == 0x7c00u ? 256 : 0;
                memcpy(job->dst + scale_at(l, l->scale_offset, r, b0 + b, blocks, 2), &d[b], 2);
                for (int k = 0; k < 16; k++)
                    job->dst[scale_at(l, l->sub_offset, r, (b0 + b) * 16 + k, blocks * 16, 1)] = (uint8_t)sc[16 * b + k];
            }
        }
    }
    atomic_fetch_add_explicit(&job->non_finite, non_finite, memory_order_relaxed);
}

static void scale_pass(void *ctx, size_t begin, size_t end, int worker)
{
    struct pack_job *job = ctx;
    struct scratch sc = scratch_of(job, worker);
    const size_t n = weight_count(job->l);
    for (size_t i = begin; i < end; i++) {
        const size_t e0 = i * STATS_SPAN, e1 = e0 + STATS_SPAN < n ? e0 + STATS_SPAN : n;
        const float *w = weights_f32(job, e0, e1, sc.f32);
        if (w)
            float_stats(w, e1 - e0, &job->stats[i], job->partials + e0 / ABS_CHUNK);
        else
            atomic_store_explicit(&job->failed, true, memory_order_relaxed);
    }
}

/* Codes of rows [r0, r1) into the band from f32 weights; -1 if they cannot
 * be converted. */
static int band_from_f32(struct pack_job *job, int64_t r0, int64_t r1, struct scratch *sc)
{
    const struct pack_layout *l = job->l;
    const size_t cols = (size_t)l->cols;
    const float *w = weights_f32(job, (size_t)r0 * cols, (size_t)r1 * cols, sc->f32);
    if (!w)
        return -1;
    if (l->sb) {  /* ternary weights were checked by the scale pass */
        size_t non_finite = 0;
        for (size_t i = 0; i < (size_t)(r1 - r0) * cols; i++)
            non_finite += (f32_bits(w[i]) & 0x7f800000u) == 0x7f800000u;
        atomic_fetch_add_explicit(&job->non_finite, non_finite, memory_order_relaxed);
    }
    for (int64_t r = r0; r < r1; r++)
        quantize(l, w + (size_t)(r - r0) * cols, r, job->scale, job->exact,
                 sc->band + (size_t)(r - r0) * (size_t)l->cols_pad, job->dst);
    return 0;
}

/* The band of row group g laid out into its slabs.  lay_out_lut walks
 * rows_pad / rg groups; a copy of the layout with one group serves it. */
static void lay_out_group(const struct pack_layout *l, const uint8_t *band, size_t g, uint8_t *dst)
{
    uint8_t *slabs = dst + g * (size_t)(l->cols_pad / l->slab_cols) * l->slab_bytes;
    if (l->family == PACK_MAD) {
        lay_out_mad(l, band, slabs);
    } else {
        struct pack_layout one_group = *l;
        one_group.rows_pad = l->rg;
        lay_out_lut(&one_group, band, slabs);
    }
}

static void band_pass(void *ctx, size_t begin, size_t end, int worker)
{
    struct pack_job *job = ctx;
    const struct pack_layout *l = job->l;
    struct scratch sc = scratch_of(job, worker);
    const size_t cp = (size_t)l->cols_pad;
    for (size_t g = begin; g < end; g++) {
        const int64_t r0 = (int64_t)g * l->rg, r1 = r0 + l->rg < l->rows ? r0 + l->rg : l->rows;
        if (r0 < r1) {
            if (job->direct)
                band_from_stored(job, r0, r1, &sc, &job->stats[g]);
            else if (job->q6_k)
                band_from_q6_k(job, r0, r1, sc.band);
            else if (band_from_f32(job, r0, r1, &sc) != 0)
                atomic_store_explicit(&job->failed, true, memory_order_relaxed);
        }
        /* padding holds w = 0 */
        for (int64_t r = r0; r < r1; r++)
            memset(sc.band + (size_t)(r - r0) * cp + (size_t)l->cols, l->offset, cp - (size_t)l->cols);
        const int64_t real = r1 > r0 ? r1 - r0 : 0;
        memset(sc.band + (size_t)real * cp, l->offset, (size_t)(l->rg - real) * cp);
        lay_out_group(l, sc.band, g, job->dst);
    }
}

/* fn over [0, n) on s's threads, or on this one when s is NULL. */
static void run_pass(struct sched *s, size_t n, range_fn fn, struct pack_job *job)
{
    if (s)
        parallel_for(s, n, 1, fn, job);
    else
        fn(job, 0, n, 0);
}

/* The scale pass over f32 weights: job->scale and job->exact. */
static int find_scale(struct pack_job *job, struct sched *s)
{
    const size_t n = weight_count(job->l), spans = (n + STATS_SPAN - 1) / STATS_SPAN;
    run_pass(s, spans, scale_pass, job);
    if (atomic_load_explicit(&job->failed, memory_order_relaxed))
        return ryot_fail("cannot convert %s to F32", dtype_name(job->t->type));
    struct ternary_stats st = no_stats;
    for (size_t i = 0; i < spans; i++)
        stats_merge(&st, &job->stats[i]);
    if (st.non_finite)
        return ryot_fail("%zu weights are NaN or infinite", st.non_finite);
    job->scale = ternary_scale(&st, job->partials, n, &job->exact);
    return 0;
}

/* Ternary weights stored as TQ1_0 / TQ2_0 / I2_S are packed in one pass
 * from their codes, on the assumption that the tensor is exactly ternary:
 * 1 when the stats of that pass say so, 0 if the float passes must run,
 * -1 with a message for an I2_S code 3. */
static int packed_from_stored(struct pack_job *job, struct sched *s)
{
    const struct pack_layout *l = job->l;
    if (l->sb != 0 || !stores_ternary_codes(job->t))
        return 0;
    const size_t groups = (size_t)(l->rows_pad / l->rg);
    job->direct = true;
    run_pass(s, groups, band_pass, job);
    job->direct = false;
    const size_t code_3_block = atomic_load_explicit(&job->code_3_block, memory_order_relaxed);
    if (code_3_block != SIZE_MAX)
        return ryot_fail("I2_S block %zu holds code 3, which is no ternary value", code_3_block);
    struct ternary_stats st = no_stats;
    for (size_t g = 0; g < groups; g++)
        stats_merge(&st, &job->stats[g]);
    if (st.non_finite || !is_ternary(&st))
        return 0;  /* the f32 way counts non-finite weights, or averages */
    job->scale = f32_from_bits(st.max_bits);
    return 1;
}

static int pack_passes(struct pack_job *job, struct sched *s)
{
    const struct pack_layout *l = job->l;
    /* The layouts write every code byte; the rest is alignment padding and
     * scales.  int2/int4 clear it before the band pass, which writes the
     * real rows' scales (padding rows keep 0); ternary after it, so that a
     * worker of the band pass, not this thread alone, first touches (and so
     * has the kernel clear) the page the codes share with it. */
    const size_t tail = l->bytes - l->code_bytes;
    if (l->sb)
        memset(job->dst + l->code_bytes, 0, tail);
    const int direct = packed_from_stored(job, s);
    if (direct < 0)
        return -1;
    if (!direct) {
        if (l->sb == 0 && find_scale(job, s) != 0)
            return -1;
        run_pass(s, (size_t)(l->rows_pad / l->rg), band_pass, job);
        if (atomic_load_explicit(&job->failed, memory_order_relaxed))
            return ryot_fail("cannot convert %s to F32", dtype_name(job->t->type));
        const size_t non_finite = atomic_load_explicit(&job->non_finite, memory_order_relaxed);
        if (non_finite)
            return ryot_fail("%zu weights are NaN or infinite", non_finite);
    }
    if (l->sb == 0) {
        memset(job->dst + l->code_bytes, 0, tail);
        memcpy(job->dst + l->scale_offset, &job->scale, sizeof job->scale);
    }
    return 0;
}

static size_t round64(size_t x) { return round_up(x, 64); }

/* Pack w (f32 rows) or t into dst with s's threads; -1 with a message. */
static int pack(const struct pack_layout *l, const float *w, const struct tensor *t, void *dst, struct sched *s)
{
    const size_t n = weight_count(l), band_weights = (size_t)l->rg * (size_t)l->cols;
    /* Q6_K rows of whole blocks into int6: copied, not re-quantized */
    const bool q6_k = t && t->type == DT_Q6_K && l->wtype == PACK_INT6 && l->cols % 256 == 0 && t->scale == 1.0f;
    struct pack_job job = { .l = l, .w = w, .t = t, .dst = dst, .q6_k = q6_k };
    atomic_init(&job.non_finite, 0);
    atomic_init(&job.code_3_block, SIZE_MAX);
    atomic_init(&job.failed, false);
    /* a band's weights from the block boundary before it to the end of the
     * block after it; a scale-pass span */
    const size_t f32_weights = band_weights + 2 * (t ? block_elems(t) : 0);
    job.f32_bytes = w ? 0 : round64((f32_weights > STATS_SPAN ? f32_weights : STATS_SPAN) * sizeof(float));
    if (stores_ternary_codes(t)) {
        job.codes_bytes = round64(band_weights + 2 * block_elems(t));
        job.scales_bytes = round64(job.codes_bytes / block_elems(t) * sizeof(float));
    }
    job.scratch_bytes =
        job.f32_bytes + job.codes_bytes + 2 * job.scales_bytes + round64((size_t)l->rg * (size_t)l->cols_pad);
    const size_t workers = s ? (size_t)sched_threads(s) : 1;
    job.scratch = malloc(workers * job.scratch_bytes);
    if (l->sb == 0) {
        const size_t spans = (n + STATS_SPAN - 1) / STATS_SPAN, groups = (size_t)(l->rows_pad / l->rg);
        job.stats = malloc((spans > groups ? spans : groups) * sizeof *job.stats);
        job.partials = malloc((n + ABS_CHUNK - 1) / ABS_CHUNK * sizeof *job.partials);
    }
    const int rc = job.scratch && (l->sb || (job.stats && job.partials))
                 ? pack_passes(&job, s)
                 : ryot_fail("packing %lldx%lld weights: out of memory", (long long)l->rows, (long long)l->cols);
    free(job.scratch);
    free(job.stats);
    free(job.partials);
    return rc;
}

int pack_f32(const struct pack_layout *l, const float *w, void *dst)
{
    return pack(l, w, NULL, dst, NULL);
}

int pack_int6(const struct pack_layout *l, const uint8_t *u, const int8_t *sc, const uint16_t *d, void *dst)
{
    if (l->wtype != PACK_INT6)
        return ryot_fail("pack_int6: the layout is not int6");
    for (size_t i = 0; i < weight_count(l); i++)
        if (u[i] > 63)
            return ryot_fail("pack_int6: code %u of weight %zu is not in 0..63", u[i], i);
    const size_t cp = (size_t)l->cols_pad;
    uint8_t *band = malloc((size_t)l->rg * cp), *out = dst;
    if (!band)
        return ryot_fail("packing %lldx%lld weights: out of memory", (long long)l->rows, (long long)l->cols);
    memset(out + l->code_bytes, 0, l->bytes - l->code_bytes);  /* padding rows: scales 0 */
    const int64_t subs = l->cols_pad / l->sub, blocks = l->cols_pad / l->sb;
    for (int64_t g = 0; g < l->rows_pad / l->rg; g++) {
        memset(band, 32, (size_t)l->rg * cp);  /* padding: w = 0 */
        for (int64_t r = g * l->rg; r < (g + 1) * l->rg && r < l->rows; r++) {
            memcpy(band + (size_t)(r - g * l->rg) * cp, u + (size_t)r * (size_t)l->cols, (size_t)l->cols);
            store_int6_scales(l, r, sc + r * subs, d + r * blocks, out);
        }
        lay_out_group(l, band, (size_t)g, out);
    }
    free(band);
    return 0;
}

int pack_tensor(struct packed_weights *out, const struct weight_file *wf, struct arena *store, struct sched *s,
                const char *name, const char *layout)
{
    struct pack_layout l;
    if (pack_layout_parse(layout, &l) != 0)
        return -1;
    const struct tensor *t = weight_file_find(wf, name);
    if (!t)
        return ryot_fail("%s: tensor '%s' is missing", wf->path, name);
    const int64_t shape[2] = { l.rows, l.cols };
    if (tensor_check_shape(wf, t, 2, shape) != 0)
        return -1;
    /* Converting the tensor's last elements checks its type and that its
     * data holds every element, here: the passes convert on worker threads,
     * where a message would be lost. */
    const size_t n = weight_count(&l), last = (n - 1) / block_elems(t) * block_elems(t);
    float tail[256];
    if (block_elems(t) > sizeof tail / sizeof tail[0] ||
        tensor_to_f32(t, (int64_t)last, (int64_t)(n - last), tail) != 0)
        return ryot_fail("%s: tensor '%s': cannot convert %s to F32", wf->path, name, dtype_name(t->type));
    uint8_t *dst = arena_alloc(store, l.bytes, 64);
    if (!dst)
        return -1;
    if (pack(&l, NULL, t, dst, s) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", ryot_last_error());
        return ryot_fail("%s: tensor '%s': %s", wf->path, name, why);
    }
    weight_file_release(wf, t);
    snprintf(out->layout, sizeof out->layout, "%s", layout);
    out->rows = l.rows;
    out->cols = l.cols;
    out->data = dst;
    out->nbytes = l.bytes;
    return 0;
}

int pack_check(const struct packed_weights *p, const char *layout, const char *what)
{
    if (strcmp(p->layout, layout) != 0)
        return ryot_fail("%s: weights packed for layout '%s' but the kernel reads '%s'", what, p->layout, layout);
    return 0;
}
