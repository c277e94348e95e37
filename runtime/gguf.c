/* GGUF v2/v3 importer (format summary in runtime/gguf.h).
 *
 * The file is mapped and read in place: tensor data points into the map,
 * metadata strings and arrays are copied into weight_file_alloc() blocks.
 * Every count, length and offset is checked against the bytes that remain
 * before it is used, with overflow-checked arithmetic, so a truncated or
 * corrupted file gives a one-line error and never reads outside the map.
 * Every allocation is charged to a budget of twice the file's size plus
 * MEMORY_SLACK before it is made: converted arrays (a uint8 becomes an
 * int64) and tables sized by the header's counts cannot make the reader
 * ask for much more memory than the file has bytes. */
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "importers.h"
#include "tensor.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

/* ---- ggml type ids ---- */

static const char *const ggml_type_names[] = {
    [0] = "F32", [1] = "F16", [2] = "Q4_0", [3] = "Q4_1", [6] = "Q5_0", [7] = "Q5_1",
    [8] = "Q8_0", [9] = "Q8_1", [10] = "Q2_K", [11] = "Q3_K", [12] = "Q4_K", [13] = "Q5_K",
    [14] = "Q6_K", [15] = "Q8_K", [16] = "IQ2_XXS", [17] = "IQ2_XS", [18] = "IQ3_XXS",
    [19] = "IQ1_S", [20] = "IQ4_NL", [21] = "IQ3_S", [22] = "IQ2_S", [23] = "IQ4_XS",
    [24] = "I8", [25] = "I16", [26] = "I32", [27] = "I64", [28] = "F64", [29] = "IQ1_M",
    [30] = "BF16", [31] = "Q4_0_4_4", [32] = "Q4_0_4_8", [33] = "Q4_0_8_8", [34] = "TQ1_0",
    [35] = "TQ2_0", [36] = "I2_S", [39] = "MXFP4",
};

static const struct { uint32_t id; enum dtype dt; } ggml_types[] = {
    { 0, DT_F32 }, { 1, DT_F16 }, { 2, DT_Q4_0 }, { 8, DT_Q8_0 }, { 12, DT_Q4_K },
    { 14, DT_Q6_K }, { 24, DT_I8 }, { 30, DT_BF16 }, { 34, DT_TQ1_0 }, { 35, DT_TQ2_0 },
    { 36, DT_I2_S },  /* bitnet.cpp's id; ggml itself has none at 36 */
};

#define N_GGML_TYPES (sizeof ggml_types / sizeof ggml_types[0])

int gguf_ggml_type(enum dtype t)
{
    for (size_t i = 0; i < N_GGML_TYPES; i++)
        if (ggml_types[i].dt == t)
            return (int)ggml_types[i].id;
    return -1;
}

int gguf_dtype(uint32_t id)
{
    for (size_t i = 0; i < N_GGML_TYPES; i++)
        if (ggml_types[i].id == id)
            return (int)ggml_types[i].dt;
    return -1;
}

const char *gguf_ggml_type_name(uint32_t id)
{
    return id < sizeof ggml_type_names / sizeof ggml_type_names[0] ? ggml_type_names[id] : NULL;
}

/* ---- bounded reading ---- */

struct cursor {
    const unsigned char *base;
    size_t size, pos;
    const char *path;
    char where[160];  /* what is being read, for "truncated in ..." */
    uint64_t budget;  /* bytes the reader may still allocate */
};

#define MEMORY_SLACK ((uint64_t)1 << 20)

static int truncated(const struct cursor *c)
{
    return ryot_fail("%s: truncated in %s (file ends at byte %zu)", c->path, c->where, c->size);
}

/* The next n bytes, or NULL (with a message) if the file ends first. */
static const unsigned char *take(struct cursor *c, uint64_t n)
{
    if (n > c->size - c->pos) {
        truncated(c);
        return NULL;
    }
    const unsigned char *p = c->base + c->pos;
    c->pos += (size_t)n;
    return p;
}

