/* The tokenizer front end, shared by SentencePiece (tokenizer_spm.c) and
 * byte-level BPE (tokenizer_bpe.c): the lookup tables, the merge loop both
 * algorithms run, special tokens in the text, BOS/EOS, and decoding.
 *
 * Encoding: validate the UTF-8, cut out the special tokens the text spells
 * (as llama.cpp does: longest special first, every occurrence), then encode
 * each stretch of text in between with the vocabulary's algorithm. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "tokenizer_impl.h"

/* ---- text -> id maps (open addressing, linear probing) ---- */

static uint32_t hash_text(const char *s, size_t len)
{
    uint64_t h = 14695981039346656037u;  /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return (uint32_t)(h ^ (h >> 32));
}

int text_map_build(struct text_map *m, const struct tokenizer *t,
                   bool (*keep)(const struct tokenizer *t, int id))
{
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)t->vocab_size)
        cap *= 2;
    free(m->slots);
    if (!(m->slots = malloc(cap * sizeof *m->slots)))
        return ryot_fail("tokenizer: out of memory indexing %d tokens", t->vocab_size);
    m->mask = cap - 1;
    memset(m->slots, 0xff, cap * sizeof *m->slots);
    for (int id = 0; id < t->vocab_size; id++) {
        if (keep && !keep(t, id))
            continue;
        size_t len = strlen(t->vocab[id]);
        uint32_t i = hash_text(t->vocab[id], len) & m->mask;
        while (m->slots[i] >= 0 && strcmp(t->vocab[m->slots[i]], t->vocab[id]) != 0)
            i = (i + 1) & m->mask;
        if (m->slots[i] < 0)  /* a duplicate keeps the lower id */
            m->slots[i] = id;
    }
    return 0;
}

int text_map_find(const struct text_map *m, const struct tokenizer *t, const char *s, size_t len)
{
    for (uint32_t i = hash_text(s, len) & m->mask; m->slots[i] >= 0; i = (i + 1) & m->mask) {
        const char *v = t->vocab[m->slots[i]];
        if (strncmp(v, s, len) == 0 && v[len] == '\0')
            return m->slots[i];
    }
    return -1;
}

bool tokenizer_mergeable(const struct tokenizer *t, int id)
{
    if (id == t->bos || id == t->eos || t->type[id] == GGUF_TOKEN_CONTROL
        || t->type[id] == GGUF_TOKEN_USER_DEFINED)
        return false;
    return t->kind != TOKENIZER_SPM || !spm_is_byte_piece(t, id);
}

/* ---- the merge loop ---- */

static bool before(const struct candidate *a, const struct candidate *b)
{
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static void heap_push(struct candidate *h, int *n, struct candidate c)
{
    int i = (*n)++;
    while (i > 0 && before(&c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static struct candidate heap_pop(struct candidate *h, int *n)
{
    struct candidate top = h[0], last = h[--*n];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= *n)
            break;
        if (child + 1 < *n && before(&h[child + 1], &h[child]))
            child++;
        if (!before(&h[child], &last))
            break;
        h[i] = h[child];
        i = child;
    }
    h[i] = last;
    return top;
}

static void push_pair(const struct tokenizer *t, const char *text, const struct symbol *sym, int left,
                      pair_fn pair, struct candidate *heap, int *n)
{
    if (left < 0 || sym[left].next < 0)
        return;
    int right = sym[left].next, id;
    float key;
    if (pair(t, text, &sym[left], &sym[right], &key, &id))
        heap_push(heap, n, (struct candidate){key, left, right, sym[left].len + sym[right].len, id});
}

void merge_symbols(const struct tokenizer *t, const char *text, struct symbol *sym, int n,
                   struct candidate *heap, pair_fn pair)
{
    int queued = 0;
    for (int i = 0; i + 1 < n; i++)
        push_pair(t, text, sym, i, pair, heap, &queued);
    while (queued > 0) {
        struct candidate c = heap_pop(heap, &queued);
        struct symbol *l = &sym[c.left], *r = &sym[c.right];
        if (l->len == 0 || l->next != c.right || l->len + r->len != c.len)
            continue;
        l->len = c.len;
        l->id = c.id;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = c.left;
        r->len = 0;
        push_pair(t, text, sym, l->prev, pair, heap, &queued);
        push_pair(t, text, sym, c.left, pair, heap, &queued);
    }
}

/* ---- UTF-8 ---- */

int utf8_char(const unsigned char *s, const char **why)
{
    unsigned char c = s[0];
    int n;
    unsigned char lo = 0x80, hi = 0xBF;  /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c < 0xC0) {
        *why = "unexpected continuation byte";
        return 0;
    }
    if (c < 0xC2) {
        *why = "overlong encoding";
        return 0;
    }
    if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;  /* below: overlong */
        if (c == 0xED)
            hi = 0x9F;  /* above: UTF-16 surrogate */
    } else if (c < 0xF5) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;  /* below: overlong */
        if (c == 0xF4)
            hi = 0x8F;  /* above: beyond U+10FFFF */
    } else {
        *why = "byte that never appears in UTF-8";
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            *why = "truncated multi-byte sequence";
            return 0;
        }
    }
    if (s[1] < lo || s[1] > hi) {
        *why = c == 0xED ? "UTF-16 surrogate" : c == 0xF4 ? "code point beyond U+10FFFF"
                                                          : "overlong encoding";
        return 0;
    }
    return n;
}

