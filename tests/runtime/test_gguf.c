/* GGUF importer (runtime/gguf.c) and writer (runtime/gguf_write.c).
 *
 * usage: test_gguf [MODEL_DIR]   (default ../shared/models)
 *
 * - Real files written by llama.cpp's tools: stories260K.gguf must hold the
 *   same tensors, byte for byte, as the llama2.c checkpoint stories260K.bin
 *   (read by the independent llama2.c importer); the vocabulary-only
 *   ggml-vocab-llama-spm.gguf must open with its metadata.
 * - A small file with every supported tensor type, 1- to 4-D shapes, a
 *   non-default alignment and every metadata value type, read back field
 *   by field.
 * - One crafted file per error: each gives -1 and a message naming the file
 *   and the problem.
 * - NAME.scale tensors: folded into NAME.weight's scale and left out of
 *   the table; one that scales nothing, is not one finite F32 value, is an
 *   error naming it.
 * - Memory: opening a file asks the allocator for at most a small multiple
 *   of its size, whatever its arrays and counts claim (counted by the
 *   malloc_count wrappers linked in).
 * - Fuzzing: every truncation of the small file, and random corruptions
 *   from a fixed seed: never a crash (run under ASan+UBSan), either -1 with
 *   a message or a table whose every tensor lies inside the file and
 *   converts; both outcomes must be common. */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/error.h"
#include "../../runtime/gguf.h"
#include "../../runtime/importers.h"
#include "../../runtime/tensor.h"
#include "check.h"
#include "malloc_count.h"

static const char *model_dir = "../shared/models";
static char tmp_dir[256];

static const char *model_path(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", model_dir, name);
    return buf;
}

static const char *tmp_path(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", tmp_dir, name);
    return buf;
}