/* Takes `bytes` from the memory budget before `what` is allocated. */
static int charge(struct cursor *c, uint64_t bytes, const char *what)
{
    if (bytes > c->budget)
        return ryot_fail("%s: %s would need %" PRIu64 " bytes of memory, more than a %zu-byte file can justify",
                         c->path, what, bytes, c->size);
    c->budget -= bytes;
    return 0;
}

static int read_u32(struct cursor *c, uint32_t *v)
{
    const unsigned char *p = take(c, 4);
    if (!p)
        return -1;
    memcpy(v, p, 4);
    return 0;
}

static int read_u64(struct cursor *c, uint64_t *v)
{
    const unsigned char *p = take(c, 8);
    if (!p)
        return -1;
    memcpy(v, p, 8);
    return 0;
}

/* A GGUF string in place: *s points into the map, not NUL-terminated. */
static int read_str(struct cursor *c, const char **s, uint64_t *len)
{
    const unsigned char *p;
    if (read_u64(c, len) != 0 || !(p = take(c, *len)))
        return -1;
    *s = (const char *)p;
    return 0;
}

/* Copy of a GGUF string as a C string; NULs inside would silently cut it. */
static char *copy_str(struct weight_file *wf, struct cursor *c, const char *s, uint64_t len)
{
    if (memchr(s, '\0', (size_t)len)) {
        ryot_fail("%s: %s: string contains a NUL byte", c->path, c->where);
        return NULL;
    }
    char *out = charge(c, len + 1, c->where) == 0 ? weight_file_alloc(wf, (size_t)len + 1) : NULL;
    if (out)
        memcpy(out, s, (size_t)len);
    return out;
}

/* Keys and tensor names go into one-line messages: 1..max-1 bytes, no
 * control characters (which also excludes NUL). */
