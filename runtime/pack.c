#include "pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "f16.h"
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
    static const char *const encodings[] = { "code2", "code4", "trit5", "planes" };
    static const char *const wtypes[] = { "ternary", "int2", "int4" };
    static const char *const orders[] = { "qr", "rq" };
    memset(l, 0, sizeof *l);
    if (strncmp(key, "lowbit ", 7) != 0 || strlen(key) >= PACK_LAYOUT_MAX)
        return bad_key(key, "not a low-bit layout key");
    int fam = field_enum(key, "family", families, 2), enc = field_enum(key, "enc", encodings, 4);
    int wt = field_enum(key, "wtype", wtypes, 3), ord = field_enum(key, "order", orders, 2);
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

    static const int offsets[] = { 1, 2, 8 }, bits[] = { 2, 2, 4 };
    l->offset = offsets[wt];
    l->bits = bits[wt];
    l->qmin = -offsets[wt];
    l->qmax = wt == PACK_TERNARY ? 1 : offsets[wt] - 1;
    if (l->family == PACK_MAD) {
        static const int per_byte[] = { 4, 2, 5 };
        if (l->enc == PACK_PLANES)
            return bad_key(key, "mad layouts store codes, not planes");
        if ((l->enc == PACK_TRIT5 && l->wtype != PACK_TERNARY) || (l->enc == PACK_CODE2 && l->bits != 2))
            return bad_key(key, "encoding cannot hold this weight type");
        if (l->q != 4 || !l->row_major)
            return bad_key(key, "mad slabs are rg rows x 4 byte columns, row-major");
        l->slab_cols = 4 * per_byte[l->enc];
        l->slab_bytes = (size_t)l->rg * 4;
    } else {
        if (l->enc != PACK_PLANES)
            return bad_key(key, "lut layouts store bit-planes");
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
    l->code_bytes = (size_t)(l->rows_pad / l->rg) * (size_t)(l->cols_pad / l->slab_cols) * l->slab_bytes;
    l->scale_offset = round_up(l->code_bytes, 64);
    size_t scale_bytes = l->sb ? (size_t)l->rows_pad * (size_t)(l->cols_pad / l->sb) * 2 : 4;
    l->bytes = l->scale_offset + round_up(scale_bytes, 64);
    return 0;
}

/* Ternary: one scale for the tensor.  An already-ternary tensor {-s, 0, s}
 * keeps s exactly (*exact set); anything else gets BitNet's absmean. */
