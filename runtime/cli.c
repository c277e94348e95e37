/* Command line of a generated model binary: load weights and tokenizer,
 * prefill the prompt, sample and print tokens, report speed on stderr.
 *
 *   NAME -m WEIGHTS [-z TOKENIZER] -p PROMPT -n STEPS -t THREADS
 *        --temp T --top-p P --top-k K --seed S | --info | --help
 *   NAME --chat [--system TEXT] [--chat-format NAME]
 *        answers the user's turns read from stdin
 *   NAME --bench [-p PROMPT -n STEPS | --prompt-tokens N --gen-tokens M]
 *        prints one JSON object of speed figures instead of text
 *   NAME --perplexity FILE [-c CTX] [--ppl-stride S]
 *        scores a text file as llama.cpp's perplexity tool does (JSON)
 * (runtime/options.h parses the flags). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "bandwidth.h"
#include "chat.h"
#include "cpu.h"
#include "error.h"
#include "f16.h"
#include "file.h"
#include "model.h"
#include "options.h"
#include "perplexity.h"
#include "sampler.h"
#include "sched.h"
#include "tensor.h"
#include "tokenizer.h"

#ifndef RYOT_DATA_DIR
#define RYOT_DATA_DIR "data"
#endif

/* The data folder: $RYOT_DATA, else the one ./configure chose. */
static const char *data_dir(void)
{
    const char *env = getenv("RYOT_DATA");
    return env && *env ? env : RYOT_DATA_DIR;
}

static void print_info(void)
{
    const struct model_info *mi = model_info();
    printf("model      %s (%s)\n", mi->name, mi->arch);
    printf("isa        %s\n", mi->isa);
    printf("build key  %s\n", mi->build_key);
    printf("weights    linear %s, embedding %s, output %s\n", mi->linear_type, mi->embedding_type, mi->output_type);
    printf("shape      dim %d, hidden %d, %d layers, %d heads, %d kv heads, head dim %d, vocab %d, context %d\n",
           mi->dim, mi->hidden_dim, mi->n_layers, mi->n_heads, mi->n_kv_heads, mi->head_dim, mi->vocab_size,
           mi->seq_len);
    printf("kernels    %d\n", mi->n_kernels);
    for (int i = 0; i < mi->n_kernels; i++)
        printf("  %s\n", mi->kernels[i]);
}

/* A default file in the data folder, or a clear error naming file and folder. */
static const char *default_file(const char *name, const char *what, char *buf, size_t len)
{
    struct stat st;
    snprintf(buf, len, "%s/%s", data_dir(), name);
    if (stat(buf, &st) != 0)
        ryot_die("%s file '%s' not found in %s (pass %s FILE, set RYOT_DATA, or run ./configure --data=DIR)", what,
                 name, data_dir(), !strcmp(what, "weights") ? "-m" : "-z");
    return buf;
}

/* Text goes to stdout as it is made; a full disk or a closed pipe is an
 * error now, not a silent loss at exit. */
static void flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        ryot_die("cannot write the output: %s", strerror(errno));
}

/* Whether every logit is a number: NaN or infinity means the weights or
 * the computation broke, and sampling would quietly pick token 0. */
static bool all_finite(const float *v, int n)
{
    bool ok = true;
    for (int i = 0; i < n; i++)  /* branch-free, so it vectorizes */
        ok &= (f32_bits(v[i]) & 0x7f800000u) != 0x7f800000u;
    return ok;
}

