/* Pre-tokenizers of byte-level BPE: the rules that split text into the
 * pieces merges stay within, one set per GGUF tokenizer.ggml.pre value, as
 * llama.cpp applies them. */
#ifndef RYOT_PRETOKENIZE_H
#define RYOT_PRETOKENIZE_H

#include <stdint.h>

enum pretokenizer {
    PRE_DEFAULT,       /* "default" */
    PRE_GPT2,          /* "gpt-2" */
    PRE_LLAMA3,        /* "llama3", "llama-v3", "llama-bpe", "falcon3" */
    PRE_DEEPSEEK_LLM,  /* "deepseek-llm" */
    PRE_FALCON,        /* "falcon" */
};

/* The accepted tokenizer.ggml.pre values, for messages. */
extern const char pretokenizer_names[];

/* The rules named `name`, or -1 if unknown. */
int pretokenizer_from_name(const char *name);

/* Split the n code points cp[0..n) into pieces: ends[k] gets the end (one
 * past the last code point) of piece k; `ends` must have room for n.
 * Returns the count, or -1 with a message if out of memory. */
int pretokenize(enum pretokenizer pre, const uint32_t *cp, int n, int *ends);

#endif
