/* The weight-file front end: open/close with dispatch on the file's magic,
 * tensor and metadata lookup, dtype tables, conversion to f32. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "f16.h"
#include "importers.h"
#include "quant.h"
#include "tensor.h"

static const struct {
    const char *name;
    int block_elems;
    size_t block_bytes;
    size_t trailer_bytes;  /* after the blocks, once per tensor */
} dtype_info[DT_COUNT] = {
    [DT_F32] = {"F32", 1, 4},
    [DT_F16] = {"F16", 1, 2},
    [DT_BF16] = {"BF16", 1, 2},
    [DT_Q8_0] = {"Q8_0", 32, 34},
    [DT_Q4_0] = {"Q4_0", 32, 18},
    [DT_Q4_K] = {"Q4_K", 256, 144},
    [DT_Q6_K] = {"Q6_K", 256, 210},
    [DT_TQ1_0] = {"TQ1_0", 256, 54},
    [DT_TQ2_0] = {"TQ2_0", 256, 66},
    [DT_I8] = {"I8", 1, 1},
    [DT_I2_S] = {"I2_S", 128, 32, 32},
};

/* The largest block of any dtype, for the partial-block buffer below. */
#define MAX_BLOCK_ELEMS 256

static int dtype_valid(enum dtype t) { return (unsigned)t < DT_COUNT; }

const char *dtype_name(enum dtype t) { return dtype_valid(t) ? dtype_info[t].name : "invalid"; }

int dtype_block_elems(enum dtype t) { return dtype_valid(t) ? dtype_info[t].block_elems : 0; }

size_t dtype_block_bytes(enum dtype t) { return dtype_valid(t) ? dtype_info[t].block_bytes : 0; }

/* Rounds a partial trailing block up to a whole one, so the result is always
 * enough storage for `n` elements. */
size_t dtype_row_bytes(enum dtype t, int64_t n)
{
    if (!dtype_valid(t) || n <= 0)
        return 0;
    int64_t be = dtype_info[t].block_elems;
    return (size_t)((n + be - 1) / be) * dtype_info[t].block_bytes;
}

size_t dtype_tensor_bytes(enum dtype t, int64_t n)
{
    return dtype_valid(t) && n > 0 ? dtype_row_bytes(t, n) + dtype_info[t].trailer_bytes : 0;
}