/* The logits of position pos (NULL: the forward pass failed), checked. */
static const float *checked_logits(const float *logits, int vocab, int pos)
{
    if (!logits)
        ryot_die("%s", ryot_last_error());
    if (!all_finite(logits, vocab))
        ryot_die("position %d: the model's logits are not finite (NaN or infinity): the weights or the computation "
                 "overflowed", pos);
    return logits;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Everything a run needs, set up before the first token. */
struct session {
    const struct model_info *mi;
    struct weight_file wf;
    struct tokenizer tok;
    bool have_tok;
    struct sched *sched;
    struct arena arena;
    struct model *model;
    struct sampler sampler;
    int *tokens;  /* prompt, then room for the context */
    int n_prompt;
    char *text;   /* --perplexity: the file's text */
    double *token_s;  /* per generated token, for latency percentiles */
};

static void setup(struct session *ss, struct options *o)
{
    const struct model_info *mi = ss->mi = model_info();
    if (cpu_check_isa(mi->isa) != 0)
        ryot_die("%s", ryot_last_error());
    char weights_buf[4096], tok_buf[4096];
    if (!o->weights)
        o->weights = default_file(mi->default_weights, "weights", weights_buf, sizeof weights_buf);
    const bool need_tok = !o->prompt_tokens;
    if (need_tok && !o->tokenizer && mi->default_tokenizer[0])
        o->tokenizer = default_file(mi->default_tokenizer, "tokenizer", tok_buf, sizeof tok_buf);

    if (weight_file_open(&ss->wf, o->weights) != 0)
        ryot_die("%s", ryot_last_error());
    if (need_tok) {
        if ((o->tokenizer ? tokenizer_load(&ss->tok, o->tokenizer, mi->vocab_size)
                          : tokenizer_from_gguf(&ss->tok, &ss->wf)) != 0)
            ryot_die("%s", ryot_last_error());
        ss->have_tok = true;
    }

    /* Tokenize first: a bad prompt is an error before any heavy lifting. */
    const char *text = o->prompt;
    if (o->perplexity) {
        size_t size;
        if (!(text = ss->text = file_read_all(o->perplexity, "text file", (size_t)1 << 30, &size)))
            ryot_die("%s", ryot_last_error());
        if (strlen(text) != size)
            ryot_die("%s: contains a NUL byte at offset %zu: not a text file", o->perplexity, strlen(text));
    }
    /* a text never needs more tokens than bytes + BOS, so encoding cannot
     * run out of room and an over-long prompt is reported against the context */
    const size_t max_tokens = (size_t)mi->seq_len + 1 > strlen(text) + 2 ? (size_t)mi->seq_len + 1 : strlen(text) + 2;
    ss->tokens = malloc(sizeof(int) * max_tokens);
    ss->token_s = malloc(sizeof(double) * ((size_t)mi->seq_len + 1));
    if (!ss->tokens || !ss->token_s)
        ryot_die("out of memory");
    if (o->mode == RUN_CHAT) {
        ss->n_prompt = 0;  /* chat encodes its turns as they come */
    } else if (o->prompt_tokens) {
        if (o->prompt_tokens >= mi->seq_len)
            ryot_die("--prompt-tokens %d does not fit the context of %d tokens", o->prompt_tokens, mi->seq_len);
        ss->n_prompt = o->prompt_tokens;
        for (int i = 0; i < ss->n_prompt; i++)  /* any valid ids: speed does not depend on them */
            ss->tokens[i] = (int)((i * 7919u + 1) % (unsigned)mi->vocab_size);
    } else {
        ss->n_prompt = tokenizer_encode(&ss->tok, text, ss->tok.add_bos ? TOKENIZE_BOS : 0, ss->tokens,
                                        (int)max_tokens);
        if (ss->n_prompt < 0)
            ryot_die("%s: %s", o->perplexity ? o->perplexity : "prompt", ryot_last_error());
        if (ss->n_prompt == 0)
            ryot_die("the prompt is empty and the vocabulary adds no BOS token: give a prompt with -p");
        if (ss->n_prompt >= mi->seq_len && !o->perplexity)
            ryot_die("the prompt is %d tokens but the context holds %d (with room for at least one more)",
                     ss->n_prompt, mi->seq_len);
    }
    if (o->steps > mi->seq_len - ss->n_prompt && (o->mode == RUN_TEXT || o->mode == RUN_BENCH))
        ryot_die("prompt (%d tokens) + -n %d exceeds the context of %d tokens; use -n %d or less", ss->n_prompt,
                 o->steps, mi->seq_len, mi->seq_len - ss->n_prompt);

    if (!(ss->sched = sched_create(o->threads, false)))
        ryot_die("%s", ryot_last_error());
    if (arena_init(&ss->arena, model_arena_bytes(o->threads) + (size_t)mi->vocab_size * 16 + (1 << 20)) != 0)
        ryot_die("%s", ryot_last_error());
    if (!(ss->model = model_create(&ss->wf, &ss->arena, ss->sched)))
        ryot_die("%s", ryot_last_error());
    if (sampler_init(&ss->sampler, &ss->arena, mi->vocab_size, o->temperature, o->top_p, o->top_k, o->seed) != 0)
        ryot_die("%s", ryot_last_error());
}

static void teardown(struct session *ss)
{
    sched_destroy(ss->sched);
    arena_destroy(&ss->arena);
    if (ss->have_tok)
        tokenizer_free(&ss->tok);
    weight_file_close(&ss->wf);
    free(ss->tokens);
    free(ss->token_s);
    free(ss->text);
}

/* Prefill the prompt, then sample up to `steps` tokens; `on_token` (may be
 * NULL) sees each.  Returns the number generated; times in *t_prefill. */
static int generate(struct session *ss, int steps, bool stop_at_eos, double *t_prefill,
                    void (*on_token)(struct session *, int prev, int next))
{
    const double t0 = now_s();
    const int vocab = ss->mi->vocab_size;
    const float *logits = checked_logits(model_forward(ss->model, ss->tokens, ss->n_prompt, 0), vocab,
                                         ss->n_prompt - 1);
    *t_prefill = now_s() - t0;
    int pos = ss->n_prompt, generated = 0, prev = ss->tokens[ss->n_prompt - 1];
    double t_last = now_s();
    while (generated < steps) {
        const int next = sampler_sample(&ss->sampler, (float *)logits);
        if (stop_at_eos && ss->have_tok && (next == ss->tok.eos || next == ss->tok.bos || next == ss->tok.eot))
            break;
        if (on_token)
            on_token(ss, prev, next);
        if (++generated == steps)
            break;
        logits = checked_logits(model_forward(ss->model, &next, 1, pos), vocab, pos);
        pos++;
        const double t = now_s();
        ss->token_s[generated - 1] = t - t_last;
        t_last = t;
        prev = next;
    }
    return generated;
}

static void print_piece(const struct session *ss, int prev, int next)
{
    size_t len;
    const char *piece = tokenizer_decode(&ss->tok, prev, next, &len);
    fwrite(piece, 1, len, stdout);
}

/* --verbose-prompt: tokens[0..n) as id:'piece' on one line of stderr. */
static void show_tokens(const struct session *ss, const char *what, const int *tokens, int n, int prev)
{
    fprintf(stderr, "%s (%d tokens):", what, n);
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *piece = tokenizer_decode(&ss->tok, i ? tokens[i - 1] : prev, tokens[i], &len);
        fprintf(stderr, " %d:'", tokens[i]);
        for (size_t k = 0; k < len; k++)  /* control characters escaped: one line */
            fprintf(stderr, (unsigned char)piece[k] < 0x20 ? "\\x%02x" : "%c", (unsigned char)piece[k]);
        fputc('\'', stderr);
    }
    fputc('\n', stderr);
}