static float ternary_scale(const float *w, size_t n, bool *exact)
{
    /* |w| compared as bits (same order as the floats) */
    uint32_t max_bits = 0;
    double abs_sum = 0.0;
    for (size_t i0 = 0; i0 < n; i0 += 4096) {
        float part = 0.0f;  /* float partial sums of 4096, added up in double */
        for (size_t i = i0; i < n && i < i0 + 4096; i++) {
            const uint32_t bits = f32_bits(w[i]) & 0x7fffffffu;
            max_bits = bits > max_bits ? bits : max_bits;
            part += fabsf(w[i]);
        }
        abs_sum += part;
    }
    const float s = f32_from_bits(max_bits);
    size_t other = 0;  /* values that are neither 0 nor +-s */
    for (size_t i = 0; i < n; i++)
        other += w[i] != 0.0f && fabsf(w[i]) != s;
    *exact = other == 0 && s > 0.0f;
    if (other == 0)
        return s > 0.0f ? s : 1.0f;
    const float mean = (float)(abs_sum / (double)n);
    return mean > 0.0f ? mean : 1.0f;
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

/* Codes u = w + offset of the whole padded matrix (padding holds w = 0),
 * and the scales, into `codes` [rows_pad][cols_pad] and the scale section. */
static void quantize(const struct pack_layout *l, const float *w, uint8_t *codes, uint8_t *dst)
{
    const size_t cp = (size_t)l->cols_pad;
    memset(codes, l->offset, (size_t)l->rows_pad * cp);
    if (l->sb == 0) {
        bool exact;
        const float s = ternary_scale(w, (size_t)l->rows * (size_t)l->cols, &exact);
        for (int64_t r = 0; r < l->rows; r++) {
            const float *wr = w + r * l->cols;
            uint8_t *cr = codes + r * cp;
            if (exact)  /* w / s is exactly -1, 0 or 1: its sign */
                for (int64_t c = 0; c < l->cols; c++)
                    cr[c] = (uint8_t)((wr[c] > 0.0f) - (wr[c] < 0.0f) + l->offset);
            else
                for (int64_t c = 0; c < l->cols; c++)
                    cr[c] = (uint8_t)(clamp_round(wr[c] / s, -1, 1) + l->offset);
        }
        memcpy(dst + l->scale_offset, &s, sizeof s);
        return;
    }
    const int blocks = (int)(l->cols_pad / l->sb);
    for (int64_t r = 0; r < l->rows; r++)
        for (int b = 0; b < blocks; b++) {
            const int64_t c0 = (int64_t)b * l->sb, c1 = c0 + l->sb < l->cols ? c0 + l->sb : l->cols;
            float m = 0.0f;
            for (int64_t c = c0; c < c1; c++)
                if (fabsf(w[r * l->cols + c]) > fabsf(m))
                    m = w[r * l->cols + c];
            const uint16_t d16 = f32_to_f16(m / (float)l->qmin);
            const float d = f16_to_f32(d16);
            for (int64_t c = c0; c < c1; c++)
                codes[r * cp + c] =
                    (uint8_t)((d != 0.0f ? clamp_round(w[r * l->cols + c] / d, l->qmin, l->qmax) : 0) + l->offset);
            const size_t g = (size_t)(r / l->rg), i = ((g * blocks + b) * l->rg + (size_t)(r % l->rg)) * 2;
            memcpy(dst + l->scale_offset + i, &d16, 2);
        }
}

/* mad: byte (r, q) of a slab holds row r's codes of columns 4j + q, j < P
 * (trit5: base 3, sign-folded as gen/lowbit.lua describes). */
static void lay_out_mad(const struct pack_layout *l, const uint8_t *codes, uint8_t *dst)
{
    const size_t cp = (size_t)l->cols_pad, slabs = cp / (size_t)l->slab_cols;
    for (size_t g = 0; g < (size_t)(l->rows_pad / l->rg); g++)
        for (size_t s = 0; s < slabs; s++) {
            uint8_t *slab = dst + (g * slabs + s) * l->slab_bytes;
            for (int r = 0; r < l->rg; r++)
                for (int q = 0; q < 4; q++) {
                    const uint8_t *u = codes + (g * l->rg + (size_t)r) * cp + s * (size_t)l->slab_cols + q;
                    unsigned byte;
                    if (l->enc == PACK_TRIT5) {
                        byte = u[0] + 3 * (u[4] + 3 * (u[8] + 3 * (u[12] + 3 * u[16])));
                        if (byte > 121)  /* the negated tuple, 242 - c, with the top bit set */
                            byte = 128 + (242 - byte);
                    } else if (l->enc == PACK_CODE2) {
                        byte = u[0] | u[4] << 2 | u[8] << 4 | (unsigned)u[12] << 6;
                    } else {
                        byte = u[0] | u[4] << 4;
                    }
                    slab[r * 4 + q] = (uint8_t)byte;
                }
        }
}

/* lut: plane p of a slab is rg x q bytes; byte column i's low nibble holds
 * bit p of the codes of group i (4 columns), the high nibble group q + i. */
static void lay_out_lut(const struct pack_layout *l, const uint8_t *codes, uint8_t *dst)
{
    const size_t cp = (size_t)l->cols_pad, slabs = cp / (size_t)l->slab_cols;
    const size_t plane_bytes = (size_t)l->rg * (size_t)l->q;
    for (size_t g = 0; g < (size_t)(l->rows_pad / l->rg); g++)
        for (size_t s = 0; s < slabs; s++)
            for (int p = 0; p < l->bits; p++) {
                uint8_t *plane = dst + (g * slabs + s) * l->slab_bytes + (size_t)p * plane_bytes;
                for (int r = 0; r < l->rg; r++) {
                    const uint8_t *u = codes + (g * l->rg + (size_t)r) * cp + s * (size_t)l->slab_cols;
                    for (int i = 0; i < l->q; i++) {
                        unsigned lo = 0, hi = 0;
                        for (int k = 0; k < 4; k++) {
                            lo |= ((u[4 * i + k] >> p) & 1u) << k;
                            hi |= ((u[4 * (l->q + i) + k] >> p) & 1u) << k;
                        }
                        const size_t at = l->row_major ? (size_t)r * l->q + i : (size_t)i * l->rg + r;
                        plane[at] = (uint8_t)(lo | hi << 4);
                    }
                }
            }
}

int pack_f32(const struct pack_layout *l, const float *w, void *dst)
{
    size_t non_finite = 0;
    for (size_t i = 0; i < (size_t)l->rows * (size_t)l->cols; i++)
        non_finite += (f32_bits(w[i]) & 0x7f800000u) == 0x7f800000u;
    if (non_finite)
        return ryot_fail("%zu weights are NaN or infinite", non_finite);
    uint8_t *codes = malloc((size_t)l->rows_pad * (size_t)l->cols_pad);
    if (!codes)
        return ryot_fail("packing %lldx%lld weights: out of memory", (long long)l->rows, (long long)l->cols);
    memset(dst, 0, l->bytes);
    quantize(l, w, codes, dst);
    if (l->family == PACK_MAD)
        lay_out_mad(l, codes, dst);
    else
        lay_out_lut(l, codes, dst);
    free(codes);
    return 0;
}

int pack_tensor(struct packed_weights *out, const struct weight_file *wf, struct arena *store,
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
    const size_t n = (size_t)l.rows * (size_t)l.cols;
    float *w = malloc(n * sizeof *w);
    if (!w)
        return ryot_fail("%s: tensor '%s': out of memory converting to F32", wf->path, name);
    uint8_t *dst = NULL;
    int rc = tensor_to_f32(t, 0, (int64_t)n, w);
    if (rc != 0)
        ryot_fail("%s: tensor '%s': cannot convert %s to F32", wf->path, name, dtype_name(t->type));
    else if (!(dst = arena_alloc(store, l.bytes, 64)))
        rc = -1;
    else if ((rc = pack_f32(&l, w, dst)) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", ryot_last_error());
        ryot_fail("%s: tensor '%s': %s", wf->path, name, why);
    }
    free(w);
    if (rc != 0)
        return -1;
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
