/* The interface between the hand-written CLI and a generated model.
 *
 * gen/ renders one forward pass per model and ISA (build/NAME/forward.c) that
 * implements these functions with every shape a compile-time constant. */
#ifndef RYOT_MODEL_H
#define RYOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct arena;
struct sched;
struct weight_file;

struct model_info {
    const char *name;          /* model description name, e.g. "stories260k" */
    const char *arch;          /* "llama", "bitnet" */
    const char *isa;           /* ISA the kernels were generated for */
    const char *default_weights;    /* file name looked up in the data folder */
    const char *default_tokenizer;  /* file name, or "" when the weights carry one */
    const char *build_key;     /* XXH3 of model table, kernels and generator */
    const char *linear_type, *embedding_type, *output_type;  /* weight types, e.g. "ternary", "int8" */
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim, vocab_size, seq_len;
    int n_kernels;
    const char *const *kernels;  /* one line per kernel instance: name and parameters */
};

const struct model_info *model_info(void);

struct model;

/* Bind and pack weights, reserve activations and KV cache in `arena`.
 * NULL with ryot_last_error() naming the file and tensor on mismatch. */
struct model *model_create(const struct weight_file *wf, struct arena *arena, struct sched *sched);

/* Bytes model_create will need from the arena for `n_threads` workers. */
size_t model_arena_bytes(int n_threads);

/* Weight bytes the forward pass reads per decoded token (for bandwidth figures). */
size_t model_weight_bytes_per_token(const struct model *m);

/* Run `n` tokens at positions pos..pos+n-1 (prefill when n > 1) and return
 * the logits of the last one (vocab_size floats, owned by the model). */
float *model_forward(struct model *m, const int *tokens, int n, int pos);

/* Run tokens as model_forward does, and hand the logits of token i to
 * each(ctx, i, logits) for every i >= first, in order (the logits are the
 * model's, valid during the call).  For scoring text (perplexity).
 * 0, or -1 with ryot_last_error() on a context overflow. */
/* The keys (after RoPE) and values the KV cache holds for `layer` at
 * position `pos`, as f32: k and v get n_kv_heads * head_dim floats each.
 * For tests, which check them and feed them to a reference. */
void model_kv_at(const struct model *m, int layer, int pos, float *k, float *v);

int model_forward_each(struct model *m, const int *tokens, int n, int pos, int first,
                       void (*each)(void *ctx, int i, const float *logits), void *ctx);

#endif