static int valid_name(const char *s, uint64_t len, size_t max)
{
    if (len == 0 || len >= max)
        return 0;
    for (uint64_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* ---- metadata ---- */

static const char *value_type_name(uint32_t t)
{
    static const char *const names[] = { "uint8", "int8", "uint16", "int16", "uint32", "int32",
                                         "float32", "bool", "string", "array", "uint64", "int64",
                                         "float64" };
    return t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* Bytes of one scalar of type t, 0 for string/array/unknown. */
static size_t scalar_bytes(uint32_t t)
{
    switch (t) {
    case GGUF_UINT8: case GGUF_INT8: case GGUF_BOOL: return 1;
    case GGUF_UINT16: case GGUF_INT16: return 2;
    case GGUF_UINT32: case GGUF_INT32: case GGUF_FLOAT32: return 4;
    case GGUF_UINT64: case GGUF_INT64: case GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static int is_float_type(uint32_t t) { return t == GGUF_FLOAT32 || t == GGUF_FLOAT64; }

/* Decode the scalar at p (scalar_bytes(t) bytes) as an integer or a float. */
static int scalar_value(struct cursor *c, uint32_t t, const unsigned char *p, int64_t *i, double *f)
{
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            uint64_t u64; int64_t i64; float f32; double f64; } v;
    memcpy(&v, p, scalar_bytes(t));
    switch (t) {
    case GGUF_UINT8: *i = v.u8; break;
    case GGUF_INT8: *i = v.i8; break;
    case GGUF_BOOL: *i = v.u8 != 0; break;
    case GGUF_UINT16: *i = v.u16; break;
    case GGUF_INT16: *i = v.i16; break;
    case GGUF_UINT32: *i = v.u32; break;
    case GGUF_INT32: *i = v.i32; break;
    case GGUF_INT64: *i = v.i64; break;
    case GGUF_UINT64:
        if (v.u64 > INT64_MAX)
            return ryot_fail("%s: %s: uint64 value %" PRIu64 " is too large", c->path, c->where,
                             v.u64);
        *i = (int64_t)v.u64;
        break;
    case GGUF_FLOAT32: *f = v.f32; break;
    case GGUF_FLOAT64: *f = v.f64; break;
    }
    return 0;
}

static int read_array(struct weight_file *wf, struct cursor *c, struct weight_meta *m)
{
    uint32_t et;
    uint64_t n;
    if (read_u32(c, &et) != 0 || read_u64(c, &n) != 0)
        return -1;
    size_t remaining = c->size - c->pos;
    if (et == GGUF_STRING) {
        /* Two passes over the strings: validate and size, then copy into
         * one block (a 128k-token vocabulary is one allocation). */
        if (n > remaining / 8)  /* each string has at least its 8-byte length */
            return truncated(c);
        size_t start = c->pos, bytes = 0;
        for (uint64_t k = 0; k < n; k++) {
            const char *s;
            uint64_t len;
            if (read_str(c, &s, &len) != 0)
                return -1;
            if (memchr(s, '\0', (size_t)len))
                return ryot_fail("%s: %s: element %" PRIu64 " contains a NUL byte", c->path,
                                 c->where, k);
            bytes += (size_t)len + 1;  /* bounded by the file size */
        }
        if (charge(c, n * sizeof(char *) + bytes, c->where) != 0)
            return -1;
        char **strs = weight_file_alloc(wf, (size_t)n * sizeof *strs + bytes);
        if (!strs)
            return -1;
        char *dst = (char *)(strs + n);
        c->pos = start;
        for (uint64_t k = 0; k < n; k++) {
            const char *s;
            uint64_t len;
            read_str(c, &s, &len);  /* validated above */
            memcpy(dst, s, (size_t)len);
            strs[k] = dst;
            dst += len + 1;
        }
        m->kind = META_STRING_ARRAY;
        m->strs = (const char *const *)strs;
        m->n = (int64_t)n;
        return 0;
    }
    size_t eb = scalar_bytes(et);
    if (eb == 0)
        return ryot_fail("%s: %s: arrays of %s (type %u) are not supported", c->path, c->where,
                         value_type_name(et), et);
    if (n > remaining / eb)
        return truncated(c);
    const unsigned char *p = take(c, n * eb);
    if (charge(c, n * (is_float_type(et) ? sizeof(float) : sizeof(int64_t)), c->where) != 0)
        return -1;
    if (is_float_type(et)) {
        float *fl = weight_file_alloc(wf, (size_t)n * sizeof *fl);
        if (!fl)
            return -1;
        for (uint64_t k = 0; k < n; k++) {
            double f;
            scalar_value(c, et, p + k * eb, NULL, &f);
            fl[k] = (float)f;
        }
        m->kind = META_FLOAT_ARRAY;
        m->floats = fl;
    } else {
        int64_t *ints = weight_file_alloc(wf, (size_t)n * sizeof *ints);
        if (!ints)
            return -1;
        for (uint64_t k = 0; k < n; k++)
            if (scalar_value(c, et, p + k * eb, &ints[k], NULL) != 0)
                return -1;
        m->kind = META_INT_ARRAY;
        m->ints = ints;
    }
    m->n = (int64_t)n;
    return 0;
}

static int read_value(struct weight_file *wf, struct cursor *c, struct weight_meta *m, uint32_t type)
{
    if (type == GGUF_ARRAY)
        return read_array(wf, c, m);
    if (type == GGUF_STRING) {
        const char *s;
        uint64_t len;
        if (read_str(c, &s, &len) != 0 || !(m->s = copy_str(wf, c, s, len)))
            return -1;
        m->kind = META_STRING;
        return 0;
    }
    size_t nb = scalar_bytes(type);
    if (nb == 0)
        return ryot_fail("%s: %s: unknown value type %u", c->path, c->where, type);
    const unsigned char *p = take(c, nb);
    if (!p || scalar_value(c, type, p, &m->i, &m->f) != 0)
        return -1;
    m->kind = is_float_type(type) ? META_FLOAT : META_INT;
    return 0;
}

static int compare_name_ptrs(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* *dup = a name that occurs twice among n names at `stride` apart, or NULL.
 * Sorting keeps this O(n log n) for files with huge counts. */
static int find_duplicate(const char *first, size_t stride, int n, const char **dup)
{
    *dup = NULL;
    if (n < 2)
        return 0;
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names)
        return ryot_fail("out of memory checking %d names", n);
    for (int i = 0; i < n; i++)
        names[i] = first + (size_t)i * stride;
    qsort(names, (size_t)n, sizeof *names, compare_name_ptrs);
    for (int i = 1; i < n && !*dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            *dup = names[i];
    free(names);
    return 0;
}

static int read_metadata(struct weight_file *wf, struct cursor *c, uint64_t n_kv)
{
    if (charge(c, n_kv * sizeof *wf->meta, "the header's metadata entries") != 0)
        return -1;
    wf->meta = calloc((size_t)n_kv ? (size_t)n_kv : 1, sizeof *wf->meta);
    if (!wf->meta)
        return ryot_fail("%s: out of memory for %" PRIu64 " metadata entries", c->path, n_kv);
    for (uint64_t k = 0; k < n_kv; k++) {
        struct weight_meta *m = &wf->meta[k];
        const char *key;
        uint64_t len;
        uint32_t type;
        snprintf(c->where, sizeof c->where, "metadata entry %" PRIu64 " of %" PRIu64, k, n_kv);
        if (read_str(c, &key, &len) != 0)
            return -1;
        if (!valid_name(key, len, sizeof m->key))
            return ryot_fail("%s: metadata entry %" PRIu64 ": key of %" PRIu64 " bytes is empty, "
                             "longer than %zu bytes or has control characters",
                             c->path, k, len, sizeof m->key - 1);
        memcpy(m->key, key, (size_t)len);
        snprintf(c->where, sizeof c->where, "metadata '%s'", m->key);
        if (read_u32(c, &type) != 0 || read_value(wf, c, m, type) != 0)
            return -1;
        wf->n_meta++;
    }
    const char *dup;
    if (find_duplicate(wf->meta[0].key, sizeof wf->meta[0], wf->n_meta, &dup) != 0)
        return -1;
    if (dup)
        return ryot_fail("%s: metadata key '%s' appears twice", c->path, dup);
    return 0;
}

/* general.alignment if present, else the default.  Tensor data starts at
 * multiples of it, so below 8 it would misalign 4- and 8-byte elements. */
static int data_alignment(const struct weight_file *wf, uint64_t *align)
{
    *align = GGUF_DEFAULT_ALIGNMENT;
    for (int i = 0; i < wf->n_meta; i++) {
        const struct weight_meta *m = &wf->meta[i];
        if (strcmp(m->key, "general.alignment") != 0)
            continue;
        if (m->kind != META_INT)
            return ryot_fail("%s: general.alignment is not an integer", wf->path);
        if (m->i < 8 || m->i > (1 << 30) || (m->i & (m->i - 1)) != 0)
            return ryot_fail("%s: general.alignment %" PRId64 " is not a power of two from 8 to 2^30 "
                             "(tensor elements would be misaligned)", wf->path, m->i);
        *align = (uint64_t)m->i;
    }
    return 0;
}

/* ---- tensor table ---- */

/* Minimum bytes of one metadata entry and one tensor info: bounds for the
 * header's counts before anything is allocated for them. */
#define MIN_KV_BYTES (8 + 1 + 4 + 1)
#define MIN_TENSOR_INFO_BYTES (8 + 1 + 4 + 8 + 4 + 8)

static int read_tensor_info(struct cursor *c, struct tensor *t, uint64_t *offset, int index)
{
    const char *name;
    uint64_t len;
    uint32_t n_dims, type_id;
    snprintf(c->where, sizeof c->where, "tensor table (tensor %d)", index);
    if (read_str(c, &name, &len) != 0)
        return -1;
    if (!valid_name(name, len, sizeof t->name))
        return ryot_fail("%s: tensor %d: name of %" PRIu64 " bytes is empty, longer than %zu "
                         "bytes or has control characters", c->path, index, len, sizeof t->name - 1);
    memcpy(t->name, name, (size_t)len);
    snprintf(c->where, sizeof c->where, "tensor table (tensor '%s')", t->name);
    if (read_u32(c, &n_dims) != 0)
        return -1;
    if (n_dims < 1 || n_dims > TENSOR_MAX_DIMS)
        return ryot_fail("%s: tensor '%s' has %u dimensions (1..%d supported)", c->path, t->name,
                         n_dims, TENSOR_MAX_DIMS);
    t->ndim = (int)n_dims;
    uint64_t elems = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne;
        if (read_u64(c, &ne) != 0)
            return -1;
        if (ne == 0 || ne > INT64_MAX || __builtin_mul_overflow(elems, ne, &elems) || elems > INT64_MAX)
            return ryot_fail("%s: tensor '%s': dimension %u of size %" PRIu64
                             " is zero or makes the element count overflow",
                             c->path, t->name, d, ne);
        t->shape[n_dims - 1 - d] = (int64_t)ne;  /* GGUF lists the contiguous dim first */
    }
    if (read_u32(c, &type_id) != 0 || read_u64(c, offset) != 0)
        return -1;
    int dt = gguf_dtype(type_id);
    if (dt < 0) {
        const char *tn = gguf_ggml_type_name(type_id);
        return ryot_fail("%s: tensor '%s' has type %s (ggml type %u), which ryot cannot read "
                         "(supported: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K TQ1_0 TQ2_0 I2_S I8)",
                         c->path, t->name, tn ? tn : "unknown", type_id);
    }
    t->type = (enum dtype)dt;
    uint64_t be = (uint64_t)dtype_block_elems(t->type);
    if ((uint64_t)t->shape[n_dims - 1] % be != 0)
        return ryot_fail("%s: tensor '%s': row length %" PRId64 " is not a multiple of the %s "
                         "block size %" PRIu64, c->path, t->name, t->shape[n_dims - 1],
                         dtype_name(t->type), be);
    /* the blocks, then a trailer (I2_S): what one block's tensor takes beyond the block */
    uint64_t nbytes, trailer = dtype_tensor_bytes(t->type, be) - dtype_block_bytes(t->type);
    if (__builtin_mul_overflow(elems / be, (uint64_t)dtype_block_bytes(t->type), &nbytes)
        || __builtin_add_overflow(nbytes, trailer, &nbytes) || nbytes > SIZE_MAX)
        return ryot_fail("%s: tensor '%s': size overflows", c->path, t->name);
    t->nbytes = (size_t)nbytes;
    t->scale = 1.0f;
    return 0;
}

/* An I2_S tensor's scale, the first 4 bytes of its trailer, into t->scale:
 * its weights are (code - 1) * scale. */
static int read_i2_s_scale(const struct cursor *c, struct tensor *t)
{
    float scale;
    memcpy(&scale, (const unsigned char *)t->data + dtype_row_bytes(t->type, tensor_elems(t)), sizeof scale);
    if (!isfinite(scale) || scale < 0.0f)
        return ryot_fail("%s: tensor '%s': I2_S scale %g is not a finite number >= 0", c->path, t->name,
                         (double)scale);
    t->scale = scale;
    return 0;
}

static int read_tensors(struct weight_file *wf, struct cursor *c, uint64_t n_tensors, uint64_t align)
{
    if (charge(c, n_tensors * (sizeof *wf->tensors + sizeof(uint64_t)), "the header's tensor table") != 0)
        return -1;
    wf->tensors = calloc((size_t)n_tensors ? (size_t)n_tensors : 1, sizeof *wf->tensors);
    uint64_t *offsets = calloc((size_t)n_tensors ? (size_t)n_tensors : 1, sizeof *offsets);
    int rc = 0;
    if (!wf->tensors || !offsets)
        rc = ryot_fail("%s: out of memory for %" PRIu64 " tensors", c->path, n_tensors);
    for (uint64_t i = 0; rc == 0 && i < n_tensors; i++) {
        rc = read_tensor_info(c, &wf->tensors[i], &offsets[i], (int)i);
        if (rc == 0)
            wf->n_tensors++;
    }
    /* The data section starts at the next multiple of the alignment. */
    uint64_t data_start = 0;
    if (rc == 0 && __builtin_add_overflow((uint64_t)c->pos, align - 1, &data_start))
        rc = ryot_fail("%s: data section offset overflows", c->path);
    data_start &= ~(align - 1);
    for (int i = 0; rc == 0 && i < wf->n_tensors; i++) {
        struct tensor *t = &wf->tensors[i];
        uint64_t begin, end;
        if (offsets[i] % align != 0)
            rc = ryot_fail("%s: tensor '%s': data offset %" PRIu64 " is not a multiple of the "
                           "alignment %" PRIu64, c->path, t->name, offsets[i], align);
        else if (__builtin_add_overflow(data_start, offsets[i], &begin)
                 || __builtin_add_overflow(begin, (uint64_t)t->nbytes, &end) || end > c->size)
            rc = ryot_fail("%s: tensor '%s' data [%" PRIu64 ", %" PRIu64 "+%zu) lies outside "
                           "the file (%zu bytes)", c->path, t->name, data_start + offsets[i],
                           data_start + offsets[i], t->nbytes, c->size);
        else
            t->data = c->base + begin;
        if (rc == 0 && t->type == DT_I2_S)
            rc = read_i2_s_scale(c, t);
    }
    free(offsets);
    if (rc != 0)
        return -1;
    const char *dup;
    if (find_duplicate(wf->tensors[0].name, sizeof wf->tensors[0], wf->n_tensors, &dup) != 0)
        return -1;
    if (dup)
        return ryot_fail("%s: tensor '%s' appears twice", c->path, dup);
    return 0;
}

int gguf_open(struct weight_file *wf, const char *path)
{
    if (weight_file_map(wf, path) != 0)
        return -1;
    struct cursor c = { .base = wf->map, .size = wf->map_size, .path = path, .where = "header",
                        .budget = 2 * (uint64_t)wf->map_size + MEMORY_SLACK };
    const unsigned char *magic = take(&c, 4);
    if (!magic)
        return -1;
    if (memcmp(magic, "GGUF", 4) != 0)
        return ryot_fail("%s: not a GGUF file (bad magic)", path);
    uint32_t version;
    uint64_t n_tensors, n_kv;
    if (read_u32(&c, &version) != 0)
        return -1;
    if (version != 2 && version != 3)
        return ryot_fail("%s: GGUF version %u is not supported (2 and 3 are)%s", path, version,
                         version > 0xffff ? "; a big-endian file?" : "");
    if (read_u64(&c, &n_tensors) != 0 || read_u64(&c, &n_kv) != 0)
        return -1;
    size_t rest = c.size - c.pos;
    if (n_kv > rest / MIN_KV_BYTES || n_kv > INT_MAX)
        return ryot_fail("%s: truncated or corrupt header: it claims %" PRIu64 " metadata "
                         "entries, more than the %zu bytes after it can hold", path, n_kv, rest);
    if (n_tensors > rest / MIN_TENSOR_INFO_BYTES || n_tensors > INT_MAX)
        return ryot_fail("%s: truncated or corrupt header: it claims %" PRIu64 " tensors, more "
                         "than the %zu bytes after it can hold", path, n_tensors, rest);
    uint64_t align;
    if (read_metadata(wf, &c, n_kv) != 0 || data_alignment(wf, &align) != 0)
        return -1;
    return read_tensors(wf, &c, n_tensors, align);
}