int64_t tensor_elems(const struct tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

int weight_file_map(struct weight_file *wf, const char *path)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
     * below, and reading a regular file through the map ignores the flag. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return ryot_fail("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return ryot_fail("%s: cannot stat: %s", path, strerror(err));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ryot_fail("%s: is a directory, not a weight file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ryot_fail("%s: not a regular file (a FIFO, socket or device)", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return ryot_fail("%s: empty file", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (map == MAP_FAILED)
        return ryot_fail("%s: cannot mmap %lld bytes: %s", path, (long long)st.st_size,
                         strerror(err));
    wf->map = map;
    wf->map_size = (size_t)st.st_size;
    return 0;
}

/* Blocks handed out by weight_file_alloc, chained through wf->owned.  The
 * header is padded to 64 bytes so the payload keeps the block's alignment. */
struct owned_block {
    struct owned_block *next;
    unsigned char pad[64 - sizeof(struct owned_block *)];
};

void *weight_file_alloc(struct weight_file *wf, size_t size)
{
    struct owned_block *b = NULL;
    size_t total = 0;
    if (size <= SIZE_MAX - 2 * sizeof *b) {
        total = (sizeof *b + size + 63) & ~(size_t)63;
        b = aligned_alloc(64, total);
    }
    if (!b) {
        ryot_fail("%s: out of memory allocating %zu bytes", wf->path, size);
        return NULL;
    }
    memset(b, 0, total);
    b->next = wf->owned;
    wf->owned = b;
    return b + 1;
}

void weight_file_close(struct weight_file *wf)
{
    if (wf->map)
        munmap(wf->map, wf->map_size);
    free(wf->tensors);
    free(wf->meta);
    for (struct owned_block *b = wf->owned; b;) {
        struct owned_block *next = b->next;
        free(b);
        b = next;
    }
    memset(wf, 0, sizeof *wf);
}

/* The tensor called `name`, or NULL (no message: absence is no error here). */
static struct tensor *find_tensor(const struct weight_file *wf, const char *name)
{
    for (int i = 0; i < wf->n_tensors; i++)
        if (strcmp(wf->tensors[i].name, name) == 0)
            return &wf->tensors[i];
    return NULL;
}

/* Length of NAME in a tensor name "NAME.scale", else 0. */
static size_t scaled_name_length(const char *name)
{
    const size_t len = strlen(name), suffix = strlen(".scale");
    return len > suffix && strcmp(name + len - suffix, ".scale") == 0 ? len - suffix : 0;
}

/* llama.cpp's bitnet models may hold NAME.scale, one F32 value multiplying
 * the output of the matrix NAME.weight.  It is folded into that tensor's
 * scale, so every reader of NAME.weight sees the product, and dropped from
 * the table. */
static int fold_scale_tensors(struct weight_file *wf)
{
    for (int i = 0; i < wf->n_tensors; i++) {
        const struct tensor *s = &wf->tensors[i];
        const size_t len = scaled_name_length(s->name);
        if (len == 0)
            continue;
        char name[TENSOR_NAME_MAX + 8];
        snprintf(name, sizeof name, "%.*s.weight", (int)len, s->name);
        struct tensor *w = find_tensor(wf, name);
        if (!w || w->ndim != 2)
            return ryot_fail("%s: tensor '%s' has no 2-D tensor '%s' to scale", wf->path, s->name, name);
        if (s->type != DT_F32 || s->ndim != 1 || s->shape[0] != 1)
            return ryot_fail("%s: tensor '%s' must be one F32 value, not %s of %lld elements in %d dimensions",
                             wf->path, s->name, dtype_name(s->type), (long long)tensor_elems(s), s->ndim);
        float v;
        memcpy(&v, s->data, sizeof v);
        if (!isfinite(v))
            return ryot_fail("%s: tensor '%s' is %g, not a finite scale", wf->path, s->name, (double)v);
        w->scale *= v;
    }
    int kept = 0;
    for (int i = 0; i < wf->n_tensors; i++)
        if (scaled_name_length(wf->tensors[i].name) == 0)
            wf->tensors[kept++] = wf->tensors[i];
    wf->n_tensors = kept;
    return 0;
}

int weight_file_open(struct weight_file *wf, const char *path)
{
    memset(wf, 0, sizeof *wf);
    if (strlen(path) >= sizeof wf->path)
        return ryot_fail("%.64s...: path longer than %zu bytes", path, sizeof wf->path - 1);
    strcpy(wf->path, path);

    /* Peek at the magic through a temporary map: one place reports missing
     * files, directories and empty files for every format. */
    if (weight_file_map(wf, path) != 0)
        return -1;
    int is_gguf = wf->map_size >= 4 && memcmp(wf->map, "GGUF", 4) == 0;
    munmap(wf->map, wf->map_size);
    wf->map = NULL;
    wf->map_size = 0;

    int rc = is_gguf ? gguf_open(wf, path) : llama2c_open(wf, path);
    if (rc == 0)
        rc = fold_scale_tensors(wf);
    if (rc != 0) {
        weight_file_close(wf);
        return -1;
    }
    return 0;
}

const struct tensor *weight_file_find(const struct weight_file *wf, const char *name)
{
    for (int i = 0; i < wf->n_tensors; i++)
        if (strcmp(wf->tensors[i].name, name) == 0)
            return &wf->tensors[i];
    ryot_fail("%s: no tensor named '%s'", wf->path, name);
    return NULL;
}

const struct weight_meta *weight_file_meta(const struct weight_file *wf, const char *key)
{
    for (int i = 0; i < wf->n_meta; i++)
        if (strcmp(wf->meta[i].key, key) == 0)
            return &wf->meta[i];
    ryot_fail("%s: no metadata key '%s'", wf->path, key);
    return NULL;
}

/* "[512, 64]" into buf. */
static const char *format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

int tensor_check_shape(const struct weight_file *wf, const struct tensor *t, int ndim,
                       const int64_t *shape)
{
    if (!t)
        return ryot_fail("%s: missing tensor", wf->path);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (same)
        return 0;
    char want[128], got[128];
    return ryot_fail("%s: tensor '%s' has shape %s, expected %s", wf->path, t->name,
                     format_shape(got, sizeof got, t->ndim, t->shape),
                     format_shape(want, sizeof want, ndim, shape));
}

/* f16_to_f32, bit for bit, without a branch, so that conversion loops
 * vectorize: exponent and mantissa shifted into f32 position and scaled by
 * 2^112 are the value of every finite half, normal or subnormal (the
 * product is exact); infinities and NaNs take the all-ones exponent and
 * keep their payload. */
static inline float f16_to_f32_branchless(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, em = h & 0x7fffu;
    const uint32_t finite = f32_bits(f32_from_bits(em << 13) * 0x1p112f);
    const uint32_t special = 0x7f800000u | (em & 0x3ffu) << 13;
    const uint32_t is_special = 0u - (uint32_t)(em >= 0x7c00u);
    return f32_from_bits(sign | (special & is_special) | (finite & ~is_special));
}

/* Element i of 16-bit floats at src (memcpy: the map gives no alignment
 * guarantee). */
static inline float f16_at(const unsigned char *src, int64_t i)
{
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    return f16_to_f32_branchless(h);
}

static inline float bf16_at(const unsigned char *src, int64_t i)
{
    uint16_t h;
    memcpy(&h, src + 2 * i, 2);
    return bf16_to_f32(h);
}

/* At -O2 GCC vectorizes a loop only when its trip count is a known multiple
 * of the vector width: these convert in runs of RUN, then the rest. */
#define RUN 16

static void f16_to_f32_rows(const unsigned char *restrict src, float *restrict dst, int64_t n)
{
    int64_t i = 0;
    for (; i + RUN <= n; i += RUN)
        for (int k = 0; k < RUN; k++)
            dst[i + k] = f16_at(src, i + k);
    for (; i < n; i++)
        dst[i] = f16_at(src, i);
}

static void bf16_to_f32_rows(const unsigned char *restrict src, float *restrict dst, int64_t n)
{
    int64_t i = 0;
    for (; i + RUN <= n; i += RUN)
        for (int k = 0; k < RUN; k++)
            dst[i + k] = bf16_at(src, i + k);
    for (; i < n; i++)
        dst[i] = bf16_at(src, i);
}

static int convert_blocks(const struct tensor *t, int64_t first, int64_t n, float *dst)
{
    int64_t be = dtype_info[t->type].block_elems;
    size_t bb = dtype_info[t->type].block_bytes;
    if (first % be != 0)
        return ryot_fail("tensor '%s': conversion must start on a %s block boundary "
                         "(multiple of %lld), not at element %lld",
                         t->name, dtype_name(t->type), (long long)be, (long long)first);
    const unsigned char *src = (const unsigned char *)t->data + (size_t)(first / be) * bb;
    int64_t whole = n / be * be;
    float block[MAX_BLOCK_ELEMS];
    /* The tensor stores whole blocks, so a last partial one is there. */
    if ((whole > 0 && dequantize_row(t->type, src, dst, whole) != 0)
        || (whole < n && dequantize_row(t->type, src + (size_t)(whole / be) * bb, block, be) != 0)) {
        char why[256];
        snprintf(why, sizeof why, "%s", ryot_last_error());
        return ryot_fail("tensor '%s': %s", t->name, why);
    }
    if (whole < n)
        memcpy(dst + whole, block, (size_t)(n - whole) * sizeof *dst);
    return 0;
}

/* The tensor's real values: the per-tensor scale is applied too. */
int tensor_to_f32(const struct tensor *t, int64_t first, int64_t n, float *dst)
{
    if (!dtype_valid(t->type))
        return ryot_fail("tensor '%s': invalid dtype %d", t->name, (int)t->type);
    int64_t elems = tensor_elems(t);
    if (first < 0 || n < 0 || first > elems || n > elems - first)
        return ryot_fail("tensor '%s': elements [%lld, %lld) out of range (it has %lld)", t->name,
                         (long long)first, (long long)(first + n), (long long)elems);
    if (dtype_row_bytes(t->type, first + n) > t->nbytes)
        return ryot_fail("tensor '%s': %zu data bytes cannot hold %lld %s elements", t->name,
                         t->nbytes, (long long)(first + n), dtype_name(t->type));
    switch (t->type) {
    case DT_F32:
        memcpy(dst, (const unsigned char *)t->data + (size_t)first * 4, (size_t)n * sizeof *dst);
        break;
    case DT_F16:
        f16_to_f32_rows((const unsigned char *)t->data + (size_t)first * 2, dst, n);
        break;
    case DT_BF16:
        bf16_to_f32_rows((const unsigned char *)t->data + (size_t)first * 2, dst, n);
        break;
    case DT_I8: {
        const int8_t *src = (const int8_t *)t->data + first;
        for (int64_t i = 0; i < n; i++)
            dst[i] = src[i];
        break;
    }
    default:
        if (convert_blocks(t, first, n, dst) != 0)
            return -1;
        break;
    }
    if (t->scale != 1.0f)
        for (int64_t i = 0; i < n; i++)
            dst[i] *= t->scale;
    return 0;
}

void weight_file_release(const struct weight_file *wf, const struct tensor *t)
{
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t map = (uintptr_t)wf->map, data = (uintptr_t)t->data;
    if (!wf->map || data < map || data + t->nbytes > map + wf->map_size)
        return;  /* not in the mapping (importer-owned memory) */
    const uintptr_t begin = (data + page - 1) / page * page, end = (data + t->nbytes) / page * page;
    if (begin < end)
        madvise((void *)begin, end - begin, MADV_DONTNEED);
}
