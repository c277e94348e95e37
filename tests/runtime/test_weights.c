/* Weight-file front end and the llama2.c importer.
 *
 * usage: test_weights [MODEL_DIR]   (default ../shared/models)
 * Needs stories260K.bin and stories260K.gguf: the GGUF file was written by
 * another tool from the same checkpoint, so it is an independent reference
 * for every tensor the llama2.c importer exposes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/error.h"
#include "../../runtime/f16.h"
#include "../../runtime/tensor.h"
#include "check.h"

static const char *model_dir = "../shared/models";
static char tmp_dir[256];

static char *model_path(const char *name)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", model_dir, name);
    return p;
}

static char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static int contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

static void test_dtype_tables(void)
{
    group_begin("dtype tables");
    static const struct { enum dtype t; const char *name; int elems; size_t bytes; } want[] = {
        {DT_F32, "F32", 1, 4},       {DT_F16, "F16", 1, 2},       {DT_BF16, "BF16", 1, 2},
        {DT_Q8_0, "Q8_0", 32, 34},   {DT_Q4_0, "Q4_0", 32, 18},   {DT_Q4_K, "Q4_K", 256, 144},
        {DT_Q6_K, "Q6_K", 256, 210}, {DT_TQ1_0, "TQ1_0", 256, 54}, {DT_TQ2_0, "TQ2_0", 256, 66},
        {DT_I8, "I8", 1, 1},         {DT_I2_S, "I2_S", 128, 32},
    };
    CHECK(sizeof want / sizeof want[0] == DT_COUNT, "every dtype listed");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK(strcmp(dtype_name(want[i].t), want[i].name) == 0, "name of %s", want[i].name);
        CHECK(dtype_block_elems(want[i].t) == want[i].elems, "block elems of %s", want[i].name);
        CHECK(dtype_block_bytes(want[i].t) == want[i].bytes, "block bytes of %s", want[i].name);
        CHECK(dtype_row_bytes(want[i].t, 4096) == 4096 / want[i].elems * want[i].bytes,
              "row bytes of %s", want[i].name);
    }
    CHECK(dtype_row_bytes(DT_Q4_K, 300) == 2 * 144, "partial block rounds up");
    CHECK(dtype_tensor_bytes(DT_I2_S, 2560 * 640) == 2560 * 640 / 4 + 32, "I2_S: codes, then a 32-byte trailer");
    CHECK(dtype_tensor_bytes(DT_TQ2_0, 512) == 132 && dtype_tensor_bytes(DT_F32, 3) == 12, "no trailer otherwise");
    CHECK(dtype_row_bytes(DT_F16, 0) == 0, "empty row");
    CHECK(strcmp(dtype_name(DT_COUNT), "invalid") == 0, "out-of-range dtype name");
    CHECK(dtype_block_elems(DT_COUNT) == 0 && dtype_block_bytes(DT_COUNT) == 0,
          "out-of-range dtype sizes");
    group_end();
}

/* The value of half `h` from the IEEE 754 binary16 definition, in double. */
static double half_reference(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
    double v = exp == 0    ? ldexp(mant, -24)
             : exp == 31 ? (mant ? NAN : INFINITY)
                         : ldexp(1024 + mant, exp - 25);
    return sign ? -v : v;
}