static void write_file(const char *path, const void *data, size_t size)
{
    /* A new file each time: rewriting one in place makes ext4 flush it to
     * disk on close, which is slow with thousands of fuzz cases. */
    remove(path);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* ---- building files in memory with the writer ---- */

struct mem {
    char *buf;
    size_t len;
    FILE *f;
    struct gguf_writer w;
};

static struct gguf_writer *mem_begin(struct mem *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    gguf_writer_init(&m->w, m->f, "memory");
    return &m->w;
}

static void mem_end(struct mem *m)
{
    if (gguf_writer_finish(&m->w) != 0)
        fprintf(stderr, "%s\n", ryot_last_error());
    fclose(m->f);
}

/* Raw tensor info with any ggml type id and GGUF-order ne[]. */
static void raw_tensor_info(struct gguf_writer *w, const char *name, uint32_t n_dims,
                            const uint64_t *ne, uint32_t type_id, uint64_t offset)
{
    gguf_put_str(w, name);
    gguf_put_u32(w, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        gguf_put_u64(w, ne[i]);
    gguf_put_u32(w, type_id);
    gguf_put_u64(w, offset);
}

/* ---- the small valid file ---- */

#define SMALL_ALIGN 64

static const struct small_tensor {
    const char *name;
    enum dtype type;
    int ndim;
    int64_t shape[4];
    size_t nbytes;
} small_tensors[] = {
    { "f32.2d", DT_F32, 2, { 2, 3 }, 24 },
    { "f16.1d", DT_F16, 1, { 5 }, 10 },
    { "bf16.3d", DT_BF16, 3, { 2, 1, 2 }, 8 },
    { "q8_0", DT_Q8_0, 2, { 2, 32 }, 68 },
    { "q4_0", DT_Q4_0, 1, { 64 }, 36 },
    { "q4_k", DT_Q4_K, 1, { 256 }, 144 },
    { "q6_k", DT_Q6_K, 2, { 1, 256 }, 210 },
    { "tq1_0", DT_TQ1_0, 3, { 2, 1, 256 }, 108 },
    { "i8", DT_I8, 1, { 7 }, 7 },
    { "i2_s", DT_I2_S, 2, { 3, 128 }, 3 * 32 + 32 },
    { "blk.0.attn_q.weight", DT_TQ2_0, 4, { 1, 2, 1, 256 }, 132 },
    { "blk.0.ffn_up.weight", DT_I2_S, 2, { 2, 256 }, 2 * 64 + 32 },  /* last: its scale ends the file */
};

#define N_SMALL (int)(sizeof small_tensors / sizeof small_tensors[0])

static const float small_i2_s_scale = 0.375f;

/* Byte i of tensor `tensor`'s data: a pattern; for I2_S codes without a 3
 * (mask 0x99 keeps one bit of each field) and the scale in its trailer. */
static unsigned char small_byte(int tensor, size_t i)
{
    const unsigned char pattern = (unsigned char)(tensor * 37 + i * 11 + 1);
    const struct small_tensor *t = &small_tensors[tensor];
    if (t->type != DT_I2_S)
        return pattern;
    const size_t codes = t->nbytes - 32;
    if (i < codes)
        return pattern & 0x99;
    if (i < codes + 4)
        return ((const unsigned char *)&small_i2_s_scale)[i - codes];
    return pattern;
}

static const char *const small_strs[3] = { "alpha", "", "\xe2\x96\x81gamma" };

static void build_small(struct mem *m)
{
    struct gguf_writer *w = mem_begin(m);
    gguf_put_header(w, N_SMALL, 20);
    gguf_put_kv_str(w, "general.architecture", "llama");
    gguf_put_kv_u32(w, "general.alignment", SMALL_ALIGN);
    gguf_put_kv_f32(w, "test.f32", 0.25f);
    gguf_put_kv_bool(w, "test.bool", true);
    const struct { const char *key; enum gguf_value_type type; uint64_t bits; int bytes; } scalars[] = {
        { "test.u8", GGUF_UINT8, 200, 1 },        { "test.i8", GGUF_INT8, 0xfb, 1 },
        { "test.u16", GGUF_UINT16, 60000, 2 },    { "test.i16", GGUF_INT16, 0x8000, 2 },
        { "test.i32", GGUF_INT32, 0xfffffff9, 4 }, { "test.u64", GGUF_UINT64, 1ull << 40, 8 },
        { "test.i64", GGUF_INT64, (uint64_t)-9, 8 },
    };
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
        gguf_put_str(w, scalars[i].key);
        gguf_put_u32(w, scalars[i].type);
        for (int b = 0; b < scalars[i].bytes; b++)
            gguf_put_bytes(w, &(unsigned char){ (unsigned char)(scalars[i].bits >> (8 * b)) }, 1);
    }
    gguf_put_str(w, "test.f64");
    gguf_put_u32(w, GGUF_FLOAT64);
    double f64 = -1.5e-300;
    gguf_put_bytes(w, &f64, 8);
    gguf_put_kv_array(w, "test.strs", GGUF_STRING, 3);
    for (int i = 0; i < 3; i++)
        gguf_put_str(w, small_strs[i]);
    gguf_put_kv_array(w, "test.i32s", GGUF_INT32, 3);
    gguf_put_u32(w, 7);
    gguf_put_u32(w, (uint32_t)-8);
    gguf_put_u32(w, 2147483647);
    gguf_put_kv_array(w, "test.f32s", GGUF_FLOAT32, 2);
    gguf_put_f32(w, 1.5f);
    gguf_put_f32(w, -2.0f);
    gguf_put_kv_array(w, "test.f64s", GGUF_FLOAT64, 1);
    double half = 0.5;
    gguf_put_bytes(w, &half, 8);
    gguf_put_kv_array(w, "test.u8s", GGUF_UINT8, 2);
    gguf_put_bytes(w, "\xff\x01", 2);
    gguf_put_kv_array(w, "test.bools", GGUF_BOOL, 2);
    gguf_put_bytes(w, "\x00\x01", 2);
    gguf_put_kv_array(w, "test.empty", GGUF_INT32, 0);
    gguf_put_kv_array(w, "test.u64s", GGUF_UINT64, 1);
    gguf_put_u64(w, 5);
    uint64_t offset = 0;
    for (int i = 0; i < N_SMALL; i++) {
        const struct small_tensor *t = &small_tensors[i];
        gguf_put_tensor_info(w, t->name, t->ndim, t->shape, t->type, offset);
        offset += (t->nbytes + SMALL_ALIGN - 1) / SMALL_ALIGN * SMALL_ALIGN;
    }
    for (int i = 0; i < N_SMALL; i++) {
        gguf_put_padding(w, SMALL_ALIGN);
        for (size_t k = 0; k < small_tensors[i].nbytes; k++)
            gguf_put_bytes(w, &(unsigned char){ small_byte(i, k) }, 1);
    }
    mem_end(m);
}

static const struct weight_meta *meta_kind(const struct weight_file *wf, const char *key, int kind)
{
    const struct weight_meta *m = weight_file_meta(wf, key);
    if (!m || (int)m->kind != kind) {
        fprintf(stderr, "  metadata '%s' missing or of kind %d, expected %d\n", key,
                m ? (int)m->kind : -1, kind);
        return NULL;
    }
    return m;
}

static void test_small_file(void)
{
    group_begin("small file: every type and value kind");
    struct mem m;
    build_small(&m);
    const char *path = tmp_path("small.gguf");
    write_file(path, m.buf, m.len);
    struct weight_file wf;
    int rc = weight_file_open(&wf, path);
    CHECK(rc == 0, "open: %s", ryot_last_error());
    if (rc != 0) {
        free(m.buf);
        group_end();
        return;
    }
    CHECK(wf.n_tensors == N_SMALL, "%d tensors", wf.n_tensors);
    CHECK(wf.n_meta == 20, "%d metadata entries", wf.n_meta);
    const unsigned char *map = wf.map;
    for (int i = 0; i < N_SMALL && i < wf.n_tensors; i++) {
        const struct small_tensor *want = &small_tensors[i];
        const struct tensor *t = weight_file_find(&wf, want->name);
        CHECK(t != NULL, "tensor %s", want->name);
        if (!t)
            continue;
        CHECK(t->type == want->type, "%s type %s", want->name, dtype_name(t->type));
        CHECK(tensor_check_shape(&wf, t, want->ndim, want->shape) == 0, "%s", ryot_last_error());
        CHECK(t->nbytes == want->nbytes, "%s nbytes %zu", want->name, t->nbytes);
        CHECK(t->scale == (want->type == DT_I2_S ? small_i2_s_scale : 1.0f), "%s scale %g", want->name, t->scale);
        size_t off = (size_t)((const unsigned char *)t->data - map);
        CHECK(off % SMALL_ALIGN == 0, "%s at offset %zu, not 64-aligned", want->name, off);
        int same = 1;
        for (size_t k = 0; k < want->nbytes; k++)
            same &= ((const unsigned char *)t->data)[k] == small_byte(i, k);
        CHECK(same, "%s data bytes differ", want->name);
    }
    /* I2_S values from its documented layout: byte j of a block of 128 holds
     * element j in bits 7:6, 32 + j in 5:4, 64 + j in 3:2, 96 + j in 1:0 */
    int i2s_index = 0;
    while (strcmp(small_tensors[i2s_index].name, "i2_s") != 0)
        i2s_index++;
    const struct tensor *i2s = weight_file_find(&wf, "i2_s");
    float got[3 * 128];
    int wrong = !i2s || tensor_to_f32(i2s, 0, 3 * 128, got) != 0;
    for (int k = 0; !wrong && k < 3 * 128; k++) {
        const int block = k / 128, e = k % 128;
        const int code = small_byte(i2s_index, (size_t)(32 * block + e % 32)) >> (6 - 2 * (e / 32)) & 3;
        wrong = got[k] != small_i2_s_scale * (float)(code - 1);
    }
    CHECK(!wrong, "I2_S values: %s", ryot_last_error());
    const struct tensor *last = &wf.tensors[N_SMALL - 1];
    CHECK((const unsigned char *)last->data + last->nbytes == map + wf.map_size,
          "last tensor ends the file");

    const struct weight_meta *e;
    CHECK((e = meta_kind(&wf, "general.architecture", META_STRING)) && !strcmp(e->s, "llama"), "arch");
    CHECK((e = meta_kind(&wf, "general.alignment", META_INT)) && e->i == SMALL_ALIGN, "alignment");
    CHECK((e = meta_kind(&wf, "test.f32", META_FLOAT)) && e->f == 0.25, "f32");
    CHECK((e = meta_kind(&wf, "test.bool", META_INT)) && e->i == 1, "bool");
    CHECK((e = meta_kind(&wf, "test.u8", META_INT)) && e->i == 200, "u8");
    CHECK((e = meta_kind(&wf, "test.i8", META_INT)) && e->i == -5, "i8");
    CHECK((e = meta_kind(&wf, "test.u16", META_INT)) && e->i == 60000, "u16");
    CHECK((e = meta_kind(&wf, "test.i16", META_INT)) && e->i == -32768, "i16");
    CHECK((e = meta_kind(&wf, "test.i32", META_INT)) && e->i == -7, "i32");
    CHECK((e = meta_kind(&wf, "test.u64", META_INT)) && e->i == (int64_t)1 << 40, "u64");
    CHECK((e = meta_kind(&wf, "test.i64", META_INT)) && e->i == -9, "i64");
    CHECK((e = meta_kind(&wf, "test.f64", META_FLOAT)) && e->f == -1.5e-300, "f64");
    CHECK((e = meta_kind(&wf, "test.strs", META_STRING_ARRAY)) && e->n == 3
              && !strcmp(e->strs[0], small_strs[0]) && !strcmp(e->strs[1], small_strs[1])
              && !strcmp(e->strs[2], small_strs[2]), "string array");
    CHECK((e = meta_kind(&wf, "test.i32s", META_INT_ARRAY)) && e->n == 3 && e->ints[0] == 7
              && e->ints[1] == -8 && e->ints[2] == 2147483647, "int32 array");
    CHECK((e = meta_kind(&wf, "test.f32s", META_FLOAT_ARRAY)) && e->n == 2 && e->floats[0] == 1.5f
              && e->floats[1] == -2.0f, "float32 array");
    CHECK((e = meta_kind(&wf, "test.f64s", META_FLOAT_ARRAY)) && e->n == 1 && e->floats[0] == 0.5f,
          "float64 array");
    CHECK((e = meta_kind(&wf, "test.u8s", META_INT_ARRAY)) && e->n == 2 && e->ints[0] == 255
              && e->ints[1] == 1, "uint8 array");
    CHECK((e = meta_kind(&wf, "test.bools", META_INT_ARRAY)) && e->n == 2 && e->ints[0] == 0
              && e->ints[1] == 1, "bool array");
    CHECK((e = meta_kind(&wf, "test.empty", META_INT_ARRAY)) && e->n == 0, "empty array");
    CHECK((e = meta_kind(&wf, "test.u64s", META_INT_ARRAY)) && e->n == 1 && e->ints[0] == 5,
          "uint64 array");
    weight_file_close(&wf);

    /* gguf_open itself, called directly, reads the same file. */
    struct weight_file direct;
    memset(&direct, 0, sizeof direct);
    snprintf(direct.path, sizeof direct.path, "%s", path);
    CHECK(gguf_open(&direct, path) == 0 && direct.n_tensors == N_SMALL, "direct gguf_open: %s",
          ryot_last_error());
    weight_file_close(&direct);
    free(m.buf);
    group_end();
}

/* ---- real files ---- */

static void test_stories_gguf(void)
{
    group_begin("stories260K.gguf vs stories260K.bin");
    struct weight_file g, b;
    int rg = weight_file_open(&g, model_path("stories260K.gguf"));
    CHECK(rg == 0, "%s", ryot_last_error());
    int rb = weight_file_open(&b, model_path("stories260K.bin"));
    CHECK(rb == 0, "%s", ryot_last_error());
    if (rg == 0) {
        CHECK(g.n_tensors == 48, "%d tensors", g.n_tensors);
        const struct weight_meta *e;
        CHECK((e = meta_kind(&g, "general.architecture", META_STRING)) && !strcmp(e->s, "llama"), "arch");
        CHECK((e = meta_kind(&g, "llama.embedding_length", META_INT)) && e->i == 64, "dim");
        CHECK((e = meta_kind(&g, "llama.feed_forward_length", META_INT)) && e->i == 172, "hidden");
        CHECK((e = meta_kind(&g, "llama.block_count", META_INT)) && e->i == 5, "layers");
        CHECK((e = meta_kind(&g, "llama.attention.head_count", META_INT)) && e->i == 8, "heads");
        CHECK((e = meta_kind(&g, "llama.attention.head_count_kv", META_INT)) && e->i == 4, "kv heads");
        CHECK((e = meta_kind(&g, "llama.context_length", META_INT)) && e->i == 2048, "context");
        CHECK((e = meta_kind(&g, "llama.attention.layer_norm_rms_epsilon", META_FLOAT))
                  && e->f == (double)1e-5f, "rms eps");
        CHECK((e = meta_kind(&g, "tokenizer.ggml.padding_token_id", META_INT)) && e->i == 4294967295,
              "uint32 max");
        CHECK((e = meta_kind(&g, "tokenizer.ggml.tokens", META_STRING_ARRAY)) && e->n == 512
                  && !strcmp(e->strs[0], "<unk>") && !strcmp(e->strs[258], "<0xFF>"), "tokens");
        CHECK((e = meta_kind(&g, "tokenizer.ggml.scores", META_FLOAT_ARRAY)) && e->n == 512, "scores");
        CHECK((e = meta_kind(&g, "tokenizer.ggml.token_type", META_INT_ARRAY)) && e->n == 512
                  && e->ints[0] == 2 && e->ints[1] == 3 && e->ints[3] == 6 && e->ints[300] == 1,
              "token types");
    }
    if (rg == 0 && rb == 0) {
        /* llama.cpp's llama2.c converter copies attn_q / attn_k unpermuted
         * (llama2.c already rotates adjacent pairs, as GGUF "llama" does). */
        int identical = 0;
        for (int i = 0; i < b.n_tensors; i++) {
            const struct tensor *tb = &b.tensors[i], *tg = weight_file_find(&g, tb->name);
            CHECK(tg != NULL, "GGUF lacks %s", tb->name);
            if (!tg)
                continue;
            int same = tg->type == DT_F32 && tensor_check_shape(&g, tg, tb->ndim, tb->shape) == 0
                       && tg->nbytes == tb->nbytes && memcmp(tg->data, tb->data, tb->nbytes) == 0;
            CHECK(same, "%s differs between the two files", tb->name);
            identical += same;
        }
        CHECK(identical == 47, "%d of 47 llama2.c tensors identical", identical);
        /* The checkpoint shares its classifier; the GGUF stores a copy. */
        const struct tensor *out = weight_file_find(&g, "output.weight");
        const struct tensor *emb = weight_file_find(&b, "token_embd.weight");
        CHECK(out && emb && out->nbytes == emb->nbytes && !memcmp(out->data, emb->data, emb->nbytes),
              "GGUF output.weight equals the shared embedding");
    }
    if (rg == 0)
        weight_file_close(&g);
    if (rb == 0)
        weight_file_close(&b);
    group_end();
}

static void test_vocab_only_gguf(void)
{
    group_begin("ggml-vocab-llama-spm.gguf (no tensors)");
    struct weight_file wf;
    int rc = weight_file_open(&wf, model_path("vocab/ggml-vocab-llama-spm.gguf"));
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc == 0) {
        const struct weight_meta *e;
        CHECK(wf.n_tensors == 0 && wf.n_meta == 22, "%d tensors, %d metadata", wf.n_tensors, wf.n_meta);
        CHECK((e = meta_kind(&wf, "tokenizer.ggml.tokens", META_STRING_ARRAY)) && e->n == 32000
                  && !strcmp(e->strs[31999], "\xe7\xbb\x99"), "32000 tokens");
        CHECK((e = meta_kind(&wf, "tokenizer.ggml.add_bos_token", META_INT)) && e->i == 1, "bool");
        weight_file_close(&wf);
    }
    group_end();
}

