#include "bind.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "arena.h"
#include "error.h"
#include "f16.h"
#include "sched.h"
#include "tensor.h"

/* The tensor `name` with the given C-order shape, or NULL with a message. */
static const struct tensor *find_checked(const struct weight_file *wf, const char *name, int ndim,
                                         const int64_t *shape)
{
    const struct tensor *t = weight_file_find(wf, name);
    if (!t) {
        ryot_fail("%s: tensor '%s' is missing", wf->path, name);
        return NULL;
    }
    return tensor_check_shape(wf, t, ndim, shape) == 0 ? t : NULL;
}

/* Row r of t as f32 into `row` (cols floats); -1 naming file and tensor. */
static int read_row(const struct weight_file *wf, const struct tensor *t, int64_t r, int64_t cols, float *row,
                    const char *to)
{
    if (tensor_to_f32(t, r * cols, cols, row) != 0)
        return ryot_fail("%s: tensor '%s': cannot convert %s to %s", wf->path, t->name, dtype_name(t->type), to);
    return 0;
}

/* A matrix converted row by row on the scheduler's threads.  Messages are
 * per thread, so a failing row only stops its chunk and is noted; the
 * caller then converts the first failing row again on its own thread, which
 * records the message a serial loop would have given. */
struct row_job {
    const struct weight_file *wf;
    const struct tensor *t;
    int64_t cols;
    /* row r, read as f32 into `row`, into the output: 0, or -1 with a message */
    int (*convert)(const struct row_job *job, int64_t r, float *row);
    void *out;
    int64_t stride;             /* int8: output row stride */
    float *scale;               /* int8: per-row scales */
    float *row_buffers;         /* `cols` floats per worker */
    atomic_llong first_failed;  /* lowest failing row seen, else the row count */
};

static void convert_rows(void *ctx, size_t begin, size_t end, int worker)
{
    struct row_job *job = ctx;
    float *row = job->row_buffers + (size_t)worker * (size_t)job->cols;
    for (size_t r = begin; r < end; r++)
        if (job->convert(job, (int64_t)r, row) != 0) {
            long long seen = atomic_load_explicit(&job->first_failed, memory_order_relaxed);
            while ((long long)r < seen &&
                   !atomic_compare_exchange_weak_explicit(&job->first_failed, &seen, (long long)r,
                                                          memory_order_relaxed, memory_order_relaxed)) {
            }
            return;
        }
}

/* Convert all rows (on s's threads; serially when s is NULL). */
static int convert_matrix(struct row_job *job, struct sched *s, int64_t rows)
{
    const size_t workers = s ? (size_t)sched_threads(s) : 1;
    job->row_buffers = malloc(workers * (size_t)job->cols * sizeof(float));
    if (!job->row_buffers)
        return ryot_fail("%s: tensor '%s': out of memory", job->wf->path, job->t->name);
    atomic_init(&job->first_failed, (long long)rows);
    if (s)
        parallel_for(s, (size_t)rows, 1, convert_rows, job);
    else
        convert_rows(job, 0, (size_t)rows, 0);
    const int64_t failed = (int64_t)atomic_load_explicit(&job->first_failed, memory_order_relaxed);
    if (failed < rows)
        job->convert(job, failed, job->row_buffers);  /* again, for its message */
    free(job->row_buffers);
    return failed < rows ? -1 : 0;
}

/* Weights must be finite: a NaN or infinity in a norm or an embedding would
 * turn every logit into NaN, silently.  Scanned in rows on s's threads; the
 * error names the first non-finite element. */
struct finite_job {
    const void *data;
    int64_t cols;
    bool f16;
    atomic_llong first_bad;  /* lowest row holding one, else the row count */
};

/* Index of the first non-finite element of row[0, n), or n. */
static int64_t first_non_finite(const void *row, int64_t n, bool f16)
{
    const uint16_t *h = row;
    const float *f = row;
    bool any = false;
    for (int64_t c = 0; c < n; c++)  /* branch-free, so it vectorizes */
        any |= f16 ? (h[c] & 0x7c00u) == 0x7c00u : (f32_bits(f[c]) & 0x7f800000u) == 0x7f800000u;
    if (any)
        for (int64_t c = 0; c < n; c++)
            if (f16 ? (h[c] & 0x7c00u) == 0x7c00u : !isfinite(f[c]))
                return c;
    return n;
}

