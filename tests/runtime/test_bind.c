/* Binding the embedding / output head in the types their kernels read
 * (runtime/bind.h): f16 tables mapped in place or converted, int8 tables
 * quantized per row and padded, and the errors for missing, misshapen or
 * unusable tensors.  The GGUF is written here with the streaming writer.
 *
 *   test_bind */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "bind.h"
#include "check.h"
#include "error.h"
#include "f16.h"
#include "gguf.h"
#include "quant.h"
#include "sched.h"
#include "tensor.h"

enum { ROWS = 5, COLS = 70, STRIDE = 128, Q8_COLS = 64 };

static float f32_table[ROWS * COLS], huge_table[ROWS * COLS], inf_table[ROWS * COLS], q8_source[ROWS * Q8_COLS];
static float nan_norm[COLS];
static uint16_t f16_table[ROWS * COLS], f16_nan_table[ROWS * COLS];
static unsigned char q8_table[ROWS * Q8_COLS / 32 * 34];

static uint64_t aligned(uint64_t x)
{
    return (x + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;
}

/* A GGUF with ROWS x COLS tensors "emb.f16" (F16), "emb.f32" (F32, one row
 * all zero), "emb.huge" (F32 with values too large for f16 in rows 1 and 3),
 * "emb.inf" (F32 holding infinities in rows 1 and 4), "emb.f16nan" (F16
 * with NaNs in rows 3 and 4), ROWS x Q8_COLS "emb.q8" (Q8_0) and the vector
 * "norm.nan" (F32, NaN at 7).  Converted or scanned on several threads, an
 * error must still name the first bad element. */
static int write_file(const char *path)
{
    for (int i = 0; i < ROWS * COLS; i++) {
        f32_table[i] = sinf(0.37f * i) * (float)(1 + i % 7);
        f16_table[i] = f32_to_f16(f32_table[i]);
    }
    for (int c = 0; c < COLS; c++)
        f32_table[2 * COLS + c] = 0;
    memcpy(huge_table, f32_table, sizeof huge_table);
    memcpy(inf_table, f32_table, sizeof inf_table);
    huge_table[COLS + 2] = 1e6f;
    huge_table[3 * COLS] = -1e6f;
    inf_table[COLS + 60] = -INFINITY;
    inf_table[4 * COLS + 1] = INFINITY;
    memcpy(f16_nan_table, f16_table, sizeof f16_nan_table);
    f16_nan_table[3 * COLS + 5] = 0x7e00;
    f16_nan_table[4 * COLS] = 0xfe00;
    memcpy(nan_norm, f32_table, sizeof nan_norm);
    nan_norm[7] = NAN;
    for (int i = 0; i < ROWS * Q8_COLS; i++)
        q8_source[i] = cosf(0.1f * i);
    if (quantize_row(DT_Q8_0, q8_source, q8_table, ROWS * Q8_COLS) != 0)
        return -1;

    const struct { const char *name; const void *data; size_t bytes; enum dtype type; int64_t rows, cols; } t[] = {
        { "emb.f16", f16_table, sizeof f16_table, DT_F16, ROWS, COLS },
        { "emb.f32", f32_table, sizeof f32_table, DT_F32, ROWS, COLS },
        { "emb.huge", huge_table, sizeof huge_table, DT_F32, ROWS, COLS },
        { "emb.inf", inf_table, sizeof inf_table, DT_F32, ROWS, COLS },
        { "emb.f16nan", f16_nan_table, sizeof f16_nan_table, DT_F16, ROWS, COLS },
        { "emb.q8", q8_table, sizeof q8_table, DT_Q8_0, ROWS, Q8_COLS },
        { "norm.nan", nan_norm, sizeof nan_norm, DT_F32, 0, COLS },  /* rows 0: a vector */
    };
    enum { N = sizeof t / sizeof t[0] };

    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    struct gguf_writer w;
    gguf_writer_init(&w, f, path);
    gguf_put_header(&w, N, 0);
    uint64_t at = 0;
    for (int i = 0; i < N; i++) {
        const int64_t shape[2] = { t[i].rows, t[i].cols };
        gguf_put_tensor_info(&w, t[i].name, t[i].rows ? 2 : 1, t[i].rows ? shape : shape + 1, t[i].type, at);
        at = aligned(at + t[i].bytes);
    }
    for (int i = 0; i < N; i++) {
        gguf_put_padding(&w, GGUF_DEFAULT_ALIGNMENT);
        gguf_put_bytes(&w, t[i].data, t[i].bytes);
    }
    const int rc = gguf_writer_finish(&w);
    fclose(f);
    return rc;
}

/* The code bind_matrix_int8 must give v in a row whose absmax is `absmax`. */
static int8_t code(float v, float absmax)
{
    return (int8_t)(absmax > 0 ? lrintf(v * (127.0f / absmax)) : 0);
}

static void check_int8(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                       const float *want, int cols)
{
    const float *scale = NULL;
    const int8_t *q = bind_matrix_int8(wf, store, s, name, ROWS, cols, STRIDE, &scale);
    CHECK(q && scale, "%s: %s", name, ryot_last_error());
    if (!q || !scale)
        return;
    for (int r = 0; r < ROWS; r++) {
        float absmax = 0;
        for (int c = 0; c < cols; c++)
            absmax = fabsf(want[r * cols + c]) > absmax ? fabsf(want[r * cols + c]) : absmax;
        CHECK(scale[r] == absmax / 127.0f, "%s row %d: scale %g, want %g", name, r, scale[r], absmax / 127.0f);
        int codes_ok = 1, pad_ok = 1;
        for (int c = 0; c < cols; c++)
            codes_ok &= q[r * STRIDE + c] == code(want[r * cols + c], absmax) && q[r * STRIDE + c] != -128;
        for (int c = cols; c < STRIDE; c++)
            pad_ok &= q[r * STRIDE + c] == 0;
        CHECK(codes_ok, "%s row %d: codes are not round(v * 127 / absmax)", name, r);
        CHECK(pad_ok, "%s row %d: padding is not zero", name, r);
    }
}

/* bind must fail with a message containing every one of `parts`. */
#define CHECK_FAILS(call, ...)                                                                           \
    do {                                                                                                 \
        const void *p_ = (call);                                                                         \
        const char *parts_[] = { __VA_ARGS__ };                                                          \
        int has_ = p_ == NULL;                                                                           \
        for (size_t i_ = 0; i_ < sizeof parts_ / sizeof parts_[0]; i_++)                                 \
            has_ &= strstr(ryot_last_error(), parts_[i_]) != NULL;                                       \
        CHECK(has_, "%s: got %s \"%s\"", #call, p_ ? "success" : "error", ryot_last_error());           \
    } while (0)

int main(void)
{
    char path[] = "/tmp/test_bind_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0 || close(fd) != 0 || write_file(path) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    struct weight_file wf;
    struct arena store;
    struct sched *two = sched_create(2, false);  /* NULL below: on this thread alone */
    if (!two || weight_file_open(&wf, path) != 0 || arena_init(&store, 1 << 20) != 0) {
        fprintf(stderr, "%s\n", ryot_last_error());
        return 1;
    }

    group_begin("f16 table stored as F16 is mapped");
    const uint16_t *h = bind_matrix_f16(&wf, &store, two, "emb.f16", ROWS, COLS);
    CHECK(h && h == weight_file_find(&wf, "emb.f16")->data, "not the mapped bytes: %s", ryot_last_error());
    group_end();

    group_begin("f16 table converted from F32");
    h = bind_matrix_f16(&wf, &store, two, "emb.f32", ROWS, COLS);
    CHECK(h != NULL, "%s", ryot_last_error());
    for (int i = 0; h && i < ROWS * COLS; i++)
        CHECK(h[i] == f32_to_f16(f32_table[i]), "element %d: %04x, want %04x", i, h[i], f32_to_f16(f32_table[i]));
    group_end();

    group_begin("int8 table from F32, F16 and Q8_0, on 1 and 2 threads");
    float f16_values[ROWS * COLS], q8_values[ROWS * Q8_COLS];
    for (int i = 0; i < ROWS * COLS; i++)
        f16_values[i] = f16_to_f32(f16_table[i]);
    CHECK(dequantize_row(DT_Q8_0, q8_table, q8_values, ROWS * Q8_COLS) == 0, "%s", ryot_last_error());
    for (int threaded = 0; threaded < 2; threaded++) {
        struct sched *s = threaded ? two : NULL;
        check_int8(&wf, &store, s, "emb.f32", f32_table, COLS);
        check_int8(&wf, &store, s, "emb.f16", f16_values, COLS);
        check_int8(&wf, &store, s, "emb.q8", q8_values, Q8_COLS);
    }
    group_end();

    group_begin("f32 binding applies a tensor's own scale exactly once");
    struct tensor *scaled = (struct tensor *)weight_file_find(&wf, "emb.f16");
    scaled->scale = 2.0f;
    const float *f = bind_matrix_f32(&wf, &store, two, "emb.f16", ROWS, COLS);
    CHECK(f != NULL, "%s", ryot_last_error());
    for (int i = 0; f && i < ROWS * COLS; i++)
        CHECK(f[i] == 2.0f * f16_to_f32(f16_table[i]), "element %d: %g, want %g", i, f[i],
              2.0f * f16_to_f32(f16_table[i]));
    scaled->scale = 1.0f;
    group_end();

    group_begin("errors name file, tensor and problem");
    const float *scale;
    CHECK_FAILS(bind_matrix_f16(&wf, &store, two, "emb.nope", ROWS, COLS), path, "'emb.nope' is missing");
    CHECK_FAILS(bind_matrix_int8(&wf, &store, two, "emb.nope", ROWS, COLS, STRIDE, &scale), "'emb.nope' is missing");
    CHECK_FAILS(bind_matrix_f16(&wf, &store, two, "emb.f32", ROWS, COLS + 1), path, "emb.f32");
    CHECK_FAILS(bind_matrix_int8(&wf, &store, two, "emb.f32", ROWS + 1, COLS, STRIDE, &scale), path, "emb.f32");
    for (int threaded = 0; threaded < 2; threaded++) {
        struct sched *s = threaded ? two : NULL;
        CHECK_FAILS(bind_matrix_f16(&wf, &store, s, "emb.huge", ROWS, COLS), path, "'emb.huge' element [1, 2]",
                    "does not fit in F16");
        CHECK_FAILS(bind_matrix_int8(&wf, &store, s, "emb.inf", ROWS, COLS, STRIDE, &scale), path,
                    "'emb.inf' element [1, 60] is -inf");
        /* NaN or infinity anywhere, mapped in place or converted */
        CHECK_FAILS(bind_matrix_f16(&wf, &store, s, "emb.f16nan", ROWS, COLS), path,
                    "'emb.f16nan' element [3, 5] is nan: weights must be finite");
        CHECK_FAILS(bind_matrix_f16(&wf, &store, s, "emb.inf", ROWS, COLS), path, "'emb.inf' element [1, 60] is -inf");
        CHECK_FAILS(bind_matrix_f32(&wf, &store, s, "emb.inf", ROWS, COLS), path, "'emb.inf' element [1, 60] is -inf");
        CHECK_FAILS(bind_matrix_f32(&wf, &store, s, "emb.f16nan", ROWS, COLS), path, "'emb.f16nan' element [3, 5] is nan");
    }
    CHECK_FAILS(bind_vector_f32(&wf, &store, "norm.nan", COLS), path, "'norm.nan' element [0, 7] is nan");
    struct arena tiny;
    CHECK(arena_init(&tiny, 4096) == 0, "%s", ryot_last_error());
    CHECK_FAILS(bind_matrix_int8(&wf, &tiny, two, "emb.f32", ROWS, COLS, 4096, &scale), "arena");
    arena_destroy(&tiny);
    group_end();

    arena_destroy(&store);
    weight_file_close(&wf);
    sched_destroy(two);
    unlink(path);
    return check_summary();
}