/* ---- one crafted file per error ---- */

/* Opens buf as a file; expects -1 and a message containing the path and
 * every given fragment. */
static void expect_error(const char *label, const void *buf, size_t len, const char *frag1,
                         const char *frag2)
{
    const char *path = tmp_path("bad.gguf");
    write_file(path, buf, len);
    struct weight_file wf;
    int rc = weight_file_open(&wf, path);
    const char *msg = ryot_last_error();
    CHECK(rc == -1, "%s: opened without error", label);
    CHECK(strstr(msg, path) != NULL, "%s: message '%s' does not name the file", label, msg);
    CHECK(!frag1 || strstr(msg, frag1), "%s: message '%s' lacks '%s'", label, msg, frag1);
    CHECK(!frag2 || strstr(msg, frag2), "%s: message '%s' lacks '%s'", label, msg, frag2);
    if (rc == 0)
        weight_file_close(&wf);
}

/* A file with one tensor described by the raw fields, data zero-filled. */
static void expect_tensor_error(const char *label, uint32_t n_dims, const uint64_t *ne,
                                uint32_t type_id, uint64_t offset, size_t data_bytes,
                                const char *frag1, const char *frag2)
{
    struct mem m;
    struct gguf_writer *w = mem_begin(&m);
    gguf_put_header(w, 1, 0);
    raw_tensor_info(w, "blk.0.attn_q.weight", n_dims, ne, type_id, offset);
    gguf_put_padding(w, GGUF_DEFAULT_ALIGNMENT);
    for (size_t i = 0; i < data_bytes; i++)
        gguf_put_bytes(w, "", 1);
    mem_end(&m);
    expect_error(label, m.buf, m.len, frag1, frag2);
    free(m.buf);
}