static void print_token(struct session *ss, int prev, int next)
{
    print_piece(ss, prev, next);
    flush_stdout();
}

static int compare_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run_text(struct session *ss, const struct options *o)
{
    if (o->verbose_prompt)
        show_tokens(ss, "prompt", ss->tokens, ss->n_prompt, ss->tok.bos);
    /* the prompt as text, then the generated tokens as they come; the first
     * piece decodes as after BOS, whether or not the prompt starts with it */
    for (int i = 0; i < ss->n_prompt; i++)
        print_piece(ss, i ? ss->tokens[i - 1] : ss->tok.bos, ss->tokens[i]);
    flush_stdout();
    double t_prefill;
    const double t0 = now_s();
    const int generated = generate(ss, o->steps, true, &t_prefill, print_token);
    const double t_decode = now_s() - t0 - t_prefill;
    printf("\n");
    flush_stdout();
    fprintf(stderr, "%s: %s, %d threads: prompt %d tokens at %.1f tok/s, generated %d tokens at %.1f tok/s\n",
            ss->mi->name, ss->mi->isa, o->threads, ss->n_prompt, ss->n_prompt / t_prefill, generated,
            generated > 1 ? (generated - 1) / t_decode : 0.0);
}

static void run_bench(struct session *ss, const struct options *o)
{
    if (o->steps < 2)
        ryot_die("--bench needs at least 2 generated tokens (-n or --gen-tokens)");
    double t_prefill;
    const double t0 = now_s();
    const int generated = generate(ss, o->steps, false, &t_prefill, NULL);
    const double t_decode = now_s() - t0 - t_prefill;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);  /* peak RSS before the bandwidth probe's buffer */
    const double decode_tok_s = (generated - 1) / t_decode;
    const int n_lat = generated - 1;
    qsort(ss->token_s, (size_t)n_lat, sizeof(double), compare_double);
    const double p50 = ss->token_s[n_lat / 2], p99 = ss->token_s[(n_lat * 99) / 100];
    const double weight_bytes = (double)model_weight_bytes_per_token(ss->model);
    const double read_bw = measure_read_bandwidth(ss->sched, (size_t)1 << 30, 5);
    if (read_bw <= 0)
        ryot_die("%s", ryot_last_error());
    const double decode_bw = weight_bytes * decode_tok_s;
    printf("{\"bench\": \"model\", \"model\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"prompt_tokens\": %d, "
           "\"gen_tokens\": %d, \"prefill_tok_s\": %.2f, \"decode_tok_s\": %.2f, \"ttft_ms\": %.2f, "
           "\"token_ms_p50\": %.3f, \"token_ms_p99\": %.3f, \"peak_rss_mb\": %.1f, \"weight_bytes_per_token\": %.0f, "
           "\"decode_bw_gbs\": %.2f, \"read_bw_gbs\": %.2f, \"decode_bw_ratio\": %.3f}\n",
           ss->mi->name, ss->mi->isa, o->threads, ss->n_prompt, generated, ss->n_prompt / t_prefill, decode_tok_s,
           t_prefill * 1e3, p50 * 1e3, p99 * 1e3, ru.ru_maxrss / 1024.0, weight_bytes, decode_bw / 1e9,
           read_bw / 1e9, decode_bw / read_bw);
}

