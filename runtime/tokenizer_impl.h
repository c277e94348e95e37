/* Internals shared by the tokenizer's files (tokenizer.c front end,
 * tokenizer_spm.c, tokenizer_bpe.c, gguf_vocab.c); not for other callers. */
#ifndef RYOT_TOKENIZER_IMPL_H
#define RYOT_TOKENIZER_IMPL_H

#include "tokenizer.h"

/* ---- lookup ---- */

/* Map the text of every token `keep` accepts (all if NULL) to its lowest id. */
int text_map_build(struct text_map *m, const struct tokenizer *t,
                   bool (*keep)(const struct tokenizer *t, int id));
/* Id of the token spelled s[0..len) (which holds no NUL), or -1. */
int text_map_find(const struct text_map *m, const struct tokenizer *t, const char *s, size_t len);

/* Can text merge into token `id`?  Not BOS, EOS, control, user-defined or
 * (SentencePiece) byte pieces. */
bool tokenizer_mergeable(const struct tokenizer *t, int id);

/* ---- merging, shared by both algorithms ---- */

/* A symbol is a span of the text; merging absorbs the right symbol into the
 * left one, so a symbol's start never moves and index order is text order. */
struct symbol {
    int start, len;  /* len 0: merged away */
    int prev, next;  /* live neighbours, -1 at the ends */
    int id;          /* token of the span, or -1 */
};

/* A candidate merge of `left` with `right`; stale once either symbol has
 * changed, which `len` (the pair's length when pushed) detects. */
struct candidate {
    float key;  /* lower merges first: minus the score (SentencePiece), the rank (BPE) */
    int left, right, len, id;
};

/* The merge of symbols l and r of `text`: true with its key and token. */
typedef bool (*pair_fn)(const struct tokenizer *t, const char *text, const struct symbol *l,
                        const struct symbol *r, float *key, int *id);

/* Merge the n linked symbols sym[0..n) until no adjacent pair merges,
 * lowest key first, leftmost on ties.  `heap` has room for 3n. */
void merge_symbols(const struct tokenizer *t, const char *text, struct symbol *sym, int n,
                   struct candidate *heap, pair_fn pair);

/* ---- encoding ---- */

struct token_out {
    int *tokens;
    int n, max;
};

/* Append a token; -1 with a message when max is reached. */
int token_out_put(struct token_out *o, int token);

/* Length of the valid UTF-8 character at s (NUL-terminated), or 0 with
 * *why set. */
int utf8_char(const unsigned char *s, const char **why);
/* The code point of the valid UTF-8 character s[0..len). */
uint32_t utf8_code_point(const unsigned char *s, int len);

/* Encode valid UTF-8 text[0..len) without special tokens. */
int spm_encode(const struct tokenizer *t, const char *text, size_t len, struct token_out *out);
int bpe_encode(const struct tokenizer *t, const char *text, size_t len, struct token_out *out);

/* ---- index and decoding, per algorithm ---- */

/* SentencePiece: byte_token from the "<0xXX>" pieces; derive `type` when
 * the loader gave none.  -1 if out of memory. */
int spm_index(struct tokenizer *t);
/* Byte-level BPE: byte_token from the byte-to-unicode spelling. */
void bpe_index(struct tokenizer *t);
/* Is `id` the byte piece byte_token names? */
bool spm_is_byte_piece(const struct tokenizer *t, int id);

/* The bytes a normal token stands for, into out (room for strlen(vocab[id])
 * bytes, which is always enough); returns the count. */
size_t spm_token_bytes(const struct tokenizer *t, int id, char *out);
size_t bpe_token_bytes(const struct tokenizer *t, int id, char *out);

/* Byte-level BPE merges from "left right" strings in rank order; -1 with a
 * message naming `path` for a malformed merge or one naming tokens that
 * are not in the vocabulary. */
int bpe_load_merges(struct tokenizer *t, const char *path, const char *const *merges, int n);

#endif
