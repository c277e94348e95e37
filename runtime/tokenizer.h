/* SentencePiece-style BPE tokenizer (llama2.c tokenizer.bin, GGUF vocabularies). */
#ifndef RYOT_TOKENIZER_H
#define RYOT_TOKENIZER_H

#include <stdbool.h>

struct weight_file;

/* Every loader (tokenizer_load, tokenizer_from_gguf) fills all fields the
 * same way, so encode/decode work for either source:
 *  - vocab[id] holds the piece's bytes as text, with SentencePiece's
 *    U+2581 "\xe2\x96\x81" meta-space written as a plain ' ' (as llama2.c's
 *    tokenizer.bin stores it); byte-fallback pieces keep their "<0xXX>" text.
 *    No piece contains a NUL byte.
 *  - vocab, each vocab[id], scores and sorted are malloc'd; tokenizer_free
 *    releases them.
 *  - sorted, byte_pieces and byte_token are derived from vocab by
 *    tokenizer_build_index(), which a loader calls last. */
struct tokenizer {
    int vocab_size;
    char **vocab;           /* token id -> bytes (NUL-terminated) */
    float *scores;          /* merge priority per token: higher merges first */
    int *sorted;            /* token ids sorted by string (bytewise, then id), for lookup */
    int bos, eos;           /* ids; never produced by merging text */
    unsigned char byte_pieces[512];  /* byte b as a 1-byte string at [2*b]: decode of <0xXX> */
    int byte_token[256];    /* token id of <0xXX>, or -1 */
};

/* llama2.c tokenizer.bin.  -1 with a message naming the file on error. */
int tokenizer_load(struct tokenizer *t, const char *path, int vocab_size);
/* Vocabulary from GGUF metadata (tokenizer.ggml.*). */
int tokenizer_from_gguf(struct tokenizer *t, const struct weight_file *wf);
void tokenizer_free(struct tokenizer *t);
/* Build sorted, byte_pieces and byte_token from vocab_size, vocab and
 * scores.  -1 with a message if out of memory. */
int tokenizer_build_index(struct tokenizer *t);

/* Encode UTF-8 `text` into tokens (at most `max_tokens`).  Returns the
 * count, or -1 with a message (invalid UTF-8, too many tokens). */
int tokenizer_encode(const struct tokenizer *t, const char *text, bool bos, bool eos,
                     int *tokens, int max_tokens);

/* The text of `token` following `prev` (strips the leading space after BOS,
 * turns <0xXX> into the raw byte). */
const char *tokenizer_decode(const struct tokenizer *t, int prev, int token);

#endif
