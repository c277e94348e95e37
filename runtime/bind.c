#include "bind.h"

#include "arena.h"
#include "error.h"
#include "tensor.h"

static const float *bind_f32(const struct weight_file *wf, struct arena *store, const char *name, int ndim,
                             const int64_t *shape)
{
    const struct tensor *t = weight_file_find(wf, name);
    if (!t) {
        ryot_fail("%s: tensor '%s' is missing", wf->path, name);
        return NULL;
    }
    if (tensor_check_shape(wf, t, ndim, shape) != 0)
        return NULL;
    if (t->type == DT_F32 && t->scale == 1.0f)
        return t->data;
    const int64_t n = tensor_elems(t);
    float *dst = arena_alloc(store, (size_t)n * sizeof(float), 0);
    if (!dst)
        return NULL;
    if (tensor_to_f32(t, 0, n, dst) != 0) {
        ryot_fail("%s: tensor '%s': cannot convert %s to F32", wf->path, name, dtype_name(t->type));
        return NULL;
    }
    if (t->scale != 1.0f)
        for (int64_t i = 0; i < n; i++)
            dst[i] *= t->scale;
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
