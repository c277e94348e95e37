/* Streaming GGUF v3 writer (layout in runtime/gguf.h). */
#include <errno.h>
#include <string.h>

#include "error.h"
#include "gguf.h"

void gguf_writer_init(struct gguf_writer *w, FILE *f, const char *path)
{
    *w = (struct gguf_writer){ .f = f, .path = path };
}

void gguf_put_bytes(struct gguf_writer *w, const void *p, size_t n)
{
    if (w->error || n == 0)
        return;
    if (w->f && fwrite(p, 1, n, w->f) != n)
        w->error = errno ? errno : EIO;
    w->pos += n;
}

/* Little-endian by construction, whatever the host. */
static void put_le(struct gguf_writer *w, uint64_t v, int bytes)
{
    unsigned char b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    gguf_put_bytes(w, b, (size_t)bytes);
}

void gguf_put_u32(struct gguf_writer *w, uint32_t v) { put_le(w, v, 4); }
void gguf_put_u64(struct gguf_writer *w, uint64_t v) { put_le(w, v, 8); }

void gguf_put_f32(struct gguf_writer *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_le(w, u, 4);
}

void gguf_put_str(struct gguf_writer *w, const char *s)
{
    size_t n = strlen(s);
    gguf_put_u64(w, n);
    gguf_put_bytes(w, s, n);
}

void gguf_put_header(struct gguf_writer *w, uint64_t n_tensors, uint64_t n_kv)
{
    gguf_put_bytes(w, "GGUF", 4);
    gguf_put_u32(w, 3);
    gguf_put_u64(w, n_tensors);
    gguf_put_u64(w, n_kv);
}

static void put_key(struct gguf_writer *w, const char *key, enum gguf_value_type type)
{
    gguf_put_str(w, key);
    gguf_put_u32(w, type);
    w->n_kv++;
}

void gguf_put_kv_u32(struct gguf_writer *w, const char *key, uint32_t v)
{
    put_key(w, key, GGUF_UINT32);
    gguf_put_u32(w, v);
}

void gguf_put_kv_f32(struct gguf_writer *w, const char *key, float v)
{
    put_key(w, key, GGUF_FLOAT32);
    gguf_put_f32(w, v);
}

void gguf_put_kv_bool(struct gguf_writer *w, const char *key, bool v)
{
    put_key(w, key, GGUF_BOOL);
    gguf_put_bytes(w, v ? "\1" : "\0", 1);
}

void gguf_put_kv_str(struct gguf_writer *w, const char *key, const char *v)
{
    put_key(w, key, GGUF_STRING);
    gguf_put_str(w, v);
}

void gguf_put_kv_array(struct gguf_writer *w, const char *key, enum gguf_value_type type, uint64_t n)
{
    put_key(w, key, GGUF_ARRAY);
    gguf_put_u32(w, type);
    gguf_put_u64(w, n);
}

void gguf_put_tensor_info(struct gguf_writer *w, const char *name, int ndim, const int64_t *shape,
                          enum dtype type, uint64_t offset)
{
    gguf_put_str(w, name);
    gguf_put_u32(w, (uint32_t)ndim);
    for (int d = ndim - 1; d >= 0; d--)
        gguf_put_u64(w, (uint64_t)shape[d]);
    gguf_put_u32(w, (uint32_t)gguf_ggml_type(type));
    gguf_put_u64(w, offset);
}

void gguf_put_padding(struct gguf_writer *w, uint64_t alignment)
{
    static const unsigned char zeros[256];
    uint64_t pad = (alignment - w->pos % alignment) % alignment;
    while (pad > 0) {
        size_t n = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        gguf_put_bytes(w, zeros, n);
        pad -= n;
    }
}

int gguf_writer_finish(struct gguf_writer *w)
{
    if (!w->error && w->f && fflush(w->f) != 0)
        w->error = errno ? errno : EIO;
    if (w->error)
        return ryot_fail("%s: write error: %s", w->path, strerror(w->error));
    return 0;
}
