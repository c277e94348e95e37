/* A GGUF file's SentencePiece vocabulary (tokenizer.ggml.model = "llama")
 * as a struct tokenizer, filled exactly as tokenizer_load() fills it from a
 * llama2.c tokenizer.bin (see runtime/tokenizer.h): the pieces with U+2581
 * written as ' ', their scores, BOS and EOS ids, then the shared index.
 *
 * GGUF keys read: tokenizer.ggml.model, .tokens, .scores, .token_type
 * (checked for length only: the encoder tells byte pieces by their
 * "<0xXX>" text), .bos_token_id, .eos_token_id, .add_space_prefix.  GPT-2
 * style byte-level BPE ("gpt2", with merges) is a different algorithm and
 * is rejected, as is a vocabulary without the dummy-prefix space. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tensor.h"
#include "tokenizer.h"

#define META_SPACE "\xe2\x96\x81"  /* U+2581, SentencePiece's visible space */

/* The entry for `key` if present with `kind`; NULL and *err = -1 (with a
 * message) if present with another kind; NULL and *err = 0 if absent. */
static const struct weight_meta *find_meta(const struct weight_file *wf, const char *key, int kind,
                                           int *err)
{
    *err = 0;
    for (int i = 0; i < wf->n_meta; i++) {
        const struct weight_meta *m = &wf->meta[i];
        if (strcmp(m->key, key) != 0)
            continue;
        if ((int)m->kind == kind)
            return m;
        *err = ryot_fail("%s: %s has the wrong type for a vocabulary", wf->path, key);
        return NULL;
    }
    return NULL;
}

/* Special token id from `key`, or `fallback` if the key is absent. */
static int special_id(const struct weight_file *wf, const char *key, int fallback, int n, int *id)
{
    int err;
    const struct weight_meta *m = find_meta(wf, key, META_INT, &err);
    if (err)
        return -1;
    int64_t v = m ? m->i : fallback;
    if (v < 0 || v >= n)
        return ryot_fail("%s: %s = %lld is not a token id (vocabulary of %d)", wf->path, key,
                         (long long)v, n);
    *id = (int)v;
    return 0;
}

/* `piece` with every U+2581 replaced by ' ' (malloc'd). */
static char *piece_text(const char *piece)
{
    size_t len = strlen(piece);
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = piece; *p;) {
        if (strncmp(p, META_SPACE, 3) == 0) {
            *o++ = ' ';
            p += 3;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

static int fill(struct tokenizer *t, const struct weight_file *wf)
{
    int err;
    const struct weight_meta *model = find_meta(wf, "tokenizer.ggml.model", META_STRING, &err);
    if (err)
        return -1;
    if (!model)
        return ryot_fail("%s: no vocabulary (tokenizer.ggml.model is missing)", wf->path);
    if (strcmp(model->s, "llama") != 0)
        return ryot_fail("%s: tokenizer.ggml.model is \"%s\": only SentencePiece (\"llama\") "
                         "vocabularies are supported", wf->path, model->s);
    const struct weight_meta *tokens = find_meta(wf, "tokenizer.ggml.tokens", META_STRING_ARRAY, &err);
    if (err)
        return -1;
    if (!tokens)
        return ryot_fail("%s: tokenizer.ggml.tokens is missing", wf->path);
    if (tokens->n < 3 || tokens->n > INT_MAX / 2)
        return ryot_fail("%s: tokenizer.ggml.tokens has %lld entries", wf->path, (long long)tokens->n);
    int n = (int)tokens->n;
    const struct weight_meta *scores = find_meta(wf, "tokenizer.ggml.scores", META_FLOAT_ARRAY, &err);
    if (err)
        return -1;
    if (!scores || scores->n != n)
        return ryot_fail("%s: tokenizer.ggml.scores must hold one score per token (%d)", wf->path, n);
    const struct weight_meta *types = find_meta(wf, "tokenizer.ggml.token_type", META_INT_ARRAY, &err);
    if (err)
        return -1;
    if (types && types->n != n)
        return ryot_fail("%s: tokenizer.ggml.token_type has %lld entries for %d tokens", wf->path,
                         (long long)types->n, n);
    const struct weight_meta *prefix = find_meta(wf, "tokenizer.ggml.add_space_prefix", META_INT, &err);
    if (err)
        return -1;
    if (prefix && !prefix->i)
        return ryot_fail("%s: tokenizer.ggml.add_space_prefix is false: not supported (the encoder "
                         "always adds SentencePiece's dummy-prefix space)", wf->path);
    if (special_id(wf, "tokenizer.ggml.bos_token_id", 1, n, &t->bos) != 0
        || special_id(wf, "tokenizer.ggml.eos_token_id", 2, n, &t->eos) != 0)
        return -1;

    t->vocab_size = n;
    t->vocab = calloc((size_t)n, sizeof *t->vocab);
    t->scores = malloc((size_t)n * sizeof *t->scores);
    if (!t->vocab || !t->scores)
        return ryot_fail("%s: out of memory for %d tokens", wf->path, n);
    for (int id = 0; id < n; id++) {
        if (!(t->vocab[id] = piece_text(tokens->strs[id])))
            return ryot_fail("%s: out of memory for %d tokens", wf->path, n);
        t->scores[id] = scores->floats[id];
        if (t->scores[id] != t->scores[id])
            return ryot_fail("%s: token %d has a NaN score", wf->path, id);
    }
    return tokenizer_build_index(t);
}

int tokenizer_from_gguf(struct tokenizer *t, const struct weight_file *wf)
{
    memset(t, 0, sizeof *t);
    int rc = fill(t, wf);
    if (rc != 0)
        tokenizer_free(t);
    return rc;
}
