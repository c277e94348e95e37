/* Format importers behind weight_file_open() (runtime/weights.c).
 *
 * Contract for every importer:
 *  - It is called with *wf zeroed and wf->path already set to `path`.
 *  - It maps the file with weight_file_map() and fills wf->tensors (malloc'd
 *    array, n_tensors entries) and wf->meta (malloc'd array, n_meta entries).
 *    Tensor data points into wf->map; metadata strings/arrays and any
 *    converted tensor data live in blocks from weight_file_alloc().
 *  - On error it returns -1 with ryot_last_error() naming the file (and the
 *    tensor or field); it need not clean up: weight_file_open() then calls
 *    weight_file_close(), which releases everything listed above. */
#ifndef RYOT_IMPORTERS_H
#define RYOT_IMPORTERS_H

#include <stddef.h>

#include "tensor.h"

/* GGUF v2/v3 (runtime/gguf.c). */
int gguf_open(struct weight_file *wf, const char *path);
/* karpathy llama2.c checkpoint, legacy (version 0) format (runtime/llama2c.c). */
int llama2c_open(struct weight_file *wf, const char *path);

/* mmap `path` read-only into wf->map / wf->map_size.  -1 with
 * "PATH: reason" for a missing file, a directory, an empty file, ... */
int weight_file_map(struct weight_file *wf, const char *path);

/* `size` zero-filled bytes (aligned for any type, 64 bytes) that live until
 * weight_file_close(wf): the blocks are chained through wf->owned.  NULL with
 * a message if memory is exhausted. */
void *weight_file_alloc(struct weight_file *wf, size_t size);

#endif