static void scan_rows(void *ctx, size_t begin, size_t end, int worker)
{
    (void)worker;
    struct finite_job *job = ctx;
    const size_t row_bytes = (size_t)job->cols * (job->f16 ? 2 : 4);
    for (size_t r = begin; r < end; r++)
        if (first_non_finite((const char *)job->data + r * row_bytes, job->cols, job->f16) < job->cols) {
            long long seen = atomic_load_explicit(&job->first_bad, memory_order_relaxed);
            while ((long long)r < seen &&
                   !atomic_compare_exchange_weak_explicit(&job->first_bad, &seen, (long long)r, memory_order_relaxed,
                                                          memory_order_relaxed)) {
            }
            return;
        }
}

static int check_finite(const struct weight_file *wf, const char *name, const void *data, bool f16, int64_t rows,
                        int64_t cols, struct sched *s)
{
    struct finite_job job = { .data = data, .cols = cols, .f16 = f16 };
    atomic_init(&job.first_bad, (long long)rows);
    if (s)
        parallel_for(s, (size_t)rows, 64, scan_rows, &job);
    else
        scan_rows(&job, 0, (size_t)rows, 0);
    const int64_t r = (int64_t)atomic_load_explicit(&job.first_bad, memory_order_relaxed);
    if (r == rows)
        return 0;
    const size_t at = (size_t)r * (size_t)cols;
    const int64_t c = first_non_finite((const char *)data + at * (f16 ? 2 : 4), cols, f16);
    const float v = f16 ? f16_to_f32(((const uint16_t *)data)[at + c]) : ((const float *)data)[at + c];
    return ryot_fail("%s: tensor '%s' element [%lld, %lld] is %g: weights must be finite", wf->path, name,
                     (long long)r, (long long)c, v);
}

/* Row r straight into the output: no staging row. */
static int row_to_f32(const struct row_job *job, int64_t r, float *row)
{
    (void)row;
    return read_row(job->wf, job->t, r, job->cols, (float *)job->out + r * job->cols, "F32");
}

static const float *bind_f32(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                             int ndim, const int64_t *shape)
{
    const struct tensor *t = find_checked(wf, name, ndim, shape);
    if (!t)
        return NULL;
    const int64_t n = tensor_elems(t), cols = shape[ndim - 1], block = dtype_block_elems(t->type);
    if (t->type == DT_F32 && t->scale == 1.0f)
        return check_finite(wf, name, t->data, false, n / cols, cols, s) == 0 ? t->data : NULL;
    float *dst = arena_alloc(store, (size_t)n * sizeof(float), 0);
    if (!dst)
        return NULL;
    if (block > 0 && cols % block == 0) {  /* rows start on blocks: convert them apart */
        struct row_job job = { .wf = wf, .t = t, .cols = cols, .convert = row_to_f32, .out = dst };
        if (convert_matrix(&job, s, n / cols) != 0)
            return NULL;
    } else if (tensor_to_f32(t, 0, n, dst) != 0) {  /* applies t->scale */
        ryot_fail("%s: tensor '%s': cannot convert %s to F32", wf->path, name, dtype_name(t->type));
        return NULL;
    }
    if (check_finite(wf, name, dst, false, n / cols, cols, s) != 0)
        return NULL;
    weight_file_release(wf, t);
    return dst;
}

const float *bind_vector_f32(const struct weight_file *wf, struct arena *store, const char *name, int64_t n)
{
    return bind_f32(wf, store, NULL, name, 1, &n);
}

const float *bind_matrix_f32(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                             int64_t rows, int64_t cols)
{
    const int64_t shape[2] = { rows, cols };
    return bind_f32(wf, store, s, name, 2, shape);
}

static int row_to_f16(const struct row_job *job, int64_t r, float *row)
{
    if (read_row(job->wf, job->t, r, job->cols, row, "F16") != 0)
        return -1;
    uint16_t *out = (uint16_t *)job->out + r * job->cols;
    for (int64_t c = 0; c < job->cols; c++) {
        out[c] = f32_to_f16(row[c]);
        if (isfinite(row[c]) && !isfinite(f16_to_f32(out[c])))
            return ryot_fail("%s: tensor '%s' element [%lld, %lld] = %g does not fit in F16", job->wf->path,
                             job->t->name, (long long)r, (long long)c, row[c]);
    }
    return 0;
}