static void test_f16(void)
{
    group_begin("f16 / bf16 conversions");
    int bad_decode = 0, bad_roundtrip = 0, bad_ties = 0, bad_neighbours = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = f16_to_f32((uint16_t)h);
        double want = half_reference((uint16_t)h);
        if (isnan(want) ? !isnan(f) : (double)f != want || !signbit(f) != !signbit(want))
            bad_decode++;
        if (isnan(want) ? (f32_to_f16(f) & 0x7e00) != 0x7e00 : f32_to_f16(f) != h)
            bad_roundtrip++;
        /* Midpoints between neighbouring finite halves round to the even
         * one; one float ulp either side rounds to the nearer one. */
        if ((h & 0x7fff) < 0x7bff) {
            double lo = half_reference((uint16_t)h), hi = half_reference((uint16_t)(h + 1));
            float mid = (float)((lo + hi) / 2);  /* 12 significant bits: exact */
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            if (f32_to_f16(mid) != even)
                bad_ties++;
            float toward_hi = nextafterf(mid, (float)hi), toward_lo = nextafterf(mid, (float)lo);
            if (f32_to_f16(toward_hi) != h + 1 || f32_to_f16(toward_lo) != h)
                bad_neighbours++;
        }
    }
    CHECK(bad_decode == 0, "%d halves decode differently from the binary16 definition",
          bad_decode);
    CHECK(bad_roundtrip == 0, "%d halves do not survive f16 -> f32 -> f16", bad_roundtrip);
    CHECK(bad_ties == 0, "%d midpoints not rounded to even", bad_ties);
    CHECK(bad_neighbours == 0, "%d values next to midpoints rounded the wrong way",
          bad_neighbours);
    CHECK(f32_to_f16(65519.99f) == 0x7bff && f32_to_f16(65520.0f) == 0x7c00,
          "overflow threshold 65520");
    CHECK(f32_to_f16(1e30f) == 0x7c00 && f32_to_f16(-INFINITY) == 0xfc00, "infinities");
    CHECK(f32_to_f16(1e-30f) == 0 && f32_to_f16(-1e-30f) == 0x8000, "underflow keeps sign");
    CHECK(f32_to_f16(0x1p-25f) == 0 && f32_to_f16(nextafterf(0x1p-25f, 1)) == 1,
          "half of the smallest subnormal");

    int bad_bf16 = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        float f = bf16_to_f32((uint16_t)b);
        if (f32_bits(f) != b << 16)
            bad_bf16++;
        if (!isnan(f) && f32_to_bf16(f) != b)
            bad_bf16++;
    }
    CHECK(bad_bf16 == 0, "%d bf16 values decode or round-trip wrongly", bad_bf16);
    CHECK(f32_to_bf16(f32_from_bits(0x3f808000)) == 0x3f80, "bf16 tie to even (down)");
    CHECK(f32_to_bf16(f32_from_bits(0x3f818000)) == 0x3f82, "bf16 tie to even (up)");
    CHECK(f32_to_bf16(f32_from_bits(0x3f808001)) == 0x3f81, "bf16 above tie rounds up");
    CHECK(isnan(bf16_to_f32(f32_to_bf16(NAN))), "bf16 NaN stays NaN");
    CHECK(f32_to_bf16(f32_from_bits(0x7f7fffff)) == 0x7f80, "bf16 overflow to infinity");
#ifdef __FLT16_MANT_DIG__
    /* The compiler's own _Float16 conversion as a second reference. */
    int bad_compiler = 0;
    uint32_t x = 12345;
    for (int i = 0; i < 1000000; i++) {
        x = x * 1664525u + 1013904223u;
        float f = f32_from_bits(x);
        if (isnan(f))
            continue;
        _Float16 c = (_Float16)f;
        uint16_t cb;
        memcpy(&cb, &c, 2);
        if (cb != f32_to_f16(f))
            bad_compiler++;
    }
    CHECK(bad_compiler == 0, "%d floats convert differently from _Float16", bad_compiler);
#endif
    group_end();
}

static int64_t meta_int(const struct weight_file *wf, const char *key)
{
    const struct weight_meta *m = weight_file_meta(wf, key);
    return m && m->kind == META_INT ? m->i : INT64_MIN;
}

static int compare_data(const void *a, const void *b)
{
    const struct tensor *x = *(const struct tensor *const *)a, *y = *(const struct tensor *const *)b;
    return (x->data > y->data) - (x->data < y->data);
}

