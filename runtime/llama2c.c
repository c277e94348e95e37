/* Importer for karpathy llama2.c checkpoints in the legacy ("version 0")
 * format that run.c reads:
 *
 *   7 x int32  dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 *              vocab_size (negative: unshared classifier), seq_len
 *   f32 arrays token_embedding [vocab][dim], then each per-layer array for
 *              all layers in turn (rms_att, wq, wk, wv, wo, rms_ffn, w1, w2,
 *              w3), rms_final [dim], freq_cis_real and freq_cis_imag
 *              [seq_len][head_size/2] (unused: RoPE is recomputed),
 *              wcls [vocab][dim] only when vocab_size was negative.
 *
 * Tensors are exposed under their GGUF names pointing into the map, and the
 * header as GGUF-style "llama.*" metadata, so the generated model binds a
 * llama2.c checkpoint exactly as it binds the same model in GGUF. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "importers.h"
#include "tensor.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "llama2.c checkpoints are little-endian; this importer reads them in place"
#endif

#define HEADER_BYTES 28
#define MAX_HEADER_VALUE (1 << 20)
/* Newer llama2.c exports (version >= 1) start with this magic ("ak42"). */
#define EXPORT_MAGIC 0x616b3432u

/* run.c hard-codes these; exposing them lets the model check its description. */
#define RMS_NORM_EPS 1e-5
#define ROPE_FREQ_BASE 10000.0

struct header {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

/* One f32 array of the file, in file order. */
struct region {
    const char *name;  /* GGUF tensor name, or its suffix after "blk.N." when per_layer */
    int per_layer;
    int ndim;
    int64_t shape[2];
    int skip;          /* present in the file, not exposed */
};

static int check_range(const char *path, const char *field, int32_t v)
{
    if (v <= 0 || v >= MAX_HEADER_VALUE)
        return ryot_fail("%s: llama2.c header: %s = %d is out of range (1..%d)", path, field,
                         (int)v, MAX_HEADER_VALUE - 1);
    return 0;
}

static int validate_header(const char *path, const struct header *h)
{
    if (check_range(path, "dim", h->dim) || check_range(path, "hidden_dim", h->hidden_dim)
        || check_range(path, "n_layers", h->n_layers) || check_range(path, "n_heads", h->n_heads)
        || check_range(path, "n_kv_heads", h->n_kv_heads)
        || check_range(path, "seq_len", h->seq_len))
        return -1;
    if (h->vocab_size == 0 || h->vocab_size <= -MAX_HEADER_VALUE
        || h->vocab_size >= MAX_HEADER_VALUE)
        return ryot_fail("%s: llama2.c header: vocab_size = %d is out of range "
                         "(1..%d, negative for an unshared classifier)",
                         path, (int)h->vocab_size, MAX_HEADER_VALUE - 1);
    if (h->dim % h->n_heads != 0)
        return ryot_fail("%s: llama2.c header: n_heads = %d does not divide dim = %d", path,
                         (int)h->n_heads, (int)h->dim);
    if (h->n_heads % h->n_kv_heads != 0)
        return ryot_fail("%s: llama2.c header: n_kv_heads = %d does not divide n_heads = %d",
                         path, (int)h->n_kv_heads, (int)h->n_heads);
    if ((h->dim / h->n_heads) % 2 != 0)
        return ryot_fail("%s: llama2.c header: head size dim/n_heads = %d is odd "
                         "(RoPE rotates pairs)", path, (int)(h->dim / h->n_heads));
    return 0;
}

/* Bytes of all regions, or -1 if the sum does not fit in 64 bits. */
static int layout_bytes(const struct region *r, int n, int64_t n_layers, uint64_t *total)
{
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        uint64_t bytes = 4;
        for (int d = 0; d < r[i].ndim; d++)
            if (__builtin_mul_overflow(bytes, (uint64_t)r[i].shape[d], &bytes))
                return -1;
        if (r[i].per_layer && __builtin_mul_overflow(bytes, (uint64_t)n_layers, &bytes))
            return -1;
        if (__builtin_add_overflow(sum, bytes, &sum))
            return -1;
    }
    *total = sum;
    return 0;
}

static void add_meta_int(struct weight_file *wf, const char *key, int64_t v)
{
    struct weight_meta *m = &wf->meta[wf->n_meta++];
    snprintf(m->key, sizeof m->key, "%s", key);
    m->kind = META_INT;
    m->i = v;
}

static void add_meta_float(struct weight_file *wf, const char *key, double v)
{
    struct weight_meta *m = &wf->meta[wf->n_meta++];
    snprintf(m->key, sizeof m->key, "%s", key);
    m->kind = META_FLOAT;
    m->f = v;
}

static void add_meta_string(struct weight_file *wf, const char *key, const char *s)
{
    struct weight_meta *m = &wf->meta[wf->n_meta++];
    snprintf(m->key, sizeof m->key, "%s", key);
    m->kind = META_STRING;
    m->s = s;
}

#define N_META 12

