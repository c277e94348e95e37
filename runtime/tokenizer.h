/* Tokenizers behind one encode/decode API:
 *  - SentencePiece-style BPE over scored pieces (llama2.c tokenizer.bin,
 *    GGUF tokenizer.ggml.model "llama"): runtime/tokenizer_spm.c;
 *  - byte-level BPE with ranked merges (GGUF "gpt2": GPT-2, Llama 3,
 *    Falcon, DeepSeek): runtime/tokenizer_bpe.c, with the pre-tokenizers of
 *    runtime/pretokenize.c.
 * runtime/tokenizer.c is the shared front end (special tokens, BOS/EOS,
 * lookup, decoding); runtime/gguf_vocab.c reads GGUF vocabularies. */
#ifndef RYOT_TOKENIZER_H
#define RYOT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pretokenize.h"

struct weight_file;

enum tokenizer_kind { TOKENIZER_SPM, TOKENIZER_BPE };

/* Flags of tokenizer_encode. */
enum {
    TOKENIZE_BOS = 1,      /* start with the BOS token */
    TOKENIZE_EOS = 2,      /* end with the EOS token */
    TOKENIZE_SPECIAL = 4,  /* text spelling a control token (e.g. "<|eot_id|>")
                              becomes that token; without it, it is plain text */
};

/* Text -> token id, open addressing; slots hold ids or -1. */
struct text_map {
    int32_t *slots;
    uint32_t mask;
};

/* A BPE merge: tokens left and right make `result`; lower ranks first. */
struct bpe_merge {
    int32_t left, right, rank, result;  /* left -1: empty slot */
};

struct merge_map {
    struct bpe_merge *slots;
    uint32_t mask;
};

/* A loader fills the first block, then calls tokenizer_build_index(), which
 * derives the rest; tokenizer_free() releases all of it.  Read-only
 * afterwards, so one tokenizer may serve several threads. */
struct tokenizer {
    enum tokenizer_kind kind;
    int vocab_size;
    /* vocab[id]: the token's text as the vocabulary spells it, NUL-terminated,
     * never containing NUL (malloc'd each).  SentencePiece: U+2581 written as
     * ' ', byte pieces as "<0xXX>".  Byte-level BPE: GPT-2's byte-to-unicode
     * spelling ("\xc4\xa0the" for " the"); control and user-defined tokens
     * as typed ("<|eot_id|>"). */
    char **vocab;
    /* type[id]: enum gguf_token_type (gguf.h: 1 normal, 2 unknown, 3 control,
     * 4 user-defined, 5 unused, 6 byte), or NULL before build_index, which
     * then derives it: for SentencePiece BOS and EOS control, the first
     * "<0xXX>" piece of each byte a byte token, the rest normal; for
     * byte-level BPE all normal. */
    unsigned char *type;
    float *scores;  /* SentencePiece: merge priority per token, higher first */
    /* Special ids: BOS and EOS (SentencePiece: always set; byte-level BPE:
     * -1 when the vocabulary names none) and EOT, the end of a chat turn
     * (tokenizer.ggml.eot_token_id, e.g. <|eot_id|>; -1 when absent).
     * Text never merges into BOS, EOS or any control token. */
    int bos, eos, eot;
    bool add_bos;   /* prompts start with BOS (tokenizer.ggml.add_bos_token, default true) */
    /* byte-level BPE: the split rules and Llama 3's shortcut of taking a
     * whole pre-token that is itself a token */
    enum pretokenizer pre;
    bool ignore_merges;

    /* derived by tokenizer_build_index() */
    struct text_map all;       /* any token's text -> lowest id */
    struct text_map pieces;    /* text -> lowest id that text can produce */
    int *specials;             /* control and user-defined ids, longest text first */
    int n_specials;
    char *decoded;             /* decoded bytes of every token, each NUL-terminated */
    size_t *decoded_at;        /* token id -> offset in decoded; [vocab_size] = end */
    int byte_token[256];       /* token that stands for byte b, or -1 */
    struct merge_map merges;   /* byte-level BPE: (left, right) -> merge */
};

/* llama2.c tokenizer.bin (SentencePiece).  -1 with a message naming the
 * file on error, leaving nothing allocated. */
int tokenizer_load(struct tokenizer *t, const char *path, int vocab_size);
/* Vocabulary from GGUF metadata (tokenizer.ggml.*): "llama" (SentencePiece)
 * or "gpt2" (byte-level BPE with merges and a pre-tokenizer). */
int tokenizer_from_gguf(struct tokenizer *t, const struct weight_file *wf);
void tokenizer_free(struct tokenizer *t);
/* Derive the lookup tables from kind, vocab_size, vocab, type, scores, bos
 * and eos.  -1 with a message if out of memory. */
int tokenizer_build_index(struct tokenizer *t);

/* Encode UTF-8 `text` into at most `max_tokens` tokens; `flags` from
 * TOKENIZE_*.  User-defined tokens (type 4) are always taken from the text
 * as they are (as llama.cpp and Hugging Face do); control tokens only with
 * TOKENIZE_SPECIAL.  Returns the count, or -1 with a message (invalid
 * UTF-8, too many tokens, a byte the vocabulary cannot spell, BOS/EOS
 * asked for but absent). */
int tokenizer_encode(const struct tokenizer *t, const char *text, unsigned flags, int *tokens,
                     int max_tokens);

/* The bytes `token` stands for after `prev`; *len (if not NULL) gets their
 * count, and they are NUL-terminated (a token for byte 0 has *len 1).
 * Concatenating the pieces of an encoding gives back the text exactly: a
 * piece may be part of a UTF-8 sequence.  Control and unknown tokens (and
 * ids out of range) decode to "".  SentencePiece: the leading space of the
 * first piece after BOS is dropped (it is the dummy prefix), <0xXX> is the
 * byte.  Byte-level BPE: GPT-2's byte-to-unicode mapping, reversed. */
const char *tokenizer_decode(const struct tokenizer *t, int prev, int token, size_t *len);

/* Id of the token spelled exactly `text` (vocab[id]; the lowest id if
 * several), or -1: e.g. "<|start_header_id|>" for a chat template. */
int tokenizer_token_id(const struct tokenizer *t, const char *text);

#endif
