#include "bind.h"

#include <math.h>
#include <stdlib.h>

#include "arena.h"
#include "error.h"
#include "f16.h"
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

static const float *bind_f32(const struct weight_file *wf, struct arena *store, const char *name, int ndim,
                             const int64_t *shape)
{
    const struct tensor *t = find_checked(wf, name, ndim, shape);
    if (!t)
        return NULL;
    if (t->type == DT_F32 && t->scale == 1.0f)
        return t->data;
    const int64_t n = tensor_elems(t);
    float *dst = arena_alloc(store, (size_t)n * sizeof(float), 0);
    if (!dst)
        return NULL;
    if (tensor_to_f32(t, 0, n, dst) != 0) {  /* applies t->scale */
        ryot_fail("%s: tensor '%s': cannot convert %s to F32", wf->path, name, dtype_name(t->type));
        return NULL;
    }
    weight_file_release(wf, t);
    return dst;
}

const float *bind_vector_f32(const struct weight_file *wf, struct arena *store, const char *name, int64_t n)
{
    return bind_f32(wf, store, name, 1, &n);
}

const float *bind_matrix_f32(const struct weight_file *wf, struct arena *store, const char *name,
                             int64_t rows, int64_t cols)
{
    const int64_t shape[2] = { rows, cols };
    return bind_f32(wf, store, name, 2, shape);
}

/* Row r of t as f32 into `row` (cols floats); -1 naming file and tensor. */
static int read_row(const struct weight_file *wf, const struct tensor *t, int64_t r, int64_t cols, float *row,
                    const char *to)
{
    if (tensor_to_f32(t, r * cols, cols, row) != 0)
        return ryot_fail("%s: tensor '%s': cannot convert %s to %s", wf->path, t->name, dtype_name(t->type), to);
    return 0;
}

const uint16_t *bind_matrix_f16(const struct weight_file *wf, struct arena *store, const char *name,
                                int64_t rows, int64_t cols)
{
    const int64_t shape[2] = { rows, cols };
    const struct tensor *t = find_checked(wf, name, 2, shape);
    if (!t)
        return NULL;
    if (t->type == DT_F16 && t->scale == 1.0f && (uintptr_t)t->data % sizeof(uint16_t) == 0)
        return t->data;
    uint16_t *dst = arena_alloc(store, (size_t)rows * cols * sizeof(uint16_t), 0);
    if (!dst)
        return NULL;
    float *row = malloc((size_t)cols * sizeof(float));
    if (!row) {
        ryot_fail("%s: tensor '%s': out of memory", wf->path, name);
        return NULL;
    }
    for (int64_t r = 0; r < rows; r++) {
        if (read_row(wf, t, r, cols, row, "F16") != 0) {
            free(row);
            return NULL;
        }
        for (int64_t c = 0; c < cols; c++) {
            dst[r * cols + c] = f32_to_f16(row[c]);
            if (isfinite(row[c]) && !isfinite(f16_to_f32(dst[r * cols + c]))) {
                ryot_fail("%s: tensor '%s' element [%lld, %lld] = %g does not fit in F16", wf->path, name,
                          (long long)r, (long long)c, row[c]);
                free(row);
                return NULL;
            }
        }
    }
    free(row);
    weight_file_release(wf, t);
    return dst;
}

const int8_t *bind_matrix_int8(const struct weight_file *wf, struct arena *store, const char *name,
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
    float *row = malloc((size_t)cols * sizeof(float));
    if (!row) {
        ryot_fail("%s: tensor '%s': out of memory", wf->path, name);
        return NULL;
    }
    for (int64_t r = 0; r < rows; r++) {
        if (read_row(wf, t, r, cols, row, "int8") != 0) {
            free(row);
            return NULL;
        }
        float absmax = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            if (!isfinite(row[c])) {
                ryot_fail("%s: tensor '%s' element [%lld, %lld] is %g", wf->path, name, (long long)r, (long long)c,
                          row[c]);
                free(row);
                return NULL;
            }
            if (fabsf(row[c]) > absmax)
                absmax = fabsf(row[c]);
        }
        const float inv = absmax > 0.0f ? 127.0f / absmax : 0.0f;
        scale[r] = absmax / 127.0f;
        /* round to nearest, ties to even, as nearbyintf: adding and removing
         * 1.5 * 2^23 leaves no fraction bits (|v| <= 127), and is inlined
         * where nearbyintf is a library call per element */
        for (int64_t c = 0; c < cols; c++)
            dst[r * stride + c] = (int8_t)((row[c] * inv + 0x1.8p23f) - 0x1.8p23f);
    }
    free(row);
    weight_file_release(wf, t);
    *row_scale = scale;
    return dst;
}
