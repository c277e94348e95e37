/* Tensors as the importers hand them to the generated model.
 *
 * Every importer (llama2.c checkpoint, GGUF, safetensors) produces a
 * weight_file: a table of named tensors pointing into the mapped file, in the
 * file's own storage type.  The generated model asks for each tensor by its
 * canonical (GGUF-style) name, checks type and shape, and converts it into the
 * layout its kernels read.
 *
 * Shapes are in C order: shape[0] is the outermost dimension (rows of a
 * weight matrix), shape[ndim-1] the contiguous one (columns).  GGUF's ne[]
 * is the reverse of this. */
#ifndef RYOT_TENSOR_H
#define RYOT_TENSOR_H

#include <stddef.h>
#include <stdint.h>

enum dtype {
    DT_F32,
    DT_F16,
    DT_BF16,
    DT_Q8_0,   /* 32 int8 + f16 scale                       (34 B / 32)  */
    DT_Q4_0,   /* 32 4-bit + f16 scale                      (18 B / 32)  */
    DT_Q4_K,   /* k-quant super-block of 256                (144 B / 256) */
    DT_Q6_K,   /* k-quant super-block of 256                (210 B / 256) */
    DT_TQ1_0,  /* ternary, base-3 packed, f16 scale          (54 B / 256)  */
    DT_TQ2_0,  /* ternary, 2-bit codes, f16 scale            (66 B / 256)  */
    DT_I8,     /* plain int8 (e.g. ternary values -1/0/+1)                 */
    DT_I2_S,   /* ternary, 2-bit codes (bitnet.cpp's)        (32 B / 128), then
                  one f32 scale for the whole tensor in a 32-byte trailer  */
    DT_COUNT
};

/* Name ("F32", "TQ2_0", ...), elements per block and bytes per block. */
const char *dtype_name(enum dtype t);
int dtype_block_elems(enum dtype t);
size_t dtype_block_bytes(enum dtype t);
/* Bytes needed for `n` elements (n must be a multiple of the block size). */
size_t dtype_row_bytes(enum dtype t, int64_t n);
/* Bytes a whole tensor of `n` elements takes: its blocks and, for I2_S,
 * the trailer after them (whose first 4 bytes are the tensor's scale). */
size_t dtype_tensor_bytes(enum dtype t, int64_t n);

#define TENSOR_MAX_DIMS 4
#define TENSOR_NAME_MAX 96

struct tensor {
    char name[TENSOR_NAME_MAX];
    enum dtype type;
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    const void *data;  /* points into the mapped file (or importer-owned memory) */
    size_t nbytes;
    float scale;       /* per-tensor scale: I2_S's trailer times an optional
                          NAME.scale tensor (weight_file_open), else 1 */
};

int64_t tensor_elems(const struct tensor *t);

/* Metadata an importer found (GGUF key/values, llama2.c header).  Strings
 * and arrays are owned by the weight_file. */
struct weight_meta {
    char key[96];
    enum { META_INT, META_FLOAT, META_STRING, META_INT_ARRAY, META_FLOAT_ARRAY,
           META_STRING_ARRAY } kind;
    int64_t i;             /* META_INT (bools too) */
    double f;              /* META_FLOAT */
    const char *s;         /* META_STRING */
    int64_t n;             /* element count of an array */
    const int64_t *ints;   /* META_INT_ARRAY */
    const float *floats;   /* META_FLOAT_ARRAY */
    const char *const *strs; /* META_STRING_ARRAY */
};

struct weight_file {
    char path[512];
    void *map;          /* whole file, mmapped read-only */
    size_t map_size;
    struct tensor *tensors;
    int n_tensors;
    struct weight_meta *meta;
    int n_meta;
    void *owned;        /* importer-owned allocations, freed by weight_file_close */
};

/* Open by file contents: GGUF magic -> GGUF importer, otherwise llama2.c.
 * A one-element F32 tensor NAME.scale (llama.cpp's bitnet files may have
 * them) is multiplied into the scale of the 2-D NAME.weight and left out
 * of the table.  Returns 0, or -1 with ryot_last_error() naming the file
 * and the problem. */
int weight_file_open(struct weight_file *wf, const char *path);
void weight_file_close(struct weight_file *wf);

/* Drop t's pages of the mapped file from memory once a packed copy of it
 * exists, so the two do not both count in the RSS.  t->data stays valid: it
 * faults back in from the file if read again. */
void weight_file_release(const struct weight_file *wf, const struct tensor *t);

const struct tensor *weight_file_find(const struct weight_file *wf, const char *name);
const struct weight_meta *weight_file_meta(const struct weight_file *wf, const char *key);

/* Check that `name` exists with the given C-order shape; -1 with a message
 * naming file, tensor, expected and actual shape otherwise. */
int tensor_check_shape(const struct weight_file *wf, const struct tensor *t,
                       int ndim, const int64_t *shape);

/* Dequantize `n` elements starting at element `first` of t into dst (f32).
 * Works for every dtype; -1 if the type cannot be converted. */
int tensor_to_f32(const struct tensor *t, int64_t first, int64_t n, float *dst);

#endif
