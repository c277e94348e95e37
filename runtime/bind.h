/* Binding a generated model's weights to the tensors of a weight file:
 * find by canonical name, check the shape, return data in the type the
 * kernel reads.  Errors name the file and the tensor. */
#ifndef RYOT_BIND_H
#define RYOT_BIND_H

#include <stdint.h>

struct arena;
struct weight_file;

/* f32 data of a 1-D tensor of n elements / a rows x cols matrix: the mapped
 * bytes when the file stores F32, otherwise a converted copy in `store`. */
const float *bind_vector_f32(const struct weight_file *wf, struct arena *store, const char *name, int64_t n);
const float *bind_matrix_f32(const struct weight_file *wf, struct arena *store, const char *name,
                             int64_t rows, int64_t cols);

#endif