static void test_stories260k(void)
{
    group_begin("llama2.c import of stories260K.bin");
    struct weight_file wf;
    const char *path = model_path("stories260K.bin");
    int rc = weight_file_open(&wf, path);
    CHECK(rc == 0, "open %s: %s", path, ryot_last_error());
    if (rc != 0) {
        group_end();
        return;
    }
    CHECK(wf.n_tensors == 2 + 9 * 5, "%d tensors", wf.n_tensors);
    CHECK(meta_int(&wf, "llama.embedding_length") == 64, "dim");
    CHECK(meta_int(&wf, "llama.feed_forward_length") == 172, "hidden");
    CHECK(meta_int(&wf, "llama.block_count") == 5, "layers");
    CHECK(meta_int(&wf, "llama.attention.head_count") == 8, "heads");
    CHECK(meta_int(&wf, "llama.attention.head_count_kv") == 4, "kv heads");
    CHECK(meta_int(&wf, "llama.vocab_size") == 512, "vocab");
    CHECK(meta_int(&wf, "llama.context_length") == 512, "seq_len");
    CHECK(meta_int(&wf, "ryot.tied_embedding") == 1, "shared classifier");
    const struct weight_meta *arch = weight_file_meta(&wf, "general.architecture");
    CHECK(arch && arch->kind == META_STRING && strcmp(arch->s, "llama") == 0, "architecture");
    CHECK(weight_file_find(&wf, "output.weight") == NULL, "no separate classifier");
    CHECK(contains(ryot_last_error(), "output.weight"), "missing-tensor message names it");
    CHECK(weight_file_meta(&wf, "no.such.key") == NULL, "missing metadata key");

    static const struct { const char *suffix; int ndim; int64_t shape[2]; } layer_tensors[] = {
        {"attn_norm.weight", 1, {64}},     {"attn_q.weight", 2, {64, 64}},
        {"attn_k.weight", 2, {32, 64}},    {"attn_v.weight", 2, {32, 64}},
        {"attn_output.weight", 2, {64, 64}}, {"ffn_norm.weight", 1, {64}},
        {"ffn_gate.weight", 2, {172, 64}}, {"ffn_down.weight", 2, {64, 172}},
        {"ffn_up.weight", 2, {172, 64}},
    };
    for (int l = 0; l < 5; l++)
        for (int i = 0; i < 9; i++) {
            char name[64];
            snprintf(name, sizeof name, "blk.%d.%s", l, layer_tensors[i].suffix);
            const struct tensor *t = weight_file_find(&wf, name);
            CHECK(t && tensor_check_shape(&wf, t, layer_tensors[i].ndim, layer_tensors[i].shape) == 0,
                  "%s: %s", name, ryot_last_error());
        }
    const struct tensor *emb = weight_file_find(&wf, "token_embd.weight");
    CHECK(tensor_check_shape(&wf, emb, 2, (const int64_t[]){512, 64}) == 0, "%s",
          ryot_last_error());
    const struct tensor *norm = weight_file_find(&wf, "output_norm.weight");
    CHECK(tensor_check_shape(&wf, norm, 1, (const int64_t[]){64}) == 0, "%s", ryot_last_error());

    /* Tensors tile the file after the header, except the two RoPE tables
     * (seq_len x head_size/2 floats each) before the end. */
    const struct tensor **byaddr = malloc((size_t)wf.n_tensors * sizeof *byaddr);
    for (int i = 0; i < wf.n_tensors; i++)
        byaddr[i] = &wf.tensors[i];
    qsort(byaddr, (size_t)wf.n_tensors, sizeof *byaddr, compare_data);
    const unsigned char *base = wf.map, *expect = base + 28;
    int tiled = 1, f32 = 1;
    for (int i = 0; i < wf.n_tensors; i++) {
        tiled &= byaddr[i]->data == (const void *)expect;
        tiled &= byaddr[i]->nbytes == (size_t)tensor_elems(byaddr[i]) * 4;
        f32 &= byaddr[i]->type == DT_F32 && byaddr[i]->scale == 1.0f;
        expect += byaddr[i]->nbytes;
    }
    CHECK(tiled, "tensors are contiguous from the header on");
    CHECK(f32, "all F32 with scale 1");
    CHECK(byaddr[wf.n_tensors - 1] == norm, "output_norm is the last tensor");
    CHECK(expect + 2 * 512 * 4 * 4 == base + wf.map_size, "only the RoPE tables follow");
    free(byaddr);

    size_t size;
    unsigned char *raw = (unsigned char *)test_slurp(path, &size);
    CHECK(raw && size == wf.map_size, "file size");
    float first;
    memcpy(&first, raw + 28, 4);
    CHECK(memcmp(emb->data, &first, 4) == 0, "embedding starts right after the header");
    free(raw);

    float row[64];
    CHECK(tensor_to_f32(emb, 64 * 7, 64, row) == 0 && memcmp(row, (const float *)emb->data + 64 * 7,
                                                            sizeof row) == 0,
          "tensor_to_f32 F32 row 7");
    CHECK(tensor_to_f32(emb, 512 * 64 - 10, 11, row) == -1
              && contains(ryot_last_error(), "out of range"),
          "reading past the end is refused: %s", ryot_last_error());
    int64_t wrong[2] = {64, 512};
    CHECK(tensor_check_shape(&wf, emb, 2, wrong) == -1, "wrong shape refused");
    CHECK(contains(ryot_last_error(), path) && contains(ryot_last_error(), "token_embd.weight")
              && contains(ryot_last_error(), "[512, 64]")
              && contains(ryot_last_error(), "[64, 512]"),
          "shape message names file, tensor, both shapes: %s", ryot_last_error());
    CHECK(tensor_check_shape(&wf, norm, 2, (const int64_t[]){64, 1}) == -1, "rank mismatch");
    weight_file_close(&wf);
    CHECK(wf.map == NULL && wf.tensors == NULL && wf.n_tensors == 0, "close clears");
    weight_file_close(&wf);
    group_end();
}

