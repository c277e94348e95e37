/* Command line of a generated model binary: load weights and tokenizer,
 * prefill the prompt, sample and print tokens, report speed on stderr.
 *
 *   NAME -m WEIGHTS [-z TOKENIZER] -p PROMPT -n STEPS -t THREADS
 *        --temp T --top-p P --top-k K --seed S | --info | --help */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "arena.h"
#include "cpu.h"
#include "error.h"
#include "model.h"
#include "sampler.h"
#include "sched.h"
#include "tensor.h"
#include "tokenizer.h"

#ifndef RYOT_DATA_DIR
#define RYOT_DATA_DIR "data"
#endif

struct options {
    const char *weights, *tokenizer, *prompt;
    int steps, threads, top_k;
    float temperature, top_p;
    unsigned long long seed;
    bool info;
};

/* The data folder: $RYOT_DATA, else the one ./configure chose. */
static const char *data_dir(void)
{
    const char *env = getenv("RYOT_DATA");
    return env && *env ? env : RYOT_DATA_DIR;
}

static void usage(FILE *f, const char *prog)
{
    const struct model_info *mi = model_info();
    fprintf(f,
            "usage: %s [options]\n"
            "  -m FILE       weights: llama2.c checkpoint or GGUF (default: %s/%s; RYOT_DATA sets the folder)\n"
            "  -z FILE       tokenizer.bin (default: %s%s%s)\n"
            "  -p TEXT       prompt (default: \"\")\n"
            "  -n N          tokens to generate (default: 256, at most the context of %d)\n"
            "  -t N          threads (default: number of CPUs)\n"
            "  --temp T      temperature, 0 = greedy (default: 0.8)\n"
            "  --top-p P     nucleus sampling threshold in (0, 1] (default: 0.9)\n"
            "  --top-k K     keep the K most likely tokens, 0 = off (default: 0)\n"
            "  --seed S      random seed (default: time)\n"
            "  --info        print the model, ISA and kernel parameters, then exit\n"
            "  -h, --help    this text\n",
            prog, data_dir(), mi->default_weights,
            mi->default_tokenizer[0] ? data_dir() : "the vocabulary inside a GGUF file",
            mi->default_tokenizer[0] ? "/" : "", mi->default_tokenizer, mi->seq_len);
}

static long parse_int(const char *flag, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        ryot_die("%s expects an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
    return v;
}

static float parse_float(const char *flag, const char *s, float lo, float hi)
{
    char *end;
    errno = 0;
    const float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        ryot_die("%s expects a number in [%g, %g], got '%s'", flag, lo, hi, s);
    return v;
}

static void parse(int argc, char **argv, struct options *o)
{
    *o = (struct options){ .prompt = "", .steps = 256, .threads = cpu_count(), .temperature = 0.8f,
                           .top_p = 0.9f, .seed = (unsigned long long)time(NULL) };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout, argv[0]);
            exit(0);
        }
        if (!strcmp(a, "--info")) {
            o->info = true;
            continue;
        }
        if (a[0] != '-')
            ryot_die("unexpected argument '%s' (see --help)", a);
        static const char *const with_value[] = { "-m", "-z", "-p", "-n", "-t", "--temp", "--top-p",
                                                  "--top-k", "--seed" };
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            known |= !strcmp(a, with_value[k]);
        if (!known)
            ryot_die("unknown option '%s' (see --help)", a);
        if (i + 1 >= argc)
            ryot_die("option '%s' needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "-m")) o->weights = v;
        else if (!strcmp(a, "-z")) o->tokenizer = v;
        else if (!strcmp(a, "-p")) o->prompt = v;
        else if (!strcmp(a, "-n")) o->steps = (int)parse_int(a, v, 0, INT_MAX);
        else if (!strcmp(a, "-t")) o->threads = (int)parse_int(a, v, 1, 1024);
        else if (!strcmp(a, "--temp")) o->temperature = parse_float(a, v, 0.0f, 100.0f);
        else if (!strcmp(a, "--top-p")) o->top_p = parse_float(a, v, 1e-6f, 1.0f);
        else if (!strcmp(a, "--top-k")) o->top_k = (int)parse_int(a, v, 0, INT_MAX);
        else o->seed = (unsigned long long)parse_int(a, v, 0, LONG_MAX);
    }
}

