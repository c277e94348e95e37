/* GGUF (llama.cpp's model format) constants and a streaming writer.
 *
 * File layout (all little-endian):
 *   "GGUF", u32 version (2 or 3), u64 tensor_count, u64 kv_count,
 *   kv_count x (string key, u32 value type, value),
 *   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
 *                   u64 offset relative to the data section),
 *   padding to general.alignment (default 32), data section.
 * A string is a u64 byte count and the bytes (no NUL); an array value is
 * u32 element type, u64 count, the elements.  ne[0] is the contiguous
 * dimension, the reverse of ryot's C-order shapes.
 *
 * The reader is gguf_open() (runtime/importers.h, runtime/gguf.c). */
#ifndef RYOT_GGUF_H
#define RYOT_GGUF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tensor.h"

#define GGUF_DEFAULT_ALIGNMENT 32

enum gguf_value_type {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3,
    GGUF_UINT32 = 4, GGUF_INT32 = 5, GGUF_FLOAT32 = 6, GGUF_BOOL = 7,
    GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10, GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12,
};

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum gguf_token_type {
    GGUF_TOKEN_NORMAL = 1, GGUF_TOKEN_UNKNOWN = 2, GGUF_TOKEN_CONTROL = 3,
    GGUF_TOKEN_USER_DEFINED = 4, GGUF_TOKEN_UNUSED = 5, GGUF_TOKEN_BYTE = 6,
};

/* ggml's tensor type id for `t`, or -1 if GGUF has none. */
int gguf_ggml_type(enum dtype t);
/* The dtype for ggml type id `id`, or -1 (ryot cannot read it). */
int gguf_dtype(uint32_t id);
/* ggml's name for type id `id` ("Q5_K", ...), or NULL if unknown. */
const char *gguf_ggml_type_name(uint32_t id);

/* Streaming writer: each call appends to `f`; the first write error is
 * remembered and reported by gguf_writer_finish().  With f == NULL it only
 * counts bytes and metadata entries (to size a header before writing). */
struct gguf_writer {
    FILE *f;
    const char *path;  /* for messages */
    uint64_t pos;      /* bytes written so far */
    uint64_t n_kv;     /* metadata entries written so far */
    int error;         /* errno of the first failed write, or 0 */
};

void gguf_writer_init(struct gguf_writer *w, FILE *f, const char *path);
void gguf_put_bytes(struct gguf_writer *w, const void *p, size_t n);
void gguf_put_u32(struct gguf_writer *w, uint32_t v);
void gguf_put_u64(struct gguf_writer *w, uint64_t v);
void gguf_put_f32(struct gguf_writer *w, float v);
void gguf_put_str(struct gguf_writer *w, const char *s);

void gguf_put_header(struct gguf_writer *w, uint64_t n_tensors, uint64_t n_kv);
void gguf_put_kv_u32(struct gguf_writer *w, const char *key, uint32_t v);
void gguf_put_kv_f32(struct gguf_writer *w, const char *key, float v);
void gguf_put_kv_bool(struct gguf_writer *w, const char *key, bool v);
void gguf_put_kv_str(struct gguf_writer *w, const char *key, const char *v);
/* Key and array header; the caller then writes `n` elements of `type`. */
void gguf_put_kv_array(struct gguf_writer *w, const char *key, enum gguf_value_type type, uint64_t n);
/* Tensor info for C-order `shape` (written reversed, as GGUF's ne[]). */
void gguf_put_tensor_info(struct gguf_writer *w, const char *name, int ndim, const int64_t *shape,
                          enum dtype type, uint64_t offset);
/* Zero bytes up to the next multiple of `alignment`. */
void gguf_put_padding(struct gguf_writer *w, uint64_t alignment);

/* Flush; 0, or -1 with "PATH: write error: ..." if any write failed. */
int gguf_writer_finish(struct gguf_writer *w);

#endif
