/* Perplexity of a model on a tokenized text, computed the way llama.cpp's
 * perplexity tool computes it, so both give the same figure on the same
 * text and model:
 *
 *  - stride 0: the tokens are cut into chunks of `ctx`; each chunk runs from
 *    an empty context with its first token replaced by BOS (when the
 *    vocabulary adds one), and the second half of each chunk is scored: the
 *    logits at positions ctx/2 .. ctx-2 against the tokens that follow.
 *  - stride S > 0: a chunk of `ctx` tokens starts every S tokens (no BOS
 *    swapped in), and its last S tokens are scored.
 *
 * Each scored token costs -log softmax(logits)[token] (max subtracted, the
 * exponentials summed in double).  perplexity = exp(mean cost). */
#ifndef RYOT_PERPLEXITY_H
#define RYOT_PERPLEXITY_H

#include <stdbool.h>
#include <stdio.h>

struct model;

struct perplexity_result {
    double ppl, ppl_err;  /* exp(mean cost), and its standard error */
    int chunks, scored;   /* chunks run, tokens scored */
};

/* Scores tokens[0..n) with chunks of `ctx` tokens (at most the model's
 * context) and `stride` (0: the default mode above); `bos` replaces each
 * chunk's first token when add_bos.  The running value goes to `progress`
 * after each chunk ("[chunk]ppl," as llama.cpp prints it).  0, or -1 with
 * ryot_last_error() (too few tokens for two chunks, a bad ctx or stride,
 * non-finite logits). */
int perplexity(struct model *m, int *tokens, int n, int ctx, int stride, int bos, bool add_bos,
               FILE *progress, struct perplexity_result *out);

#endif
