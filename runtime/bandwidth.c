#include "bandwidth.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "error.h"
#include "sched.h"

enum { CHUNK_BYTES = 1 << 20 };  /* unit of work handed to a thread */

struct read_job {
    const unsigned char *buf;
    uint64_t sums[64];  /* one per worker, so the loads cannot be optimized away */
};

#if defined(__x86_64__)
__attribute__((target("avx512f"))) static uint64_t read_avx512(const unsigned char *p, size_t n)
{
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    for (size_t i = 0; i < n; i += 256) {
        a = _mm512_xor_si512(a, _mm512_load_si512((const void *)(p + i)));
        b = _mm512_xor_si512(b, _mm512_load_si512((const void *)(p + i + 64)));
        c = _mm512_xor_si512(c, _mm512_load_si512((const void *)(p + i + 128)));
        d = _mm512_xor_si512(d, _mm512_load_si512((const void *)(p + i + 192)));
    }
    a = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
    return (uint64_t)_mm512_reduce_add_epi64(a);
}

__attribute__((target("avx2"))) static uint64_t read_avx2(const unsigned char *p, size_t n)
{
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i < n; i += 128) {
        a = _mm256_xor_si256(a, _mm256_load_si256((const void *)(p + i)));
        b = _mm256_xor_si256(b, _mm256_load_si256((const void *)(p + i + 32)));
        c = _mm256_xor_si256(c, _mm256_load_si256((const void *)(p + i + 64)));
        d = _mm256_xor_si256(d, _mm256_load_si256((const void *)(p + i + 96)));
    }
    a = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    return (uint64_t)_mm256_extract_epi64(a, 0) ^ (uint64_t)_mm256_extract_epi64(a, 3);
}
#endif

static uint64_t read_scalar(const unsigned char *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        s ^= v;
    }
    return s;
}

static uint64_t read_block(const unsigned char *p, size_t n)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        return read_avx512(p, n);
    if (__builtin_cpu_supports("avx2"))
        return read_avx2(p, n);
#endif
    return read_scalar(p, n);
}

static void read_chunks(void *ctx, size_t begin, size_t end, int worker)
{
    struct read_job *job = ctx;
    for (size_t c = begin; c < end; c++)
        job->sums[worker & 63] += read_block(job->buf + c * CHUNK_BYTES, CHUNK_BYTES);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double measure_read_bandwidth(struct sched *s, size_t bytes, int reps)
{
    const size_t chunks = bytes / CHUNK_BYTES;
    bytes = chunks * CHUNK_BYTES;
    unsigned char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        ryot_fail("cannot map %zu MiB to measure read bandwidth", bytes >> 20);
        return -1;
    }
    madvise(buf, bytes, MADV_HUGEPAGE);
    memset(buf, 1, bytes);  /* fault every page in before timing */
    struct read_job job = { .buf = buf };
    double best = 0;
    for (int r = 0; r < reps; r++) {
        const double t0 = now_s();
        parallel_for(s, chunks, 1, read_chunks, &job);
        const double bw = bytes / (now_s() - t0);
        best = bw > best ? bw : best;
    }
    munmap(buf, bytes);
    return best;
}