/* Every tensor of the llama2.c file equals the GGUF file's tensor of the
 * same name (GGUF's output.weight is the shared embedding). */
static void test_matches_gguf(void)
{
    group_begin("stories260K.bin equals stories260K.gguf");
    struct weight_file bin, gguf;
    int rc_bin = weight_file_open(&bin, model_path("stories260K.bin"));
    CHECK(rc_bin == 0, "%s", ryot_last_error());
    int rc_gguf = weight_file_open(&gguf, model_path("stories260K.gguf"));
    CHECK(rc_gguf == 0, "%s", ryot_last_error());
    if (rc_bin == 0 && rc_gguf == 0) {
        for (int i = 0; i < bin.n_tensors; i++) {
            const struct tensor *a = &bin.tensors[i];
            const struct tensor *b = weight_file_find(&gguf, a->name);
            CHECK(b != NULL, "GGUF lacks %s", a->name);
            if (!b)
                continue;
            CHECK(tensor_check_shape(&gguf, b, a->ndim, a->shape) == 0, "%s", ryot_last_error());
            int64_t n = tensor_elems(a);
            float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
            CHECK(tensor_to_f32(a, 0, n, x) == 0 && tensor_to_f32(b, 0, n, y) == 0
                      && memcmp(x, y, (size_t)n * 4) == 0,
                  "values of %s", a->name);
            free(x);
            free(y);
        }
        const struct tensor *out = weight_file_find(&gguf, "output.weight");
        const struct tensor *emb = weight_file_find(&bin, "token_embd.weight");
        CHECK(out && emb && out->nbytes == emb->nbytes
                  && memcmp(out->data, emb->data, emb->nbytes) == 0,
              "GGUF classifier is the shared embedding");
    }
    if (rc_bin == 0)
        weight_file_close(&bin);
    if (rc_gguf == 0)
        weight_file_close(&gguf);
    group_end();
}

