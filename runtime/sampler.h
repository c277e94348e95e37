/* Next-token sampling: greedy, temperature, top-k, top-p; seeded. */
#ifndef RYOT_SAMPLER_H
#define RYOT_SAMPLER_H

#include <stdint.h>

struct arena;

struct prob_index { float prob; int index; };

struct sampler {
    int vocab_size;
    float temperature;  /* 0: greedy */
    float top_p;        /* 1: off */
    int top_k;          /* 0: off */
    uint64_t rng;
    struct prob_index *scratch;  /* vocab_size entries, from the arena */
};

int sampler_init(struct sampler *s, struct arena *a, int vocab_size,
                 float temperature, float top_p, int top_k, uint64_t seed);
/* Picks a token from `logits` (modified in place). */
int sampler_sample(struct sampler *s, float *logits);

#endif
