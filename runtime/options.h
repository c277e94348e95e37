/* The command line of a model binary: what a run does and with which
 * settings.  Parsing never exits, so it can be tested and fuzzed: a bad
 * flag is -1 with a one-line message. */
#ifndef RYOT_OPTIONS_H
#define RYOT_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

enum run_mode {
    RUN_TEXT,        /* complete -p's text, printing it as it comes */
    RUN_BENCH,       /* speed figures as JSON */
    RUN_PERPLEXITY,  /* score a text file */
    RUN_CHAT,        /* answer the user's turns read from stdin */
    RUN_INFO,        /* print the model, then exit */
    RUN_HELP,        /* print the usage, then exit */
};

struct options {
    enum run_mode mode;
    const char *weights, *tokenizer, *prompt;
    int steps;                  /* -n: tokens to generate (chat: per reply; -1 = until a stop token) */
    int threads, top_k;
    int threads_asked;          /* -t as given, when more than the CPUs (threads then holds the CPUs) */
    float temperature, top_p;
    unsigned long long seed;
    int prompt_tokens;          /* --bench with synthetic tokens instead of -p */
    const char *perplexity;     /* text file to score */
    int ppl_ctx, ppl_stride;
    const char *system;         /* chat: the system message */
    const char *chat_format;    /* chat: a format name, else the GGUF's template */
    bool verbose_prompt;        /* print the tokens of the prompt (of each chat turn) to stderr */
};

/* Parse argv for a model of `seq_len` positions on a machine of `cpus`
 * CPUs.  0, or -1 with ryot_last_error() naming the flag. */
int options_parse(int argc, char **argv, int seq_len, int cpus, struct options *o);

/* The usage text; `weights` and `tokenizer` describe the defaults. */
void options_usage(FILE *f, const char *prog, const char *weights, const char *tokenizer, int seq_len);

#endif
