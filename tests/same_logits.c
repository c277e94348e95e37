/* Files that hold the same model written differently must give the same
 * logits, bit for bit: the generated model runs on the first file and on
 * each other one (mkmodel's --type i2_s, --scales, --shuffle, --arch
 * variants of it), on 1 and 2 threads, through a prefill of PREFILL tokens
 * in one call and STEPS greedy decode steps.  The arithmetic is the same
 * when the files' weights convert to the same values and the packer keeps
 * their scale exactly, so any difference is a loading bug.
 *
 *   same_logits MODEL.gguf OTHER.gguf...   (the generated model linked in) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "model.h"
#include "sched.h"
#include "tensor.h"

enum { PREFILL = 12, STEPS = 40 };

/* The logits of every step (the prefill's last token, then each decoded
 * one) on `path`, into logits[(1 + STEPS) * vocab]; -1 if it cannot run. */
static int run(const char *path, int threads, float *logits)
{
    const int vocab = model_info()->vocab_size;
    struct weight_file wf;
    if (weight_file_open(&wf, path) != 0) {
        fprintf(stderr, "%s\n", ryot_last_error());
        return -1;
    }
    struct sched *sched = sched_create(threads, false);
    struct arena arena;
    struct model *m = NULL;
    if (sched && arena_init(&arena, model_arena_bytes(threads)) == 0) {
        m = model_create(&wf, &arena, sched);
        if (!m)
            fprintf(stderr, "%s\n", ryot_last_error());
    }
    int tokens[PREFILL];
    for (int i = 0; i < PREFILL; i++)
        tokens[i] = (7 * i + 3) % vocab;
    const float *out = m ? model_forward(m, tokens, PREFILL, 0) : NULL;
    for (int step = 0; out && step <= STEPS; step++) {
        memcpy(logits + (size_t)step * vocab, out, (size_t)vocab * sizeof *out);
        int best = 0;
        for (int v = 1; v < vocab; v++)
            best = out[v] > out[best] ? v : best;
        out = step < STEPS ? model_forward(m, &best, 1, PREFILL + step) : out;
    }
    if (m)
        arena_destroy(&arena);
    if (sched)
        sched_destroy(sched);
    weight_file_close(&wf);
    return out ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf OTHER.gguf...\n", argv[0]);
        return 2;
    }
    const int vocab = model_info()->vocab_size;
    const size_t n = (size_t)(1 + STEPS) * (size_t)vocab;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    int failed = 0;
    for (int threads = 1; threads <= 2; threads++) {
        if (run(argv[1], threads, want) != 0)
            return 1;
        for (int f = 2; f < argc; f++) {
            if (run(argv[f], threads, got) != 0) {
                printf("FAIL %s, %d threads: does not run\n", argv[f], threads);
                failed++;
                continue;
            }
            size_t first = 0;
            while (first < n && !memcmp(&got[first], &want[first], sizeof *got))
                first++;
            if (first == n) {
                printf("ok   %s, %d threads: the logits of %s, bit for bit, over %d steps\n", argv[f], threads, argv[1],
                       1 + STEPS);
            } else {
                printf("FAIL %s, %d threads: logit %zu of step %zu is %.9g, %s has %.9g\n", argv[f], threads,
                       first % (size_t)vocab, first / (size_t)vocab, got[first], argv[1], want[first]);
                failed++;
            }
        }
    }
    free(want);
    free(got);
    printf("%d passed, %d failed\n", 2 * (argc - 2) - failed, failed);
    return failed != 0;
}
