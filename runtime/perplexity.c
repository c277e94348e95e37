#include "perplexity.h"

#include <math.h>

#include "error.h"
#include "model.h"

/* What model_forward_each's callback needs to score one chunk. */
struct chunk {
    const int *tokens;  /* the chunk's tokens in the text (not the BOS swapped in) */
    int first, last;    /* positions whose logits are scored */
    int vocab;
    double nll, nll2;   /* sums of the cost and its square */
    int bad_position;   /* a position with non-finite logits, or -1 */
};

static void score(void *ctx, int i, const float *logits)
{
    struct chunk *c = ctx;
    if (i > c->last)
        return;
    float max = logits[0];
    for (int v = 1; v < c->vocab; v++)
        max = logits[v] > max ? logits[v] : max;
    double sum = 0;
    for (int v = 0; v < c->vocab; v++)
        sum += expf(logits[v] - max);
    const double cost = max + log(sum) - logits[c->tokens[i + 1]];
    if (!isfinite(cost) && c->bad_position < 0)
        c->bad_position = i;
    c->nll += cost;
    c->nll2 += cost * cost;
}

int perplexity(struct model *m, int *tokens, int n, int ctx, int stride, int bos, bool add_bos,
               FILE *progress, struct perplexity_result *out)
{
    const struct model_info *mi = model_info();
    if (ctx < 4 || ctx > mi->seq_len)
        return ryot_fail("perplexity: a context of %d tokens must be in [4, %d] (model %s's context)", ctx,
                         mi->seq_len, mi->name);
    if (stride < 0 || stride >= ctx)
        return ryot_fail("perplexity: the stride %d must be in [1, %d) for a context of %d (or 0: chunks)", stride,
                         ctx, ctx);
    if (n < 2 * ctx)
        return ryot_fail("perplexity: the text is %d tokens; a context of %d needs at least %d (two chunks)", n, ctx,
                         2 * ctx);
    const int chunks = stride ? (n - ctx + stride - 1) / stride : n / ctx;
    if (progress)
        fprintf(progress, "perplexity: %d tokens, %d chunks of %d%s, scoring %d tokens of each\n", n, chunks, ctx,
                stride ? " (strided)" : "", stride ? stride : ctx - 1 - ctx / 2);
    double nll = 0, nll2 = 0;
    int scored = 0;
    for (int k = 0; k < chunks; k++) {
        const int start = stride ? k * stride : k * ctx;
        struct chunk c = { .tokens = tokens + start, .first = stride ? ctx - stride - 1 : ctx / 2, .last = ctx - 2,
                           .vocab = mi->vocab_size, .bad_position = -1 };
        const int saved = tokens[start];
        if (!stride && add_bos)
            tokens[start] = bos;
        const int rc = model_forward_each(m, tokens + start, ctx, 0, c.first, score, &c);
        tokens[start] = saved;
        if (rc != 0)
            return -1;
        if (c.bad_position >= 0)
            return ryot_fail("perplexity: chunk %d, position %d: the logits are not finite", k + 1, c.bad_position);
        nll += c.nll;
        nll2 += c.nll2;
        scored += c.last - c.first + 1;
        if (progress) {
            fprintf(progress, "[%d]%.4f,", k + 1, exp(nll / scored));
            fflush(progress);
        }
    }
    if (progress)
        fputc('\n', progress);
    const double mean = nll / scored, var = nll2 / scored - mean * mean;
    *out = (struct perplexity_result){ .ppl = exp(mean), .chunks = chunks, .scored = scored,
                                       .ppl_err = var > 0 && scored > 1 ? sqrt(var / (scored - 1)) * exp(mean) : 0 };
    return 0;
}