/* A file with one metadata entry written by `put`. */
static void expect_meta_error(const char *label, void (*put)(struct gguf_writer *), const char *frag1,
                              const char *frag2)
{
    struct mem m;
    struct gguf_writer *w = mem_begin(&m);
    gguf_put_header(w, 0, 1);
    put(w);
    mem_end(&m);
    expect_error(label, m.buf, m.len, frag1, frag2);
    free(m.buf);
}

static void put_nested_array(struct gguf_writer *w)
{
    gguf_put_kv_array(w, "test.nested", GGUF_ARRAY, 1);
    gguf_put_u32(w, GGUF_UINT8);
    gguf_put_u64(w, 0);
}

static void put_unknown_type(struct gguf_writer *w)
{
    gguf_put_str(w, "test.weird");
    gguf_put_u32(w, 13);
    gguf_put_u32(w, 0);
}

static void put_huge_u64(struct gguf_writer *w)
{
    gguf_put_str(w, "test.big");
    gguf_put_u32(w, GGUF_UINT64);
    gguf_put_u64(w, UINT64_MAX);
}

static void put_long_key(struct gguf_writer *w)
{
    char key[200];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    gguf_put_kv_u32(w, key, 1);
}

static void put_nul_string(struct gguf_writer *w)
{
    gguf_put_str(w, "test.nul");
    gguf_put_u32(w, GGUF_STRING);
    gguf_put_u64(w, 3);
    gguf_put_bytes(w, "a\0b", 3);
}

static void put_bad_alignment(struct gguf_writer *w) { gguf_put_kv_u32(w, "general.alignment", 48); }

/* A power of two, but F32 elements need 4 bytes and 64-bit ones 8. */
static void put_small_alignment(struct gguf_writer *w) { gguf_put_kv_u32(w, "general.alignment", 4); }

static void put_float_alignment(struct gguf_writer *w) { gguf_put_kv_f32(w, "general.alignment", 32.0f); }

static void put_huge_string_array(struct gguf_writer *w)
{
    gguf_put_kv_array(w, "tokenizer.ggml.tokens", GGUF_STRING, UINT64_MAX / 2);
    gguf_put_str(w, "a");
}

static void put_huge_string(struct gguf_writer *w)
{
    gguf_put_str(w, "general.name");
    gguf_put_u32(w, GGUF_STRING);
    gguf_put_u64(w, UINT64_MAX - 3);
    gguf_put_bytes(w, "abcdefgh", 8);
}

/* One I2_S tensor of 2 x 256 with the given codes byte and scale. */
static void build_i2_s_file(struct mem *m, unsigned char codes, float scale)
{
    struct gguf_writer *w = mem_begin(m);
    gguf_put_header(w, 1, 0);
    raw_tensor_info(w, "blk.0.attn_q.weight", 2, (const uint64_t[]){ 256, 2 }, 36, 0);
    gguf_put_padding(w, GGUF_DEFAULT_ALIGNMENT);
    for (int i = 0; i < 128; i++)
        gguf_put_bytes(w, &codes, 1);
    gguf_put_f32(w, scale);
    gguf_put_bytes(w, (const unsigned char[28]){ 0 }, 28);
    mem_end(m);
}