static struct tensor make_tensor(enum dtype type, const void *data, size_t nbytes, int64_t n)
{
    struct tensor t = {.type = type, .ndim = 1, .shape = {n}, .data = data, .nbytes = nbytes,
                       .scale = 1.0f};
    snprintf(t.name, sizeof t.name, "synthetic.%s", dtype_name(type));
    return t;
}

static void test_tensor_to_f32(void)
{
    group_begin("tensor_to_f32 conversions");
    enum { N = 100 };
    float want[N], got[N + 1];
    uint16_t halves[N], bf[N];
    int8_t i8[N];
    for (int i = 0; i < N; i++) {
        want[i] = (float)(i - 50) * 0.375f;  /* exact in f16, bf16 and as int8 / 0.375 */
        halves[i] = f32_to_f16(want[i]);
        bf[i] = f32_to_bf16(want[i]);
        i8[i] = (int8_t)(i - 50);
    }
    struct tensor th = make_tensor(DT_F16, halves, sizeof halves, N);
    got[N - 3] = -999.0f;
    CHECK(tensor_to_f32(&th, 3, N - 3, got) == 0 && memcmp(got, want + 3, (N - 3) * 4) == 0,
          "F16 slice");
    struct tensor tb = make_tensor(DT_BF16, bf, sizeof bf, N);
    CHECK(tensor_to_f32(&tb, 0, N, got) == 0 && memcmp(got, want, N * 4) == 0, "BF16");
    struct tensor ti = make_tensor(DT_I8, i8, sizeof i8, N);
    ti.scale = 0.375f;
    CHECK(tensor_to_f32(&ti, 10, 20, got) == 0 && memcmp(got, want + 10, 20 * 4) == 0,
          "I8 with per-tensor scale");
    /* F16 data at an odd address: importers do not promise alignment */
    unsigned char *odd = malloc(sizeof halves + 1);
    memcpy(odd + 1, halves, sizeof halves);
    struct tensor tu = make_tensor(DT_F16, odd + 1, sizeof halves, N);
    CHECK(tensor_to_f32(&tu, 0, N, got) == 0 && memcmp(got, want, N * 4) == 0,
          "F16 at an unaligned address");
    free(odd);
    CHECK(tensor_to_f32(&th, -1, 2, got) == -1, "negative start refused");
    CHECK(tensor_to_f32(&th, N, 0, got) == 0, "empty range at the end");
    struct tensor short_data = make_tensor(DT_F16, halves, 10, N);
    CHECK(tensor_to_f32(&short_data, 0, N, got) == -1
              && contains(ryot_last_error(), "cannot hold"),
          "data shorter than the shape refused: %s", ryot_last_error());

    /* every half, NaN payloads and subnormals included, as f16_to_f32 gives
     * it, bit for bit (tensor_to_f32 converts in vectorizable runs) */
    uint16_t *all = malloc(65536 * sizeof *all);
    float *all_f32 = malloc(65536 * sizeof *all_f32);
    for (uint32_t h = 0; h < 65536; h++)
        all[h] = (uint16_t)h;
    struct tensor t_all = make_tensor(DT_F16, all, 65536 * sizeof *all, 65536);
    int diff = tensor_to_f32(&t_all, 0, 65536, all_f32) != 0;
    for (uint32_t h = 0; h < 65536 && !diff; h++)
        diff += f32_bits(all_f32[h]) != f32_bits(f16_to_f32((uint16_t)h));
    CHECK(diff == 0, "F16 conversion differs from f16_to_f32");
    free(all);
    free(all_f32);

    /* Q8_0 built by hand: block = f16 scale d, then 32 int8 q; value d*q. */
    enum { BLOCKS = 3 };
    unsigned char q8[BLOCKS * 34];
    float q8_want[BLOCKS * 32];
    for (int b = 0; b < BLOCKS; b++) {
        float d = 0.25f * (float)(b + 1);
        uint16_t dh = f32_to_f16(d);
        memcpy(q8 + 34 * b, &dh, 2);
        for (int i = 0; i < 32; i++) {
            int8_t q = (int8_t)((i * 7 + b * 13) % 255 - 127);
            q8[34 * b + 2 + i] = (unsigned char)q;
            q8_want[32 * b + i] = d * (float)q;
        }
    }
    struct tensor tq = make_tensor(DT_Q8_0, q8, sizeof q8, BLOCKS * 32);
    float qgot[BLOCKS * 32];
    CHECK(tensor_to_f32(&tq, 0, BLOCKS * 32, qgot) == 0
              && memcmp(qgot, q8_want, sizeof qgot) == 0,
          "Q8_0 whole tensor: %s", ryot_last_error());
    CHECK(tensor_to_f32(&tq, 32, 45, qgot) == 0 && memcmp(qgot, q8_want + 32, 45 * 4) == 0,
          "Q8_0 from block 1, ending inside block 2");
    CHECK(tensor_to_f32(&tq, 16, 8, qgot) == -1 && contains(ryot_last_error(), "block boundary"),
          "Q8_0 start inside a block refused: %s", ryot_last_error());
    group_end();
}

