/* Binding a generated model's weights to the tensors of a weight file:
 * find by canonical name, check the shape, return data in the type the
 * kernel reads.  Errors name the file and the tensor. */
#ifndef RYOT_BIND_H
#define RYOT_BIND_H

#include <stdint.h>

struct arena;
struct sched;
struct weight_file;

/* The matrix binders convert rows on the threads of `s` (NULL: on the
 * calling thread alone); the result does not depend on the thread count. */

/* f32 data of a 1-D tensor of n elements / a rows x cols matrix: the mapped
 * bytes when the file stores F32, otherwise a converted copy in `store`. */
const float *bind_vector_f32(const struct weight_file *wf, struct arena *store, const char *name, int64_t n);
const float *bind_matrix_f32(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                             int64_t rows, int64_t cols);

/* f16 data of a rows x cols matrix (an embedding or output head): the
 * mapped bytes when the file stores F16, otherwise a converted copy in
 * `store` (from any type the importers read). */
const uint16_t *bind_matrix_f16(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                                int64_t rows, int64_t cols);

/* int8 copy of a rows x cols matrix in `store`: each row quantized with its
 * own scale (absmax / 127, codes round(v * 127 / absmax) in [-127, 127], ties
 * to even) and padded with zeros to `stride` >= cols columns.  *row_scale
 * receives the rows' scales.  NULL with a message on error. */
const int8_t *bind_matrix_int8(const struct weight_file *wf, struct arena *store, struct sched *s, const char *name,
                               int64_t rows, int64_t cols, int64_t stride, const float **row_scale);

#endif