static void run_perplexity(struct session *ss, const struct options *o)
{
    const double t0 = now_s();
    struct perplexity_result r;
    if (perplexity(ss->model, ss->tokens, ss->n_prompt, o->ppl_ctx, o->ppl_stride, ss->tok.bos,
                   ss->tok.add_bos && ss->tok.bos >= 0, stderr, &r) != 0)
        ryot_die("%s", ryot_last_error());
    const double seconds = now_s() - t0;
    fprintf(stderr, "Final estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_err);
    printf("{\"bench\": \"perplexity\", \"model\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"text_tokens\": %d, "
           "\"ctx\": %d, \"stride\": %d, \"chunks\": %d, \"scored_tokens\": %d, \"ppl\": %.6f, \"ppl_err\": %.6f, "
           "\"seconds\": %.2f}\n", ss->mi->name, ss->mi->isa, o->threads, ss->n_prompt, o->ppl_ctx, o->ppl_stride,
           r.chunks, r.scored, r.ppl, r.ppl_err, seconds);
}

/* The chat format: --chat-format, else the one the GGUF's template is
 * written for; a clear error otherwise. */
static const struct chat_format *chat_format_of(const struct session *ss, const struct options *o)
{
    const struct chat_format *f;
    if (o->chat_format) {
        if (!(f = chat_format_named(o->chat_format)))
            ryot_die("--chat-format: unknown format '%s' (known: %s)", o->chat_format, chat_format_names());
        return f;
    }
    for (int i = 0; i < ss->wf.n_meta; i++)
        if (!strcmp(ss->wf.meta[i].key, "tokenizer.chat_template") && ss->wf.meta[i].kind == META_STRING) {
            if (!(f = chat_format_detect(ss->wf.meta[i].s)))
                ryot_die("%s: tokenizer.chat_template is none of the formats ryot knows: choose one with "
                         "--chat-format (%s)", ss->wf.path, chat_format_names());
            return f;
        }
    ryot_die("%s has no tokenizer.chat_template: choose a chat format with --chat-format (%s)", ss->wf.path,
             chat_format_names());
}

/* A turn's tokens (malloc'd, *n of them): `first` (a stop token, or -1),
 * then its parts, the format's text with its special tokens and the
 * messages as plain text.  Never more tokens than bytes + BOS a part. */
static int *encode_turn(const struct session *ss, int first, const struct chat_part *parts, int n_parts, bool bos,
                        int *n)
{
    size_t room = 1;
    for (int i = 0; i < n_parts; i++)
        room += (size_t)parts[i].len + 1;
    int *tokens = malloc(sizeof(int) * room);
    if (!tokens)
        ryot_die("out of memory");
    *n = 0;
    if (first >= 0)
        tokens[(*n)++] = first;
    for (int i = 0; i < n_parts; i++) {
        char *text = strndup(parts[i].text, (size_t)parts[i].len);
        if (!text)
            ryot_die("out of memory");
        const unsigned flags = (bos && i == 0 ? TOKENIZE_BOS : 0) | (parts[i].content ? 0 : TOKENIZE_SPECIAL);
        const int got = tokenizer_encode(&ss->tok, text, flags, tokens + *n, (int)(room - (size_t)*n));
        free(text);
        if (got < 0)
            ryot_die("%s: %s", parts[i].content ? "your message" : "the chat format", ryot_last_error());
        *n += got;
    }
    return tokens;
}

/* Chat: each line of stdin is a user turn; the reply is generated after the
 * format's assistant prefix until a stop token (the model's EOS or EOT, or
 * the one the format's turns end with), or -n tokens.  One KV cache holds
 * the whole conversation: a turn feeds only its own tokens, after the stop
 * token that ended the previous reply. */
static void run_chat(struct session *ss, const struct options *o)
{
    const struct chat_format *f = chat_format_of(ss, o);
    char end_text[64];
    const int end = tokenizer_token_id(&ss->tok, chat_end_token(f, end_text, sizeof end_text));
    const int stops[] = { ss->tok.eos, ss->tok.eot, end };
    const int vocab = ss->mi->vocab_size, seq_len = ss->mi->seq_len;
    const bool prompt = isatty(STDIN_FILENO);
    char *line = NULL;
    size_t line_cap = 0;
    int pos = 0, stop = -1, turns = 0, prompt_tokens = 0, generated = 0;
    double t_prefill = 0, t_decode = 0;
    if (prompt)
        fprintf(stderr, "%s: chat (%s format); a line is a turn, end with Ctrl-D\n", ss->mi->name, f->name);
    for (;;) {
        if (prompt)
            fputs("> ", stderr);
        const ssize_t len = getline(&line, &line_cap, stdin);
        if (len < 0)
            break;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        struct chat_part parts[CHAT_MAX_PARTS];
        const int n_parts = chat_turn_parts(f, turns == 0, o->system, line, stop >= 0, parts);
        /* after the stop token that ended the last reply, which is not in the cache yet */
        int n;
        int *tokens = encode_turn(ss, stop, parts, n_parts, turns == 0 && ss->tok.add_bos && ss->tok.bos >= 0, &n);
        if (o->verbose_prompt)
            show_tokens(ss, "turn", tokens, n, ss->tok.bos);
        if (pos + n >= seq_len)
            ryot_die("the conversation has filled the context of %d tokens (this turn needs %d more): start a new "
                     "chat", seq_len, pos + n - seq_len + 1);
        double t0 = now_s();
        const float *logits = checked_logits(model_forward(ss->model, tokens, n, pos), vocab, pos + n - 1);
        t_prefill += now_s() - t0;
        prompt_tokens += n;
        pos += n;
        turns++;
        int prev = tokens[n - 1], reply = 0;
        free(tokens);
        stop = -1;
        t0 = now_s();
        while (o->steps < 0 || reply < o->steps) {
            const int next = sampler_sample(&ss->sampler, (float *)logits);
            for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++)
                if (next >= 0 && next == stops[k])
                    stop = next;
            if (stop >= 0)
                break;
            print_token(ss, prev, next);
            if (pos == seq_len)
                ryot_die("the conversation has filled the context of %d tokens: start a new chat", seq_len);
            logits = checked_logits(model_forward(ss->model, &next, 1, pos), vocab, pos);
            pos++;
            reply++;
            prev = next;
        }
        t_decode += now_s() - t0;
        generated += reply;
        fputc('\n', stdout);
        flush_stdout();
    }
    free(line);
    fprintf(stderr, "%s: %s, %d threads: %d turns, prompts %d tokens at %.1f tok/s, replies %d tokens at %.1f tok/s\n",
            ss->mi->name, ss->mi->isa, o->threads, turns, prompt_tokens, t_prefill > 0 ? prompt_tokens / t_prefill : 0,
            generated, t_decode > 0 ? generated / t_decode : 0);
}