/* Copies of stories260K.bin with one header field replaced. */
static void write_with_header(const char *name, const unsigned char *orig, size_t size, int field,
                              int32_t value)
{
    unsigned char *copy = malloc(size);
    memcpy(copy, orig, size);
    memcpy(copy + 4 * field, &value, 4);
    write_file(tmp_path(name), copy, size);
    free(copy);
}

static void expect_open_error(const char *path, const char *fragment, const char *what)
{
    struct weight_file wf;
    memset(&wf, 0x5a, sizeof wf);
    int rc = weight_file_open(&wf, path);
    CHECK(rc == -1, "%s: opened", what);
    const char *msg = ryot_last_error();
    CHECK(contains(msg, path), "%s: message does not name the file: %s", what, msg);
    CHECK(contains(msg, fragment), "%s: message lacks '%s': %s", what, fragment, msg);
    CHECK(strchr(msg, '\n') == NULL, "%s: one line", what);
    CHECK(wf.map == NULL && wf.tensors == NULL && wf.meta == NULL && wf.owned == NULL,
          "%s: nothing left open", what);
    if (rc == 0)
        weight_file_close(&wf);
}

static void test_bad_files(void)
{
    group_begin("bad weight files");
    size_t size;
    unsigned char *orig = (unsigned char *)test_slurp(model_path("stories260K.bin"), &size);
    CHECK(orig != NULL, "read the model");
    if (!orig) {
        group_end();
        return;
    }
    char msg[256];
    expect_open_error(tmp_path("missing.bin"), "No such file", "missing file");
    expect_open_error(tmp_dir, "directory", "directory");
    /* A FIFO without a writer would block open() for ever; the alarm turns
     * such a hang into a failure. */
    CHECK(mkfifo(tmp_path("fifo"), 0600) == 0, "mkfifo");
    alarm(10);
    expect_open_error(tmp_path("fifo"), "not a regular file", "FIFO");
    alarm(0);
    write_file(tmp_path("empty.bin"), "", 0);
    expect_open_error(tmp_path("empty.bin"), "empty", "empty file");
    write_file(tmp_path("tiny.bin"), orig, 10);
    expect_open_error(tmp_path("tiny.bin"), "too small", "10-byte file");

    write_file(tmp_path("short1.bin"), orig, size - 1);
    snprintf(msg, sizeof msg, "truncated: expected %zu bytes, file has %zu", size, size - 1);
    expect_open_error(tmp_path("short1.bin"), msg, "one byte short");
    write_file(tmp_path("half.bin"), orig, size / 2);
    expect_open_error(tmp_path("half.bin"), "truncated", "half a file");

    unsigned char *longer = calloc(size + 4, 1);
    memcpy(longer, orig, size);
    write_file(tmp_path("long.bin"), longer, size + 4);
    snprintf(msg, sizeof msg, "too long: expected %zu bytes", size);
    expect_open_error(tmp_path("long.bin"), msg, "four bytes too many");

    static const struct { int field; int32_t value; const char *fragment; } bad_headers[] = {
        {0, 0, "dim = 0"},
        {0, -64, "dim = -64"},
        {0, 1 << 20, "dim = 1048576 is out of range"},
        {1, -1, "hidden_dim"},
        {2, 0, "n_layers"},
        {3, 7, "n_heads = 7 does not divide dim = 64"},
        {4, 3, "n_kv_heads = 3 does not divide n_heads = 8"},
        {4, 16, "n_kv_heads = 16 does not divide n_heads = 8"},
        {3, 64, "odd"},
        {5, 0, "vocab_size = 0"},
        {5, INT32_MIN, "vocab_size"},
        {6, 0, "seq_len"},
        {2, 999999, "truncated"},
        {5, -512, "truncated"},  /* unshared classifier announced, not present */
        {6, 511, "too long"},    /* smaller RoPE tables than the file holds */
        {0, 0x616b3432, "version"},
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        char name[32], what[64];
        snprintf(name, sizeof name, "header%zu.bin", i);
        snprintf(what, sizeof what, "header field %d = %d", bad_headers[i].field,
                 (int)bad_headers[i].value);
        write_with_header(name, orig, size, bad_headers[i].field, bad_headers[i].value);
        expect_open_error(tmp_path(name), bad_headers[i].fragment, what);
    }

    write_file(tmp_path("gguf.bin"), "GGUF\x03\0\0\0garbage", 15);
    expect_open_error(tmp_path("gguf.bin"), "", "GGUF magic with garbage after it");
    free(longer);
    free(orig);
    group_end();
}

