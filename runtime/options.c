#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"

void options_usage(FILE *f, const char *prog, const char *weights, const char *tokenizer, int seq_len)
{
    fprintf(f,
            "usage: %s [options]\n"
            "  -m FILE       weights: llama2.c checkpoint or GGUF (default: %s)\n"
            "  -z FILE       tokenizer.bin (default: %s)\n"
            "  -p TEXT       prompt (default: \"\"; with --chat: the system message)\n"
            "  -n N          tokens to generate (default: 256, at most the context of %d; with --chat: per\n"
            "                reply, default until the model ends its turn)\n"
            "  -t N          threads (default: the CPUs this process may use)\n"
            "  --temp T      temperature, 0 = greedy (default: 0.8)\n"
            "  --top-p P     nucleus sampling threshold in (0, 1] (default: 0.9)\n"
            "  --top-k K     keep the K most likely tokens, 0 = off (default: 0)\n"
            "  --seed S      random seed (default: time)\n"
            "  -cnv, --chat  chat: read the user's turns from stdin, one a line, and answer each,\n"
            "                keeping the conversation in the context\n"
            "  --system TEXT with --chat: the system message\n"
            "  --chat-format NAME\n"
            "                with --chat: bitnet, llama3, llama2, chatml, falcon3 or zephyr (default: the\n"
            "                format of the GGUF's tokenizer.chat_template)\n"
            "  --perplexity FILE\n"
            "                perplexity of a text file, as llama.cpp's perplexity tool computes it (JSON)\n"
            "  -c N          with --perplexity: tokens per chunk (default: 512, at most the context)\n"
            "  --ppl-stride S\n"
            "                with --perplexity: a chunk every S tokens, scoring its last S (default: 0, chunks)\n"
            "  --bench       print speed figures as JSON instead of text (greedy, never stops early)\n"
            "  --prompt-tokens N, --gen-tokens M\n"
            "                with --bench: N synthetic prompt tokens (no tokenizer needed), M generated\n"
            "  --verbose-prompt\n"
            "                print the prompt's tokens (with --chat: each turn's) to stderr, as id:'piece'\n"
            "  --info        print the model, ISA and kernel parameters, then exit\n"
            "  -h, --help    this text\n",
            prog, weights, tokenizer, seq_len);
}

static int parse_int(const char *flag, const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    if (errno || end == s || *end || *v < lo || *v > hi)
        return ryot_fail("%s expects an integer in [%ld, %ld], got '%s'", flag, lo, hi, s);
    return 0;
}

static int parse_float(const char *flag, const char *s, float lo, float hi, float *v)
{
    char *end;
    errno = 0;
    *v = strtof(s, &end);
    if (errno || end == s || *end || !(*v >= lo && *v <= hi))
        return ryot_fail("%s expects a number in [%g, %g], got '%s'", flag, lo, hi, s);
    return 0;
}

/* The flags that take a value. */
static const char *const with_value[] = {
    "-m", "-z", "-p", "-n", "-t", "--temp", "--top-p", "--top-k", "--seed", "--prompt-tokens", "--gen-tokens",
    "--perplexity", "-c", "--ppl-stride", "--system", "--chat-format",
};

static int set_value(struct options *o, const char *a, const char *v, int seq_len)
{
    long n = 0;
    int rc = 0;
    if (!strcmp(a, "-m")) o->weights = v;
    else if (!strcmp(a, "-z")) o->tokenizer = v;
    else if (!strcmp(a, "-p")) o->prompt = v;
    else if (!strcmp(a, "--system")) o->system = v;
    else if (!strcmp(a, "--chat-format")) o->chat_format = v;
    else if (!strcmp(a, "--perplexity")) o->perplexity = v;
    else if (!strcmp(a, "--temp")) rc = parse_float(a, v, 0.0f, 100.0f, &o->temperature);
    else if (!strcmp(a, "--top-p")) rc = parse_float(a, v, 1e-6f, 1.0f, &o->top_p);
    else if (!strcmp(a, "-n") || !strcmp(a, "--gen-tokens")) rc = parse_int(a, v, 0, INT_MAX, &n), o->steps = (int)n;
    else if (!strcmp(a, "--prompt-tokens")) rc = parse_int(a, v, 1, INT_MAX, &n), o->prompt_tokens = (int)n;
    else if (!strcmp(a, "-t")) rc = parse_int(a, v, 1, INT_MAX, &n), o->threads = (int)n;
    else if (!strcmp(a, "--top-k")) rc = parse_int(a, v, 0, INT_MAX, &n), o->top_k = (int)n;
    else if (!strcmp(a, "-c")) rc = parse_int(a, v, 4, seq_len, &n), o->ppl_ctx = (int)n;
    else if (!strcmp(a, "--ppl-stride")) rc = parse_int(a, v, 1, seq_len - 1, &n), o->ppl_stride = (int)n;
    else rc = parse_int(a, v, 0, LONG_MAX, &n), o->seed = (unsigned long long)n;
    return rc;
}

int options_parse(int argc, char **argv, int seq_len, int cpus, struct options *o)
{
    *o = (struct options){ .mode = RUN_TEXT, .prompt = "", .steps = -1, .threads = cpus, .temperature = 0.8f,
                           .top_p = 0.9f, .seed = (unsigned long long)time(NULL) };
    bool bench = false, chat = false, info = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            o->mode = RUN_HELP;
            return 0;
        }
        if (!strcmp(a, "--verbose-prompt")) {
            o->verbose_prompt = true;
            continue;
        }
        if (!strcmp(a, "--info") || !strcmp(a, "--bench") || !strcmp(a, "--chat") || !strcmp(a, "-cnv")) {
            *(a[2] == 'i' ? &info : a[2] == 'b' ? &bench : &chat) = true;
            continue;
        }
        if (a[0] != '-')
            return ryot_fail("unexpected argument '%s' (see --help)", a);
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++)
            known |= !strcmp(a, with_value[k]);
        if (!known)
            return ryot_fail("unknown option '%s' (see --help)", a);
        if (i + 1 >= argc)
            return ryot_fail("option '%s' needs a value", a);
        if (set_value(o, a, argv[++i], seq_len) != 0)
            return -1;
    }
    if (bench + chat + (o->perplexity != NULL) > 1)
        return ryot_fail("--bench, --chat and --perplexity are separate runs: choose one");
    o->mode = info ? RUN_INFO : bench ? RUN_BENCH : chat ? RUN_CHAT : o->perplexity ? RUN_PERPLEXITY : RUN_TEXT;
    if (o->prompt_tokens && !bench)
        return ryot_fail("--prompt-tokens goes with --bench");
    if ((o->ppl_ctx || o->ppl_stride) && !o->perplexity)
        return ryot_fail("-c and --ppl-stride go with --perplexity");
    if ((o->system || o->chat_format) && !chat)
        return ryot_fail("--system and --chat-format go with --chat");
    if (chat && o->system && o->prompt[0])
        return ryot_fail("with --chat, -p is the system message: give it once, with -p or --system");
    if (chat && !o->system && o->prompt[0])
        o->system = o->prompt;  /* as llama.cpp's conversation mode takes -p */
    if (!o->ppl_ctx)
        o->ppl_ctx = seq_len < 512 ? seq_len : 512;
    if (o->steps < 0 && !chat)
        o->steps = 256;
    if (bench)
        o->temperature = 0;  /* greedy: figures must not depend on the seed */
    /* more threads than CPUs only take turns: each parallel loop waits for the slowest */
    if (o->threads > cpus) {
        o->threads_asked = o->threads;
        o->threads = cpus;
    }
    return 0;
}