uint32_t utf8_code_point(const unsigned char *s, int len)
{
    static const unsigned char lead_mask[5] = { 0, 0x7F, 0x1F, 0x0F, 0x07 };
    uint32_t cp = s[0] & lead_mask[len];
    for (int i = 1; i < len; i++)
        cp = cp << 6 | (s[i] & 0x3F);
    return cp;
}

/* ---- index ---- */

static bool valid_utf8(const char *s)
{
    const char *why;
    for (int n; *s; s += n)
        if (!(n = utf8_char((const unsigned char *)s, &why)))
            return false;
    return true;
}

/* Control and user-defined tokens, longest text first (then by id). */
static int compare_specials(const void *a, const void *b, void *vocab)
{
    int x = *(const int *)a, y = *(const int *)b;
    size_t lx = strlen(((char **)vocab)[x]), ly = strlen(((char **)vocab)[y]);
    return lx != ly ? (lx < ly) - (lx > ly) : (x > y) - (x < y);
}

static int index_specials(struct tokenizer *t)
{
    free(t->specials);
    t->n_specials = 0;
    if (!(t->specials = malloc(((size_t)t->vocab_size + 1) * sizeof *t->specials)))
        return ryot_fail("tokenizer: out of memory indexing %d tokens", t->vocab_size);
    /* only valid UTF-8 can occur in (valid) text, and then only on
     * character boundaries */
    for (int id = 0; id < t->vocab_size; id++)
        if ((t->type[id] == GGUF_TOKEN_CONTROL || t->type[id] == GGUF_TOKEN_USER_DEFINED)
            && t->vocab[id][0] != '\0' && valid_utf8(t->vocab[id]))
            t->specials[t->n_specials++] = id;
    qsort_r(t->specials, (size_t)t->n_specials, sizeof *t->specials, compare_specials, t->vocab);
    return 0;
}

/* Every token's decoded bytes, so decoding is a lookup. */
static int index_decoded(struct tokenizer *t)
{
    size_t total = 0;
    for (int id = 0; id < t->vocab_size; id++)
        total += strlen(t->vocab[id]) + 1;
    free(t->decoded);
    free(t->decoded_at);
    t->decoded = malloc(total);
    t->decoded_at = malloc(((size_t)t->vocab_size + 1) * sizeof *t->decoded_at);
    if (!t->decoded || !t->decoded_at)
        return ryot_fail("tokenizer: out of memory indexing %d tokens", t->vocab_size);
    size_t at = 0;
    for (int id = 0; id < t->vocab_size; id++) {
        t->decoded_at[id] = at;
        /* control and unknown tokens stand for no text (llama.cpp's default too) */
        if (t->type[id] != GGUF_TOKEN_CONTROL && t->type[id] != GGUF_TOKEN_UNKNOWN)
            at += t->kind == TOKENIZER_SPM ? spm_token_bytes(t, id, t->decoded + at)
                                           : bpe_token_bytes(t, id, t->decoded + at);
        t->decoded[at++] = '\0';
    }
    t->decoded_at[t->vocab_size] = at;
    return 0;
}

int tokenizer_build_index(struct tokenizer *t)
{
    if (!t->type && t->kind == TOKENIZER_BPE) {
        if (!(t->type = malloc((size_t)t->vocab_size)))
            return ryot_fail("tokenizer: out of memory indexing %d tokens", t->vocab_size);
        memset(t->type, GGUF_TOKEN_NORMAL, (size_t)t->vocab_size);
    }
    if (t->kind == TOKENIZER_SPM && spm_index(t) != 0)
        return -1;
    if (text_map_build(&t->all, t, NULL) != 0 || text_map_build(&t->pieces, t, tokenizer_mergeable) != 0)
        return -1;
    if (t->kind == TOKENIZER_BPE)
        bpe_index(t);
    return index_specials(t) != 0 || index_decoded(t) != 0 ? -1 : 0;
}

void tokenizer_free(struct tokenizer *t)
{
    if (t->vocab)
        for (int i = 0; i < t->vocab_size; i++)
            free(t->vocab[i]);
    free(t->vocab);
    free(t->type);
    free(t->scores);
    free(t->all.slots);
    free(t->pieces.slots);
    free(t->specials);
    free(t->decoded);
    free(t->decoded_at);
    free(t->merges.slots);
    memset(t, 0, sizeof *t);
}

/* ---- encoding ---- */