static void test_i2_s_errors(void)
{
    group_begin("I2_S: bad scales, codes, sizes");
    const uint64_t shape[2] = { 256, 2 };
    expect_tensor_error("I2_S without its scale", 2, shape, 36, 0, 128 + 3, "'blk.0.attn_q.weight' data [",
                        "lies outside the file");
    expect_tensor_error("I2_S of 100 elements", 1, (const uint64_t[]){ 100 }, 36, 0, 4096, "row length 100",
                        "I2_S block size 128");
    expect_tensor_error("I2_S rows of 64", 2, (const uint64_t[]){ 64, 2 }, 36, 0, 4096, "row length 64",
                        "I2_S block size 128");
    struct mem m;
    const float bad_scales[] = { NAN, INFINITY, -0.5f };
    for (size_t i = 0; i < sizeof bad_scales / sizeof bad_scales[0]; i++) {
        build_i2_s_file(&m, 0x55, bad_scales[i]);
        expect_error("bad I2_S scale", m.buf, m.len, "'blk.0.attn_q.weight'", "I2_S scale");
        free(m.buf);
    }
    /* code 3 opens (the reader does not read every code) but never converts */
    build_i2_s_file(&m, 0x64, 0.5f);  /* codes 1, 2, 1, 0 */
    const char *path = tmp_path("i2s.gguf");
    write_file(path, m.buf, m.len);
    free(m.buf);
    struct weight_file wf;
    float v[512];
    CHECK(weight_file_open(&wf, path) == 0 && tensor_to_f32(&wf.tensors[0], 0, 512, v) == 0 && v[0] == 0.0f
              && v[32] == 0.5f && v[96] == -0.5f, "a valid I2_S file: %s", ryot_last_error());
    weight_file_close(&wf);
    build_i2_s_file(&m, 0x67, 0.5f);  /* codes 1, 2, 1, 3 */
    write_file(path, m.buf, m.len);
    free(m.buf);
    CHECK(weight_file_open(&wf, path) == 0, "%s", ryot_last_error());
    CHECK(tensor_to_f32(&wf.tensors[0], 0, 512, v) == -1 && strstr(ryot_last_error(), "'blk.0.attn_q.weight'")
              && strstr(ryot_last_error(), "code 3"), "code 3: '%s'", ryot_last_error());
    weight_file_close(&wf);
    group_end();
}

static void test_errors(void)
{
    group_begin("crafted bad files: -1 and a clear message");
    struct mem m;
    build_small(&m);
    unsigned char *buf = malloc(m.len);
    memcpy(buf, m.buf, m.len);

    buf[0] = 'X';
    struct weight_file wf;
    memset(&wf, 0, sizeof wf);
    write_file(tmp_path("bad.gguf"), buf, m.len);
    CHECK(gguf_open(&wf, tmp_path("bad.gguf")) == -1 && strstr(ryot_last_error(), "not a GGUF file"),
          "bad magic: '%s'", ryot_last_error());
    weight_file_close(&wf);
    memcpy(buf, m.buf, m.len);
    buf[4] = 1;
    expect_error("version 1", buf, m.len, "version 1", NULL);
    buf[4] = 4;
    expect_error("version 4", buf, m.len, "version 4", NULL);
    memcpy(buf + 4, "\0\0\0\3", 4);
    expect_error("big-endian", buf, m.len, "big-endian", NULL);
    memcpy(buf, m.buf, m.len);
    memset(buf + 8, 0xff, 8);
    expect_error("huge tensor count", buf, m.len, "tensors", NULL);
    memcpy(buf, m.buf, m.len);
    memset(buf + 16, 0x7f, 8);
    expect_error("huge metadata count", buf, m.len, "metadata entries", NULL);
    expect_error("header only", m.buf, 20, "truncated in header", NULL);
    free(buf);
    free(m.buf);

    const uint64_t mat[2] = { 256, 4 }, vec[1] = { 256 };
    expect_tensor_error("unsupported type", 2, mat, 13, 0, 4096, "'blk.0.attn_q.weight'", "Q5_K");
    expect_tensor_error("unknown type id", 2, mat, 77, 0, 4096, "'blk.0.attn_q.weight'", "unknown");
    expect_tensor_error("row not whole blocks", 1, (const uint64_t[]){ 100 }, 35, 0, 4096,
                        "row length 100", "TQ2_0");
    expect_tensor_error("data beyond the file", 2, mat, 0, 0, 4095, "'blk.0.attn_q.weight' data [",
                        "lies outside the file");
    expect_tensor_error("offset beyond the file", 1, vec, 0, 1ull << 62, 1024, "lies outside", NULL);
    expect_tensor_error("offset wraps around", 1, vec, 0, UINT64_MAX - 31, 1024, "lies outside", NULL);
    expect_tensor_error("misaligned offset", 1, vec, 0, 4, 1028, "not a multiple of the alignment", NULL);
    expect_tensor_error("zero dims", 0, vec, 0, 0, 1024, "0 dimensions", NULL);
    expect_tensor_error("five dims", 5, (const uint64_t[]){ 1, 1, 1, 1, 1 }, 0, 0, 4, "5 dimensions", NULL);
    expect_tensor_error("zero-sized dim", 2, (const uint64_t[]){ 4, 0 }, 0, 0, 16, "dimension 1", NULL);
    expect_tensor_error("element count overflow", 3, (const uint64_t[]){ 1ull << 31, 1ull << 31, 4 }, 0, 0,
                        16, "overflow", NULL);
    expect_tensor_error("huge dim", 1, (const uint64_t[]){ UINT64_MAX }, 0, 0, 16, "dimension 0", NULL);
    expect_tensor_error("no data section", 2, mat, 0, 0, 0, "lies outside", NULL);

    /* Truncated inside the tensor table, and two tensors of one name. */
    struct gguf_writer *w = mem_begin(&m);
    gguf_put_header(w, 2, 0);
    raw_tensor_info(w, "output.weight", 1, vec, 0, 0);
    raw_tensor_info(w, "output.weight", 1, vec, 0, 1024);
    gguf_put_padding(w, GGUF_DEFAULT_ALIGNMENT);
    for (int i = 0; i < 2048; i++)
        gguf_put_bytes(w, "", 1);
    mem_end(&m);
    expect_error("duplicate tensor", m.buf, m.len, "'output.weight' appears twice", NULL);
    /* header, first tensor info (45 bytes), second cut inside ne[0] */
    expect_error("cut in tensor table", m.buf, 24 + 45 + 8 + 13 + 4 + 3, "truncated in tensor table",
                 "output.weight");
    free(m.buf);

    w = mem_begin(&m);
    gguf_put_header(w, 0, 2);
    gguf_put_kv_u32(w, "general.quantization_version", 2);
    gguf_put_kv_u32(w, "general.quantization_version", 3);
    mem_end(&m);
    expect_error("duplicate key", m.buf, m.len, "'general.quantization_version' appears twice", NULL);
    expect_error("cut in metadata", m.buf, m.len - 2, "truncated in metadata", "quantization_version");
    free(m.buf);

    expect_meta_error("nested array", put_nested_array, "test.nested", "arrays of array");
    expect_meta_error("unknown value type", put_unknown_type, "test.weird", "unknown value type 13");
    expect_meta_error("uint64 beyond int64", put_huge_u64, "test.big", "too large");
    expect_meta_error("key too long", put_long_key, "key of 199 bytes", NULL);
    expect_meta_error("NUL in string", put_nul_string, "test.nul", "NUL");
    expect_meta_error("alignment not a power of two", put_bad_alignment, "general.alignment", NULL);
    expect_meta_error("alignment below 8", put_small_alignment, "general.alignment", "from 8");
    expect_meta_error("alignment not an integer", put_float_alignment, "general.alignment", NULL);
    expect_meta_error("string array count", put_huge_string_array, "truncated", "tokenizer.ggml.tokens");
    expect_meta_error("string length", put_huge_string, "truncated", "general.name");

    memset(&wf, 0, sizeof wf);
    CHECK(gguf_open(&wf, model_path("stories260K.bin")) == -1
              && strstr(ryot_last_error(), "not a GGUF file"), "llama2.c file: '%s'", ryot_last_error());
    weight_file_close(&wf);
    CHECK(weight_file_open(&wf, tmp_path("missing.gguf")) == -1
              && strstr(ryot_last_error(), "missing.gguf"), "missing file: '%s'", ryot_last_error());
    group_end();
}