const uint16_t *bind_matrix_f16(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                                int64_t rows, int64_t cols)
{
    const int64_t shape[2] = { rows, cols };
    const struct tensor *t = find_checked(wf, name, 2, shape);
    if (!t)
        return NULL;
    if (t->type == DT_F16 && t->scale == 1.0f && (uintptr_t)t->data % sizeof(uint16_t) == 0)
        return check_finite(wf, name, t->data, true, rows, cols, s) == 0 ? t->data : NULL;
    uint16_t *dst = arena_alloc(store, (size_t)rows * cols * sizeof(uint16_t), 0);
    if (!dst)
        return NULL;
    struct row_job job = { .wf = wf, .t = t, .cols = cols, .convert = row_to_f16, .out = dst };
    if (convert_matrix(&job, s, rows) != 0 || check_finite(wf, name, dst, true, rows, cols, s) != 0)
        return NULL;
    weight_file_release(wf, t);
    return dst;
}

/* At -O2 GCC vectorizes a loop only when its trip count is a known multiple
 * of the vector width: the loops below run in runs of RUN, then the rest. */
#define RUN 16

/* Largest |v| of row[0, n) as bits: the same order as the floats, and an
 * integer maximum vectorizes; bits at or above infinity's are inf or NaN. */
static uint32_t abs_max_bits(const float *row, int64_t n)
{
    uint32_t max_bits = 0;
    int64_t c = 0;
    for (; c + RUN <= n; c += RUN)
        for (int k = 0; k < RUN; k++) {
            const uint32_t bits = f32_bits(row[c + k]) & 0x7fffffffu;
            max_bits = bits > max_bits ? bits : max_bits;
        }
    for (; c < n; c++) {
        const uint32_t bits = f32_bits(row[c]) & 0x7fffffffu;
        max_bits = bits > max_bits ? bits : max_bits;
    }
    return max_bits;
}

/* round(v * inv) to nearest, ties to even, as nearbyintf: adding and
 * removing 1.5 * 2^23 leaves no fraction bits (|v * inv| <= 127), and is
 * inlined where nearbyintf is a library call per element. */
static inline int8_t int8_code(float v, float inv) { return (int8_t)((v * inv + 0x1.8p23f) - 0x1.8p23f); }

static void int8_codes(const float *restrict row, float inv, int8_t *restrict out, int64_t n)
{
    int64_t c = 0;
    for (; c + RUN <= n; c += RUN)
        for (int k = 0; k < RUN; k++)
            out[c + k] = int8_code(row[c + k], inv);
    for (; c < n; c++)
        out[c] = int8_code(row[c], inv);
}

static int row_to_int8(const struct row_job *job, int64_t r, float *row)
{
    if (read_row(job->wf, job->t, r, job->cols, row, "int8") != 0)
        return -1;
    const uint32_t max_bits = abs_max_bits(row, job->cols);
    if (max_bits >= 0x7f800000u)
        for (int64_t c = 0; c < job->cols; c++)
            if (!isfinite(row[c]))
                return ryot_fail("%s: tensor '%s' element [%lld, %lld] is %g", job->wf->path, job->t->name,
                                 (long long)r, (long long)c, row[c]);
    const float absmax = f32_from_bits(max_bits);
    const float inv = absmax > 0.0f ? 127.0f / absmax : 0.0f;
    job->scale[r] = absmax / 127.0f;
    int8_codes(row, inv, (int8_t *)job->out + r * job->stride, job->cols);
    return 0;
}

const int8_t *bind_matrix_int8(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                               int64_t rows, int64_t cols, int64_t stride, const float **row_scale)
{
    const int64_t shape[2] = { rows, cols };
    const struct tensor *t = find_checked(wf, name, 2, shape);
    if (!t)
        return NULL;
    int8_t *dst = arena_alloc(store, (size_t)rows * stride, 0);  /* zeroed: the padding stays 0 */
    float *scale = dst ? arena_alloc(store, (size_t)rows * sizeof(float), 0) : NULL;
    if (!scale)
        return NULL;
    struct row_job job = {
        .wf = wf, .t = t, .cols = cols, .convert = row_to_int8, .out = dst, .stride = stride, .scale = scale,
    };
    if (convert_matrix(&job, s, rows) != 0)
        return NULL;
    weight_file_release(wf, t);
    *row_scale = scale;
    return dst;
}