static int fill_meta(struct weight_file *wf, const struct header *h, int shared)
{
    wf->meta = calloc(N_META, sizeof *wf->meta);
    if (!wf->meta)
        return ryot_fail("%s: out of memory", wf->path);
    add_meta_string(wf, "general.architecture", "llama");
    add_meta_int(wf, "llama.embedding_length", h->dim);
    add_meta_int(wf, "llama.feed_forward_length", h->hidden_dim);
    add_meta_int(wf, "llama.block_count", h->n_layers);
    add_meta_int(wf, "llama.attention.head_count", h->n_heads);
    add_meta_int(wf, "llama.attention.head_count_kv", h->n_kv_heads);
    add_meta_int(wf, "llama.vocab_size", shared ? h->vocab_size : -(int64_t)h->vocab_size);
    add_meta_int(wf, "llama.context_length", h->seq_len);
    add_meta_int(wf, "llama.rope.dimension_count", h->dim / h->n_heads);
    add_meta_float(wf, "llama.attention.layer_norm_rms_epsilon", RMS_NORM_EPS);
    add_meta_float(wf, "llama.rope.freq_base", ROPE_FREQ_BASE);
    add_meta_int(wf, "ryot.tied_embedding", shared);
    return 0;
}

int llama2c_open(struct weight_file *wf, const char *path)
{
    if (weight_file_map(wf, path) != 0)
        return -1;
    if (wf->map_size < HEADER_BYTES)
        return ryot_fail("%s: %zu bytes is too small for a llama2.c checkpoint "
                         "(the header alone is %d bytes)", path, wf->map_size, HEADER_BYTES);
    uint32_t magic;
    memcpy(&magic, wf->map, sizeof magic);
    if (magic == EXPORT_MAGIC)
        return ryot_fail("%s: llama2.c export format version >= 1 (magic \"ak42\") is not "
                         "supported; export with --version 0 (the run.c format)", path);
    struct header h;
    memcpy(&h, wf->map, sizeof h);
    if (validate_header(path, &h) != 0)
        return -1;

    int shared = h.vocab_size > 0;
    int64_t vocab = shared ? h.vocab_size : -(int64_t)h.vocab_size;
    int64_t dim = h.dim, hidden = h.hidden_dim, head_size = h.dim / h.n_heads;
    int64_t kv_dim = head_size * h.n_kv_heads;
    const struct region regions[] = {
        {"token_embd.weight", 0, 2, {vocab, dim}, 0},
        {"attn_norm.weight", 1, 1, {dim}, 0},
        {"attn_q.weight", 1, 2, {dim, dim}, 0},
        {"attn_k.weight", 1, 2, {kv_dim, dim}, 0},
        {"attn_v.weight", 1, 2, {kv_dim, dim}, 0},
        {"attn_output.weight", 1, 2, {dim, dim}, 0},
        {"ffn_norm.weight", 1, 1, {dim}, 0},
        {"ffn_gate.weight", 1, 2, {hidden, dim}, 0},
        {"ffn_down.weight", 1, 2, {dim, hidden}, 0},
        {"ffn_up.weight", 1, 2, {hidden, dim}, 0},
        {"output_norm.weight", 0, 1, {dim}, 0},
        {"freq_cis_real", 0, 2, {h.seq_len, head_size / 2}, 1},
        {"freq_cis_imag", 0, 2, {h.seq_len, head_size / 2}, 1},
        {"output.weight", 0, 2, {vocab, dim}, 0},
    };
    int n_regions = (int)(sizeof regions / sizeof regions[0]) - shared;

    uint64_t expected;
    if (layout_bytes(regions, n_regions, h.n_layers, &expected) != 0
        || expected > UINT64_MAX - HEADER_BYTES)
        return ryot_fail("%s: llama2.c header describes more than 2^64 bytes of weights", path);
    expected += HEADER_BYTES;
    if (expected > wf->map_size)
        return ryot_fail("%s: truncated: expected %llu bytes, file has %zu", path,
                         (unsigned long long)expected, wf->map_size);
    if (expected < wf->map_size)
        return ryot_fail("%s: too long: expected %llu bytes from the llama2.c header, "
                         "file has %zu", path, (unsigned long long)expected, wf->map_size);

    int n_tensors = 0;
    for (int i = 0; i < n_regions; i++)
        if (!regions[i].skip)
            n_tensors += regions[i].per_layer ? h.n_layers : 1;
    wf->tensors = calloc((size_t)n_tensors, sizeof *wf->tensors);
    if (!wf->tensors)
        return ryot_fail("%s: out of memory for %d tensors", path, n_tensors);

    const unsigned char *p = (const unsigned char *)wf->map + HEADER_BYTES;
    for (int i = 0; i < n_regions; i++) {
        const struct region *r = &regions[i];
        size_t bytes = 4;
        for (int d = 0; d < r->ndim; d++)
            bytes *= (size_t)r->shape[d];
        int copies = r->per_layer ? h.n_layers : 1;
        for (int layer = 0; layer < copies; layer++, p += bytes) {
            if (r->skip)
                continue;
            struct tensor *t = &wf->tensors[wf->n_tensors++];
            if (r->per_layer)
                snprintf(t->name, sizeof t->name, "blk.%d.%s", layer, r->name);
            else
                snprintf(t->name, sizeof t->name, "%s", r->name);
            t->type = DT_F32;
            t->ndim = r->ndim;
            memcpy(t->shape, r->shape, sizeof r->shape);
            t->data = p;
            t->nbytes = bytes;
            t->scale = 1.0f;
        }
    }
    return fill_meta(wf, &h, shared);
}