int main(int argc, char **argv)
{
    ryot_set_program_name(argv[0]);
    const struct model_info *mi = model_info();
    struct options o;
    if (options_parse(argc, argv, mi->seq_len, cpu_count(), &o) != 0)
        ryot_die("%s", ryot_last_error());
    if (o.mode == RUN_HELP || o.mode == RUN_INFO) {
        if (o.mode == RUN_HELP) {
            char weights[1024], tokenizer[1024];
            snprintf(weights, sizeof weights, "%s/%s; RYOT_DATA sets the folder", data_dir(), mi->default_weights);
            snprintf(tokenizer, sizeof tokenizer, "%s%s%s",
                     mi->default_tokenizer[0] ? data_dir() : "the vocabulary inside a GGUF file",
                     mi->default_tokenizer[0] ? "/" : "", mi->default_tokenizer);
            options_usage(stdout, argv[0], weights, tokenizer, mi->seq_len);
        } else {
            print_info();
        }
        flush_stdout();
        return 0;
    }
    if (o.threads_asked)
        fprintf(stderr, "%s: warning: -t %d is more than the %d CPU%s this process may use; using %d\n", argv[0],
                o.threads_asked, o.threads, o.threads > 1 ? "s" : "", o.threads);
    struct session ss = { 0 };
    setup(&ss, &o);
    switch (o.mode) {
    case RUN_BENCH: run_bench(&ss, &o); break;
    case RUN_PERPLEXITY: run_perplexity(&ss, &o); break;
    case RUN_CHAT: run_chat(&ss, &o); break;
    default: run_text(&ss, &o); break;
    }
    flush_stdout();
    teardown(&ss);
    return 0;
}
