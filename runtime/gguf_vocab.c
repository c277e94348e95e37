/* A GGUF file's vocabulary (tokenizer.ggml.*) as a struct tokenizer:
 *  - model "llama": SentencePiece pieces and scores, filled exactly as
 *    tokenizer_load() fills them from a llama2.c tokenizer.bin (U+2581
 *    written as ' ');
 *  - model "gpt2": byte-level BPE, its merges in rank order and the
 *    pre-tokenizer that tokenizer.ggml.pre names.  Without that key,
 *    Llama 3's (a vocabulary of 128256 tokens with <|begin_of_text|>, as the
 *    official BitNet b1.58 2B4T file has) or else llama.cpp's "default".
 *
 * Keys read: .model, .tokens, .token_type, .bos_token_id, .eos_token_id,
 * .eot_token_id, .unknown_token_id (checked only), .add_bos_token; for
 * "llama" .scores and .add_space_prefix (the encoder always adds the
 * dummy-prefix space, so false is refused); for "gpt2" .merges and .pre. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "tensor.h"
#include "tokenizer_impl.h"

#define META_SPACE "\xe2\x96\x81"  /* U+2581, SentencePiece's visible space */
#define LLAMA3_VOCAB_SIZE 128256

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

/* Special token id from `key`, or `fallback` (-1: none) if the key is absent. */
static int special_id(const struct weight_file *wf, const char *key, int fallback, int n, int *id)
{
    int err;
    const struct weight_meta *m = find_meta(wf, key, META_INT, &err);
    if (err)
        return -1;
    if (!m) {
        *id = fallback;
        return 0;
    }
    if (m->i < 0 || m->i >= n)
        return ryot_fail("%s: %s = %lld is not a token id (vocabulary of %d)", wf->path, key,
                         (long long)m->i, n);
    *id = (int)m->i;
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

static int read_types(struct tokenizer *t, const struct weight_file *wf)
{
    int err;
    const struct weight_meta *types = find_meta(wf, "tokenizer.ggml.token_type", META_INT_ARRAY, &err);
    if (err)
        return -1;
    if (!types)
        return 0;  /* SentencePiece derives them; byte-level BPE takes all as normal */
    if (types->n != t->vocab_size)
        return ryot_fail("%s: tokenizer.ggml.token_type has %lld entries for %d tokens", wf->path,
                         (long long)types->n, t->vocab_size);
    if (!(t->type = malloc((size_t)t->vocab_size)))
        return ryot_fail("%s: out of memory for %d tokens", wf->path, t->vocab_size);
    for (int id = 0; id < t->vocab_size; id++) {
        if (types->ints[id] < 0 || types->ints[id] > GGUF_TOKEN_BYTE)
            return ryot_fail("%s: tokenizer.ggml.token_type[%d] = %lld is not a token type (0..%d)",
                             wf->path, id, (long long)types->ints[id], GGUF_TOKEN_BYTE);
        t->type[id] = (unsigned char)types->ints[id];
    }
    return 0;
}

static int read_spm(struct tokenizer *t, const struct weight_file *wf, const char *const *tokens)
{
    int err, n = t->vocab_size;
    const struct weight_meta *scores = find_meta(wf, "tokenizer.ggml.scores", META_FLOAT_ARRAY, &err);
    if (err)
        return -1;
    if (!scores || scores->n != n)
        return ryot_fail("%s: tokenizer.ggml.scores must hold one score per token (%d)", wf->path, n);
    const struct weight_meta *prefix = find_meta(wf, "tokenizer.ggml.add_space_prefix", META_INT, &err);
    if (err)
        return -1;
    if (prefix && !prefix->i)
        return ryot_fail("%s: tokenizer.ggml.add_space_prefix is false: not supported (the encoder "
                         "always adds SentencePiece's dummy-prefix space)", wf->path);
    if (special_id(wf, "tokenizer.ggml.bos_token_id", 1, n, &t->bos) != 0
        || special_id(wf, "tokenizer.ggml.eos_token_id", 2, n, &t->eos) != 0)
        return -1;
    if (!(t->scores = malloc((size_t)n * sizeof *t->scores)))
        return ryot_fail("%s: out of memory for %d tokens", wf->path, n);
    for (int id = 0; id < n; id++) {
        if (!(t->vocab[id] = piece_text(tokens[id])))
            return ryot_fail("%s: out of memory for %d tokens", wf->path, n);
        t->scores[id] = scores->floats[id];
        if (t->scores[id] != t->scores[id])
            return ryot_fail("%s: token %d has a NaN score", wf->path, id);
    }
    return 0;
}

/* The pre-tokenizer: tokenizer.ggml.pre, or the fallback the file's top
 * comment describes. */
static int read_pre(struct tokenizer *t, const struct weight_file *wf, const char *const *tokens)
{
    int err;
    const struct weight_meta *pre = find_meta(wf, "tokenizer.ggml.pre", META_STRING, &err);
    if (err)
        return -1;
    if (pre) {
        int p = pretokenizer_from_name(pre->s);
        if (p < 0)
            return ryot_fail("%s: tokenizer.ggml.pre \"%.40s\" is not supported (supported: %s)",
                             wf->path, pre->s, pretokenizer_names);
        t->pre = (enum pretokenizer)p;
        return 0;
    }
    t->pre = PRE_DEFAULT;
    if (t->vocab_size == LLAMA3_VOCAB_SIZE)
        for (int id = 0; id < t->vocab_size; id++)
            if (!strcmp(tokens[id], "<|begin_of_text|>"))
                t->pre = PRE_LLAMA3;
    return 0;
}

static int read_bpe(struct tokenizer *t, const struct weight_file *wf, const char *const *tokens)
{
    int err, n = t->vocab_size;
    const struct weight_meta *merges = find_meta(wf, "tokenizer.ggml.merges", META_STRING_ARRAY, &err);
    if (err)
        return -1;
    if (!merges)
        return ryot_fail("%s: tokenizer.ggml.merges is missing (a \"gpt2\" vocabulary needs its merges)",
                         wf->path);
    if (merges->n > INT_MAX)
        return ryot_fail("%s: tokenizer.ggml.merges has %lld entries", wf->path, (long long)merges->n);
    if (special_id(wf, "tokenizer.ggml.bos_token_id", -1, n, &t->bos) != 0
        || special_id(wf, "tokenizer.ggml.eos_token_id", -1, n, &t->eos) != 0
        || read_pre(t, wf, tokens) != 0)
        return -1;
    t->ignore_merges = t->pre == PRE_LLAMA3;
    for (int id = 0; id < n; id++)
        if (!(t->vocab[id] = strdup(tokens[id])))
            return ryot_fail("%s: out of memory for %d tokens", wf->path, n);
    if (tokenizer_build_index(t) != 0)
        return -1;
    return bpe_load_merges(t, wf->path, merges->strs, (int)merges->n);
}

static int fill(struct tokenizer *t, const struct weight_file *wf)
{
    int err;
    const struct weight_meta *model = find_meta(wf, "tokenizer.ggml.model", META_STRING, &err);
    if (err)
        return -1;
    if (!model)
        return ryot_fail("%s: no vocabulary (tokenizer.ggml.model is missing)", wf->path);
    if (strcmp(model->s, "llama") != 0 && strcmp(model->s, "gpt2") != 0)
        return ryot_fail("%s: tokenizer.ggml.model is \"%.40s\": supported are \"llama\" "
                         "(SentencePiece) and \"gpt2\" (byte-level BPE)", wf->path, model->s);
    t->kind = model->s[0] == 'l' ? TOKENIZER_SPM : TOKENIZER_BPE;
    const struct weight_meta *tokens = find_meta(wf, "tokenizer.ggml.tokens", META_STRING_ARRAY, &err);
    if (err)
        return -1;
    if (!tokens)
        return ryot_fail("%s: tokenizer.ggml.tokens is missing", wf->path);
    if (tokens->n < 3 || tokens->n > INT_MAX / 2)
        return ryot_fail("%s: tokenizer.ggml.tokens has %lld entries", wf->path, (long long)tokens->n);
    int n = t->vocab_size = (int)tokens->n, unk;
    if (!(t->vocab = calloc((size_t)n, sizeof *t->vocab)))
        return ryot_fail("%s: out of memory for %d tokens", wf->path, n);
    const struct weight_meta *add_bos = find_meta(wf, "tokenizer.ggml.add_bos_token", META_INT, &err);
    if (err || read_types(t, wf) != 0
        || special_id(wf, "tokenizer.ggml.eot_token_id", -1, n, &t->eot) != 0
        || special_id(wf, "tokenizer.ggml.unknown_token_id", -1, n, &unk) != 0)
        return -1;
    if (t->kind == TOKENIZER_SPM) {
        if (read_spm(t, wf, tokens->strs) != 0 || tokenizer_build_index(t) != 0)
            return -1;
    } else if (read_bpe(t, wf, tokens->strs) != 0) {
        return -1;
    }
    t->add_bos = (!add_bos || add_bos->i) && t->bos >= 0;
    return 0;
}

int tokenizer_from_gguf(struct tokenizer *t, const struct weight_file *wf)
{
    memset(t, 0, sizeof *t);
    int rc = fill(t, wf);
    if (rc != 0)
        tokenizer_free(t);
    return rc;
}