/* ---- NAME.scale tensors ---- */

struct spec {
    const char *name;
    enum dtype type;
    int ndim;
    int64_t shape[2];  /* C order */
    const void *data;
    size_t nbytes;
};

/* A file of the given tensors (no metadata), data aligned by default. */
static void build_file(struct mem *m, const struct spec *t, int n)
{
    struct gguf_writer *w = mem_begin(m);
    gguf_put_header(w, (uint64_t)n, 0);
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        gguf_put_tensor_info(w, t[i].name, t[i].ndim, t[i].shape, t[i].type, offset);
        offset += (t[i].nbytes + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;
    }
    for (int i = 0; i < n; i++) {
        gguf_put_padding(w, GGUF_DEFAULT_ALIGNMENT);
        gguf_put_bytes(w, t[i].data, t[i].nbytes);
    }
    mem_end(m);
}

static void expect_scale_error(const char *label, const struct spec *t, int n, const char *frag1, const char *frag2)
{
    struct mem m;
    build_file(&m, t, n);
    expect_error(label, m.buf, m.len, frag1, frag2);
    free(m.buf);
}

static void test_scale_tensors(void)
{
    group_begin("NAME.scale tensors fold into NAME.weight");
    static const float q[6] = { 1, 2, 3, 4, 5, 6 }, half = 0.5f, two = 2.0f, norm[4] = { 1, 1, 1, 1 };
    static const float pair[2] = { 1, 1 }, nan_value = NAN, inf_value = INFINITY;
    unsigned char i2s[32 + 32] = { 0 };
    memset(i2s, 0x99, 32);  /* codes 2, 1, 2, 1 from the top bits down */
    const float i2s_scale = 0.375f;
    memcpy(i2s + 32, &i2s_scale, 4);
    const uint16_t half_f16 = 0x3800;
    const struct spec good[] = {
        { "blk.0.attn_q.scale", DT_F32, 1, { 1 }, &half, 4 },  /* before its weight: order does not matter */
        { "blk.0.attn_q.weight", DT_F32, 2, { 2, 3 }, q, sizeof q },
        { "blk.0.ffn_up.weight", DT_I2_S, 2, { 1, 128 }, i2s, sizeof i2s },
        { "blk.0.ffn_up.scale", DT_F32, 1, { 1 }, &two, 4 },
        { "output_norm.weight", DT_F32, 1, { 4 }, norm, sizeof norm },
    };
    struct mem m;
    build_file(&m, good, 5);
    const char *path = tmp_path("scaled.gguf");
    write_file(path, m.buf, m.len);
    free(m.buf);
    struct weight_file wf;
    const int rc = weight_file_open(&wf, path);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc == 0) {
        CHECK(wf.n_tensors == 3 && !strcmp(wf.tensors[0].name, "blk.0.attn_q.weight")
                  && !strcmp(wf.tensors[1].name, "blk.0.ffn_up.weight")
                  && !strcmp(wf.tensors[2].name, "output_norm.weight"), "the scale tensors leave the table");
        const struct tensor *wq = &wf.tensors[0], *up = &wf.tensors[1];
        float v[128];
        CHECK(wq->scale == 0.5f && tensor_to_f32(wq, 0, 6, v) == 0 && v[0] == 0.5f && v[5] == 3.0f,
              "F32 weight scaled: scale %g", wq->scale);
        CHECK(up->scale == 0.75f && tensor_to_f32(up, 0, 128, v) == 0 && v[0] == 0.75f && v[32] == 0.0f,
              "I2_S weight: its own scale times the tensor's, %g", up->scale);
        CHECK(wf.tensors[2].scale == 1.0f, "an unscaled tensor keeps 1");
        weight_file_close(&wf);
    }
    const struct spec weight = { "blk.0.attn_q.weight", DT_F32, 2, { 2, 3 }, q, sizeof q };
    const struct spec lone[] = { weight, { "blk.0.attn_k.scale", DT_F32, 1, { 1 }, &half, 4 } };
    expect_scale_error("scale without its weight", lone, 2, "'blk.0.attn_k.scale'", "'blk.0.attn_k.weight'");
    const struct spec vector[] = { { "output_norm.weight", DT_F32, 1, { 4 }, norm, sizeof norm },
                                   { "output_norm.scale", DT_F32, 1, { 1 }, &half, 4 } };
    expect_scale_error("scale of a vector", vector, 2, "'output_norm.scale'", "no 2-D tensor");
    const struct spec two_values[] = { weight, { "blk.0.attn_q.scale", DT_F32, 1, { 2 }, pair, sizeof pair } };
    expect_scale_error("two scale values", two_values, 2, "'blk.0.attn_q.scale'", "one F32 value");
    const struct spec matrix[] = { weight, { "blk.0.attn_q.scale", DT_F32, 2, { 1, 1 }, &half, 4 } };
    expect_scale_error("scale as a 1x1 matrix", matrix, 2, "'blk.0.attn_q.scale'", "one F32 value");
    const struct spec f16[] = { weight, { "blk.0.attn_q.scale", DT_F16, 1, { 1 }, &half_f16, 2 } };
    expect_scale_error("F16 scale", f16, 2, "'blk.0.attn_q.scale'", "one F32 value");
    const struct spec nan[] = { weight, { "blk.0.attn_q.scale", DT_F32, 1, { 1 }, &nan_value, 4 } };
    expect_scale_error("NaN scale", nan, 2, "'blk.0.attn_q.scale'", "not a finite scale");
    const struct spec inf[] = { weight, { "blk.0.attn_q.scale", DT_F32, 1, { 1 }, &inf_value, 4 } };
    expect_scale_error("infinite scale", inf, 2, "'blk.0.attn_q.scale'", "not a finite scale");
    group_end();
}