int token_out_put(struct token_out *o, int token)
{
    if (o->n >= o->max)
        return ryot_fail("tokenizer: the text needs more than %d tokens", o->max);
    o->tokens[o->n++] = token;
    return 0;
}

/* A stretch of the text, or a special token found in it. */
struct fragment {
    int start, len;
    int token;  /* -1: text[start..start+len) */
};

/* Cut the special tokens out of text[0..len): user-defined ones always,
 * control ones when `control`.  As llama.cpp: longer specials first, each
 * taking all its occurrences in the text not yet claimed.  NULL if out of
 * memory. */
static struct fragment *find_specials(const struct tokenizer *t, const char *text, int len, bool control,
                                      int *n_out)
{
    size_t cap = 2 * (size_t)len + 1;  /* specials are never empty */
    struct fragment *cur = malloc(cap * sizeof *cur), *next = malloc(cap * sizeof *next);
    if (!cur || !next) {
        free(cur);
        free(next);
        ryot_fail("tokenizer: out of memory encoding %d bytes", len);
        return NULL;
    }
    int n = 0;
    if (len > 0)
        cur[n++] = (struct fragment){0, len, -1};
    for (int k = 0; k < t->n_specials; k++) {
        int id = t->specials[k];
        if (t->type[id] == GGUF_TOKEN_CONTROL && !control)
            continue;
        const char *s = t->vocab[id];
        size_t slen = strlen(s);
        int m = 0;
        for (int f = 0; f < n; f++) {
            if (cur[f].token >= 0) {
                next[m++] = cur[f];
                continue;
            }
            int pos = cur[f].start, end = cur[f].start + cur[f].len;
            const char *hit;
            while ((hit = memmem(text + pos, (size_t)(end - pos), s, slen))) {
                int at = (int)(hit - text);
                if (at > pos)
                    next[m++] = (struct fragment){pos, at - pos, -1};
                next[m++] = (struct fragment){at, (int)slen, id};
                pos = at + (int)slen;
            }
            if (pos < end)
                next[m++] = (struct fragment){pos, end - pos, -1};
        }
        struct fragment *swap = cur;
        cur = next;
        next = swap;
        n = m;
    }
    free(next);
    *n_out = n;
    return cur;
}

int tokenizer_encode(const struct tokenizer *t, const char *text, unsigned flags, int *tokens,
                     int max_tokens)
{
    size_t len = 0;
    while (text[len]) {
        const char *why;
        int clen = utf8_char((const unsigned char *)text + len, &why);
        if (clen == 0)
            return ryot_fail("invalid UTF-8 in the text at byte %zu (0x%02X): %s", len,
                             (unsigned char)text[len], why);
        len += (size_t)clen;
    }
    if (len > (size_t)INT32_MAX / 4)
        return ryot_fail("tokenizer: text of %zu bytes is too long", len);
    if ((flags & TOKENIZE_BOS) && t->bos < 0)
        return ryot_fail("tokenizer: the vocabulary has no BOS token");
    if ((flags & TOKENIZE_EOS) && t->eos < 0)
        return ryot_fail("tokenizer: the vocabulary has no EOS token");
    struct token_out out = { tokens, 0, max_tokens };
    int n_frag, rc = 0;
    struct fragment *frag = find_specials(t, text, (int)len, flags & TOKENIZE_SPECIAL, &n_frag);
    if (!frag)
        return -1;
    if (flags & TOKENIZE_BOS)
        rc = token_out_put(&out, t->bos);
    for (int f = 0; rc == 0 && f < n_frag; f++) {
        if (frag[f].token >= 0)
            rc = token_out_put(&out, frag[f].token);
        else if (t->kind == TOKENIZER_SPM)
            rc = spm_encode(t, text + frag[f].start, (size_t)frag[f].len, &out);
        else
            rc = bpe_encode(t, text + frag[f].start, (size_t)frag[f].len, &out);
    }
    if (rc == 0 && (flags & TOKENIZE_EOS))
        rc = token_out_put(&out, t->eos);
    free(frag);
    return rc == 0 ? out.n : -1;
}

/* ---- decoding and lookup ---- */

const char *tokenizer_decode(const struct tokenizer *t, int prev, int token, size_t *len)
{
    size_t n = 0;
    const char *piece = "";
    if (token >= 0 && token < t->vocab_size) {
        piece = t->decoded + t->decoded_at[token];
        n = t->decoded_at[token + 1] - t->decoded_at[token] - 1;
        /* SentencePiece's dummy prefix: the text's first word starts with a space */
        if (t->kind == TOKENIZER_SPM && prev == t->bos && n > 0 && piece[0] == ' '
            && !spm_is_byte_piece(t, token)) {
            piece++;
            n--;
        }
    }
    if (len)
        *len = n;
    return piece;
}

int tokenizer_token_id(const struct tokenizer *t, const char *text)
{
    return text_map_find(&t->all, t, text, strlen(text));
}