/* vocab_size < 0 announces a classifier after the RoPE tables. */
static void test_unshared_classifier(void)
{
    group_begin("llama2.c unshared classifier");
    size_t size, cls = 512 * 64 * 4;
    unsigned char *orig = (unsigned char *)test_slurp(model_path("stories260K.bin"), &size);
    CHECK(orig != NULL, "read the model");
    if (!orig) {
        group_end();
        return;
    }
    unsigned char *copy = malloc(size + cls);
    memcpy(copy, orig, size);
    for (size_t i = 0; i < cls / 4; i++) {
        float v = (float)i * 0.5f;
        memcpy(copy + size + 4 * i, &v, 4);
    }
    int32_t neg = -512;
    memcpy(copy + 20, &neg, 4);
    write_file(tmp_path("unshared.bin"), copy, size + cls);
    struct weight_file wf;
    int rc = weight_file_open(&wf, tmp_path("unshared.bin"));
    CHECK(rc == 0, "open: %s", ryot_last_error());
    if (rc == 0) {
        CHECK(wf.n_tensors == 2 + 9 * 5 + 1, "%d tensors", wf.n_tensors);
        CHECK(meta_int(&wf, "llama.vocab_size") == 512, "vocab size is the absolute value");
        CHECK(meta_int(&wf, "ryot.tied_embedding") == 0, "not tied");
        const struct tensor *out = weight_file_find(&wf, "output.weight");
        CHECK(out && tensor_check_shape(&wf, out, 2, (const int64_t[]){512, 64}) == 0,
              "classifier shape");
        float v[4];
        CHECK(out && tensor_to_f32(out, 1000, 4, v) == 0 && v[0] == 500.0f && v[3] == 501.5f,
              "classifier values come from the end of the file");
        weight_file_close(&wf);
    }
    free(copy);
    free(orig);
    group_end();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        model_dir = argv[1];
    if (test_tmpdir_create(tmp_dir, sizeof tmp_dir, "test-weights") != 0)
        return 2;
    test_dtype_tables();
    test_f16();
    test_stories260k();
    test_matches_gguf();
    test_tensor_to_f32();
    test_bad_files();
    test_unshared_classifier();

    test_tmpdir_remove(tmp_dir);
    return check_summary();
}