/* ---- memory bound ---- */

/* Bytes the allocator is asked for while opening `path` (under `label`),
 * which must stay within a small multiple of the file's size, whether the
 * file is accepted or not; returns whether it opened. */
static int expect_memory_bound(const char *label, const char *path, size_t file_size)
{
    struct weight_file wf;
    const struct malloc_counts before = malloc_counts_now();
    const int rc = weight_file_open(&wf, path);
    const long long bytes = malloc_counts_now().bytes - before.bytes;
    const long long bound = 3 * (long long)file_size + (1 << 20);
    CHECK(bytes <= bound, "%s: opening a %zu-byte file asked for %lld bytes (bound %lld)", label, file_size, bytes,
          bound);
    if (rc == 0)
        weight_file_close(&wf);
    return rc == 0;
}

/* One metadata array of n elements of `type`, each `elem_bytes` of zeros
 * (an empty string for GGUF_STRING), as a file. */
static size_t write_array_file(const char *path, enum gguf_value_type type, uint64_t n, size_t elem_bytes)
{
    struct mem m;
    struct gguf_writer *w = mem_begin(&m);
    gguf_put_header(w, 0, 1);
    gguf_put_kv_array(w, "test.array", type, n);
    static const unsigned char zeros[4096];
    for (uint64_t left = n * elem_bytes; left > 0;) {
        const size_t chunk = left < sizeof zeros ? (size_t)left : sizeof zeros;
        gguf_put_bytes(w, zeros, chunk);
        left -= chunk;
    }
    mem_end(&m);
    write_file(path, m.buf, m.len);
    const size_t len = m.len;
    free(m.buf);
    return len;
}

/* A header claiming n_tensors and n_kv, then `size - 24` zero bytes. */
static void write_claim_file(const char *path, uint64_t n_tensors, uint64_t n_kv, size_t size)
{
    unsigned char *buf = calloc(size, 1);
    memcpy(buf, "GGUF\3\0\0\0", 8);
    memcpy(buf + 8, &n_tensors, 8);
    memcpy(buf + 16, &n_kv, 8);
    write_file(path, buf, size);
    free(buf);
}

static void test_memory_bound(void)
{
    group_begin("memory asked for stays near the file size");
    enum { N = 16 << 20 };
    const char *path = tmp_path("big.gguf");
    size_t size = write_array_file(path, GGUF_UINT8, N, 1);
    expect_memory_bound("16M uint8 values", path, size);
    CHECK(strstr(ryot_last_error(), path) && strstr(ryot_last_error(), "metadata 'test.array'")
              && strstr(ryot_last_error(), "bytes of memory"), "16M uint8 values: '%s'", ryot_last_error());
    size = write_array_file(path, GGUF_BOOL, N, 1);
    expect_memory_bound("16M bools", path, size);
    size = write_array_file(path, GGUF_INT16, N / 2, 2);
    expect_memory_bound("8M int16 values", path, size);
    size = write_array_file(path, GGUF_INT32, N / 4, 4);
    expect_memory_bound("4M int32 values", path, size);
    size = write_array_file(path, GGUF_FLOAT64, N / 8, 8);
    expect_memory_bound("2M float64 values", path, size);
    size = write_array_file(path, GGUF_STRING, N / 8, 8);
    expect_memory_bound("2M empty strings", path, size);
    /* counts as large as the bytes after the header allow, then zeros */
    write_claim_file(path, 0, (N - 24) / 14, N);
    expect_memory_bound("a header claiming 1.2M metadata entries", path, N);
    CHECK(strstr(ryot_last_error(), "metadata entries"), "1.2M metadata entries: '%s'", ryot_last_error());
    write_claim_file(path, (N - 24) / 33, 0, N);
    expect_memory_bound("a header claiming 500k tensors", path, N);
    CHECK(strstr(ryot_last_error(), "tensor table"), "500k tensors: '%s'", ryot_last_error());
    /* real files, all metadata, open inside it */
    static const char *const real_files[] = { "stories260K.gguf", "vocab/ggml-vocab-llama-spm.gguf",
                                              "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-falcon.gguf",
                                              "vocab/ggml-vocab-deepseek-llm.gguf" };
    for (size_t i = 0; i < sizeof real_files / sizeof real_files[0]; i++) {
        struct stat st;
        const char *real = model_path(real_files[i]);
        CHECK(stat(real, &st) == 0 && expect_memory_bound(real_files[i], real, (size_t)st.st_size),
              "%s: %s", real_files[i], ryot_last_error());
    }
    remove(path);
    group_end();
}

/* ---- fuzzing ---- */

/* After a successful open of a damaged file, everything the table points
 * at must lie inside the map or in owned memory (ASan checks the latter
 * as we read it). */