static void print_info(void)
{
    const struct model_info *mi = model_info();
    printf("model      %s (%s)\n", mi->name, mi->arch);
    printf("isa        %s\n", mi->isa);
    printf("build key  %s\n", mi->build_key);
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

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    ryot_set_program_name(argv[0]);
    struct options o;
    parse(argc, argv, &o);
    const struct model_info *mi = model_info();
    if (o.info) {
        print_info();
        return 0;
    }
    if (cpu_check_isa(mi->isa) != 0)
        ryot_die("%s", ryot_last_error());

    char weights_buf[4096], tok_buf[4096];
    if (!o.weights)
        o.weights = default_file(mi->default_weights, "weights", weights_buf, sizeof weights_buf);
    if (!o.tokenizer && mi->default_tokenizer[0])
        o.tokenizer = default_file(mi->default_tokenizer, "tokenizer", tok_buf, sizeof tok_buf);

    struct weight_file wf;
    if (weight_file_open(&wf, o.weights) != 0)
        ryot_die("%s", ryot_last_error());
    struct tokenizer tok;
    if ((o.tokenizer ? tokenizer_load(&tok, o.tokenizer, mi->vocab_size) : tokenizer_from_gguf(&tok, &wf)) != 0)
        ryot_die("%s", ryot_last_error());

    /* Tokenize first: a bad prompt is an error before any heavy lifting. */
    int *tokens = malloc(sizeof(int) * ((size_t)mi->seq_len + 1));
    if (!tokens)
        ryot_die("out of memory");
    const int n_prompt = tokenizer_encode(&tok, o.prompt, true, false, tokens, mi->seq_len + 1);
    if (n_prompt < 0)
        ryot_die("prompt: %s", ryot_last_error());
    if (n_prompt >= mi->seq_len)
        ryot_die("the prompt is %d tokens but the context holds %d (with room for at least one more)", n_prompt,
                 mi->seq_len);
    if (o.steps > mi->seq_len - n_prompt)
        ryot_die("prompt (%d tokens) + -n %d exceeds the context of %d tokens; use -n %d or less", n_prompt,
                 o.steps, mi->seq_len, mi->seq_len - n_prompt);

    struct sched *sched = sched_create(o.threads, false);
    if (!sched)
        ryot_die("%s", ryot_last_error());
    struct arena arena;
    if (arena_init(&arena, model_arena_bytes(o.threads) + (size_t)mi->vocab_size * 16 + (1 << 20)) != 0)
        ryot_die("%s", ryot_last_error());
    struct model *model = model_create(&wf, &arena, sched);
    if (!model)
        ryot_die("%s", ryot_last_error());
    struct sampler sampler;
    if (sampler_init(&sampler, &arena, mi->vocab_size, o.temperature, o.top_p, o.top_k, o.seed) != 0)
        ryot_die("%s", ryot_last_error());

    /* The prompt as text (after BOS), then the generated tokens as they come. */
    for (int i = 1; i < n_prompt; i++)
        fputs(tokenizer_decode(&tok, tokens[i - 1], tokens[i]), stdout);
    fflush(stdout);

    const double t0 = now_s();
    const float *logits = model_forward(model, tokens, n_prompt, 0);
    if (!logits)
        ryot_die("%s", ryot_last_error());
    const double t_prefill = now_s();
    int pos = n_prompt, generated = 0, prev = tokens[n_prompt - 1];
    while (generated < o.steps) {
        const int next = sampler_sample(&sampler, (float *)logits);
        if (next == tok.eos || next == tok.bos)
            break;
        fputs(tokenizer_decode(&tok, prev, next), stdout);
        fflush(stdout);
        generated++;
        if (generated == o.steps)
            break;
        logits = model_forward(model, &next, 1, pos++);
        if (!logits)
            ryot_die("%s", ryot_last_error());
        prev = next;
    }
    const double t_end = now_s();
    printf("\n");
    fprintf(stderr, "%s: %s, %d threads: prompt %d tokens at %.1f tok/s, generated %d tokens at %.1f tok/s\n",
            mi->name, mi->isa, o.threads, n_prompt, n_prompt / (t_prefill - t0), generated,
            generated > 1 ? (generated - 1) / (t_end - t_prefill) : 0.0);

    sched_destroy(sched);
    arena_destroy(&arena);
    tokenizer_free(&tok);
    weight_file_close(&wf);
    free(tokens);
    return 0;
}