static int table_is_sane(const struct weight_file *wf)
{
    const unsigned char *lo = wf->map, *hi = lo + wf->map_size;
    for (int i = 0; i < wf->n_tensors; i++) {
        const struct tensor *t = &wf->tensors[i];
        const unsigned char *d = t->data;
        int64_t be = dtype_block_elems(t->type);
        if (t->ndim < 1 || t->ndim > TENSOR_MAX_DIMS || be <= 0 || d < lo || d > hi
            || t->nbytes > (size_t)(hi - d)
            || t->nbytes != dtype_tensor_bytes(t->type, tensor_elems(t)))
            return 0;
    }
    size_t total = 0;
    for (int i = 0; i < wf->n_meta; i++) {
        const struct weight_meta *e = &wf->meta[i];
        total += strlen(e->key);
        if (e->kind == META_STRING)
            total += strlen(e->s);
        for (int64_t k = 0; k < e->n; k++)
            total += e->kind == META_STRING_ARRAY ? strlen(e->strs[k])
                   : e->kind == META_INT_ARRAY ? (size_t)(e->ints[k] & 1) : (size_t)(e->floats[k] > 0);
    }
    return total > 0 || wf->n_meta == 0;
}

/* Tensors of an opened file that do not convert to f32: the reader let
 * through a table the rest of the runtime cannot use.  The first one is
 * described if `report`. */
static int unconvertible_tensors(const struct weight_file *wf, int report)
{
    int bad = 0;
    for (int i = 0; i < wf->n_tensors; i++) {
        const struct tensor *t = &wf->tensors[i];
        const int64_t n = tensor_elems(t);
        float *v = malloc((size_t)n * sizeof *v);
        const int refused = !v || tensor_to_f32(t, 0, n, v) != 0;
        /* a corrupted I2_S code may be 3, refused naming the tensor */
        if (refused && !(t->type == DT_I2_S && strstr(ryot_last_error(), t->name)
                         && strstr(ryot_last_error(), "code 3"))) {
            if (report && !bad)
                fprintf(stderr, "  %s of an opened file does not convert: %s\n", t->name, ryot_last_error());
            bad++;
        }
        free(v);
    }
    return bad;
}

struct fuzz_stats { int opened, rejected, bad_message, insane, unconverted; };

static void fuzz_one(const char *path, const void *buf, size_t len, struct fuzz_stats *s)
{
    write_file(path, buf, len);
    struct weight_file wf;
    ryot_fail("%s", "");
    if (weight_file_open(&wf, path) == 0) {
        s->opened++;
        const int sane = table_is_sane(&wf);
        s->insane += !sane;
        s->unconverted += sane ? unconvertible_tensors(&wf, s->unconverted == 0) : 0;
        weight_file_close(&wf);
    } else {
        s->rejected++;
        const char *msg = ryot_last_error();
        if (strncmp(msg, path, strlen(path)) != 0 || strlen(msg) < strlen(path) + 8) {
            if (!s->bad_message)
                fprintf(stderr, "  unclear message for a %zu-byte file: '%s'\n", len, msg);
            s->bad_message++;
        }
    }
}

static void test_truncations(void)
{
    group_begin("fuzz: every truncation of the small file");
    struct mem m;
    build_small(&m);
    struct fuzz_stats s = { 0 };
    for (size_t len = 0; len < m.len; len++)
        fuzz_one(tmp_path("cut.gguf"), m.buf, len, &s);
    CHECK(s.opened == 0, "%d truncated files opened", s.opened);
    CHECK(s.rejected == (int)m.len, "%d of %zu rejected", s.rejected, m.len);
    CHECK(s.bad_message == 0, "%d unclear messages", s.bad_message);
    free(m.buf);
    group_end();
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_corruptions(void)
{
    group_begin("fuzz: random corruption, fixed seed");
    struct mem m;
    build_small(&m);
    unsigned char *buf = malloc(m.len);
    /* Values that stress length, count and offset fields. */
    const uint64_t nasty[] = { 0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 34, 35, 255, 0xffffffffu,
                               0x100000000ull, INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX,
                               UINT64_MAX - 7, m.len, m.len + 1, 1ull << 62 };
    const int n_nasty = (int)(sizeof nasty / sizeof nasty[0]);
    struct fuzz_stats s = { 0 };
    enum { ROUNDS = 6000 };
    for (int round = 0; round < ROUNDS; round++) {
        memcpy(buf, m.buf, m.len);
        int edits = 1 + (int)(rng() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(rng() % m.len);
            switch (rng() % 4) {
            case 0:  /* random byte */
                buf[at] = (unsigned char)rng();
                break;
            case 1:  /* flip one bit */
                buf[at] ^= (unsigned char)(1u << (rng() % 8));
                break;
            case 2: {  /* nasty 64-bit value */
                uint64_t v = nasty[rng() % (uint64_t)n_nasty];
                size_t n = m.len - at < 8 ? m.len - at : 8;
                memcpy(buf + at, &v, n);
                break;
            }
            default: {  /* nasty 32-bit value */
                uint32_t v = (uint32_t)nasty[rng() % (uint64_t)n_nasty];
                size_t n = m.len - at < 4 ? m.len - at : 4;
                memcpy(buf + at, &v, n);
                break;
            }
            }
        }
        size_t len = rng() % 8 == 0 ? (size_t)(rng() % m.len) : m.len;
        fuzz_one(tmp_path("fuzz.gguf"), buf, len, &s);
    }
    printf("  %d corrupted files: %d opened, %d rejected\n", ROUNDS, s.opened, s.rejected);
    /* corrupted values and tensor data still open, broken structure does not */
    CHECK(s.opened > ROUNDS / 10, "only %d opened: the reader refuses what it could read", s.opened);
    CHECK(s.rejected > ROUNDS / 4, "only %d rejected: corruption too weak", s.rejected);
    CHECK(s.unconverted == 0, "%d tensors of opened files do not convert", s.unconverted);
    CHECK(s.bad_message == 0, "%d unclear messages", s.bad_message);
    CHECK(s.insane == 0, "%d opened files with tensors outside the file", s.insane);
    free(buf);
    free(m.buf);
    group_end();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        model_dir = argv[1];
    if (test_tmpdir_create(tmp_dir, sizeof tmp_dir, "test-gguf") != 0)
        return 2;
    test_small_file();
    test_stories_gguf();
    test_vocab_only_gguf();
    test_errors();
    test_i2_s_errors();
    test_scale_tensors();
    test_memory_bound();
    test_truncations();
    test_corruptions();
    test_tmpdir_remove(tmp_dir);
    return check_summary();
}
