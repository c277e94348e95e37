/* GGUF vocabularies -> struct tokenizer (runtime/gguf_vocab.c and the
 * tokenizers behind it).
 *
 * usage: test_gguf_vocab [MODEL_DIR]   (default ../shared/models)
 *
 * - stories260K.gguf's vocabulary must give the same tokenizer as the
 *   llama2.c tok512.bin exported from the same SentencePiece model.
 * - llama.cpp's test files in vocab/ (Llama 2 SentencePiece; GPT-2, Falcon
 *   and DeepSeek LLM byte-level BPE): every text must encode to the ids of
 *   its .out line and decode back to itself, byte for byte.
 * - A hand-made byte-level vocabulary: merges by rank, special tokens,
 *   decoding, lookup; Llama 3's rules when a 128256-token vocabulary with
 *   <|begin_of_text|> has no tokenizer.ggml.pre.
 * - Vocabularies ryot cannot use (broken metadata, bad merges) give -1 and a
 *   one-line message naming the file. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/error.h"
#include "../../runtime/pretokenize.h"
#include "../../runtime/tensor.h"
#include "../../runtime/tokenizer.h"
#include "check.h"

static const char *model_dir = "../shared/models";

static const char *model_path(const char *name)
{
    static char buf[2][1024];
    static int next;
    char *p = buf[next++ % 2];
    snprintf(p, sizeof buf[0], "%s/%s", model_dir, name);
    return p;
}

static void test_stories_vocab(void)
{
    group_begin("stories260K.gguf vocabulary == tok512.bin");
    struct weight_file wf;
    struct tokenizer g, b;
    int rw = weight_file_open(&wf, model_path("stories260K.gguf"));
    CHECK(rw == 0, "%s", ryot_last_error());
    if (rw != 0) {
        group_end();
        return;
    }
    int rg = tokenizer_from_gguf(&g, &wf);
    CHECK(rg == 0, "%s", ryot_last_error());
    int rb = tokenizer_load(&b, model_path("tok512.bin"), 512);
    CHECK(rb == 0, "%s", ryot_last_error());
    if (rg == 0 && rb == 0) {
        CHECK(g.vocab_size == 512 && g.bos == 1 && g.eos == 2, "size %d bos %d eos %d", g.vocab_size,
              g.bos, g.eos);
        /* llama2.c's exporter spells BOS/EOS "\n<s>\n" / "\n</s>\n"; GGUF keeps "<s>" / "</s>". */
        CHECK(!strcmp(g.vocab[1], "<s>") && !strcmp(g.vocab[2], "</s>"), "BOS/EOS text");
        int same_text = 0, same_score = 0;
        for (int id = 0; id < 512; id++) {
            same_text += id == 1 || id == 2 || strcmp(g.vocab[id], b.vocab[id]) == 0;
            same_score += g.scores[id] == b.scores[id];
        }
        CHECK(same_text == 512, "%d of 512 pieces equal", same_text);
        CHECK(same_score == 512, "%d of 512 scores equal", same_score);
        CHECK(memcmp(g.byte_token, b.byte_token, sizeof g.byte_token) == 0, "byte tokens");
        CHECK(!strcmp(g.vocab[259], " t"), "U+2581 became a space: '%s'", g.vocab[259]);
        const char *texts[] = { "Once upon a time, there was a little girl named Lily.",
                                "\xe2\x84\xa2 caf\xc3\xa9 \xf0\x9f\x98\x80 [x]~", "" };
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            int tg[256], tb[256];
            int ng = tokenizer_encode(&g, texts[i], TOKENIZE_BOS, tg, 256);
            int nb = tokenizer_encode(&b, texts[i], TOKENIZE_BOS, tb, 256);
            CHECK(ng > 0 && ng == nb && memcmp(tg, tb, (size_t)ng * sizeof *tg) == 0,
                  "text %zu encodes differently (%d vs %d tokens)", i, ng, nb);
        }
    }
    if (rg == 0)
        tokenizer_free(&g);
    if (rb == 0)
        tokenizer_free(&b);
    weight_file_close(&wf);
    group_end();
}

#define SEPARATOR "\n__ggml_vocab_test__\n"

/* The concatenated pieces of tokens[0..n), decoded as after BOS. */
static char *decode_all(const struct tokenizer *t, const int *tokens, int n)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    for (int i = 0; i < n; i++) {
        size_t pl;
        const char *piece = tokenizer_decode(t, i ? tokens[i - 1] : t->bos, tokens[i], &pl);
        while (len + pl + 1 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, piece, pl);
        len += pl;
    }
    out[len] = '\0';
    return out;
}

/* llama.cpp's tokenizer test file pair for vocab/ggml-vocab-NAME.gguf:
 * texts separated by SEPARATOR lines in .inp, one line of ids per text in
 * .out.  Every text must encode to its ids and decode back to itself. */
static void test_vocab_cases(const char *name, int vocab_size, int bos, int eos)
{
    char title[128], path[256];
    snprintf(title, sizeof title, "ggml-vocab-%s.gguf test cases", name);
    group_begin(title);
    struct weight_file wf;
    struct tokenizer t;
    size_t inp_size, out_size;
    snprintf(path, sizeof path, "vocab/ggml-vocab-%s.gguf.inp", name);
    char *inp = test_slurp(model_path(path), &inp_size);
    snprintf(path, sizeof path, "vocab/ggml-vocab-%s.gguf.out", name);
    char *out = test_slurp(model_path(path), &out_size);
    CHECK(inp && out, "cannot read the .inp / .out files of %s in %s/vocab", name, model_dir);
    snprintf(path, sizeof path, "vocab/ggml-vocab-%s.gguf", name);
    int rw = weight_file_open(&wf, model_path(path));
    CHECK(rw == 0, "%s", ryot_last_error());
    int rt = rw == 0 ? tokenizer_from_gguf(&t, &wf) : -1;
    CHECK(rw != 0 || rt == 0, "%s", ryot_last_error());
    if (inp && out && rt == 0) {
        CHECK(t.vocab_size == vocab_size && t.bos == bos && t.eos == eos, "vocab %d, BOS %d, EOS %d",
              t.vocab_size, t.bos, t.eos);
        int cases = 0, passed = 0, round_trips = 0;
        char *text = inp, *line = out;
        enum { MAX_IDS = 4096 };
        static int got[MAX_IDS], want[MAX_IDS];
        for (;;) {
            char *sep = strstr(text, SEPARATOR);
            char *eol = strchr(line, '\n');
            if (!sep || !eol)
                break;
            *sep = '\0';
            *eol = '\0';
            int n_want = 0;
            for (char *p = line, *end; n_want < MAX_IDS; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                    break;
                want[n_want++] = (int)v;
            }
            int n_got = tokenizer_encode(&t, text, 0, got, MAX_IDS);
            int ok = n_got == n_want && memcmp(got, want, (size_t)n_want * sizeof *got) == 0;
            if (!ok) {
                fprintf(stderr, "  case %d \"%.60s\": got", cases, text);
                for (int i = 0; i < n_got && i < 24; i++)
                    fprintf(stderr, " %d", got[i]);
                fprintf(stderr, n_got < 0 ? " error: %s\n" : "\n", ryot_last_error());
                fprintf(stderr, "  %*s expected %s\n", 0, "", line);
            }
            if (n_got >= 0) {
                char *back = decode_all(&t, got, n_got);
                int same = strcmp(back, text) == 0;
                if (!same)
                    fprintf(stderr, "  case %d \"%.60s\" decodes to \"%.60s\"\n", cases, text, back);
                round_trips += same;
                free(back);
            }
            cases++;
            passed += ok;
            text = sep + strlen(SEPARATOR);
            line = eol + 1;
        }
        printf("  %d of %d %s cases encode exactly, %d decode back\n", passed, cases, name, round_trips);
        CHECK(cases == 46, "read %d cases, expected 46", cases);
        CHECK(passed == cases, "%d of %d cases differ", cases - passed, cases);
        CHECK(round_trips == cases, "%d of %d cases do not decode back", cases - round_trips, cases);
    }
    if (rt == 0)
        tokenizer_free(&t);
    if (rw == 0)
        weight_file_close(&wf);
    free(inp);
    free(out);
    group_end();
}

/* ---- vocabularies that must be rejected ---- */

static struct weight_meta meta_str(const char *key, const char *s)
{
    struct weight_meta m = { .kind = META_STRING, .s = s };
    snprintf(m.key, sizeof m.key, "%s", key);
    return m;
}

static struct weight_meta meta_int(const char *key, int64_t v)
{
    struct weight_meta m = { .kind = META_INT, .i = v };
    snprintf(m.key, sizeof m.key, "%s", key);
    return m;
}

/* A hand-made vocabulary of 5 pieces; `bad` selects one defect. */
static int from_meta(int bad, struct tokenizer *t)
{
    static const char *const strs[5] = { "<unk>", "<s>", "</s>", ("\xe2\x96\x81" "a"), "b" };
    static const float scores[5] = { 0, 0, 0, -1, -2 };
    static const int64_t types[5] = { 2, 3, 3, 1, 1 };
    struct weight_meta meta[7] = {
        meta_str("tokenizer.ggml.model", bad == 1 ? "bert" : "llama"),
        { .key = "tokenizer.ggml.tokens", .kind = META_STRING_ARRAY, .n = 5, .strs = strs },
        { .key = "tokenizer.ggml.scores", .kind = META_FLOAT_ARRAY, .n = bad == 2 ? 4 : 5,
          .floats = scores },
        { .key = "tokenizer.ggml.token_type", .kind = META_INT_ARRAY, .n = bad == 3 ? 6 : 5,
          .ints = types },
        meta_int("tokenizer.ggml.bos_token_id", bad == 4 ? 5 : 1),
        meta_int("tokenizer.ggml.eos_token_id", 2),
        meta_int("tokenizer.ggml.add_space_prefix", bad != 7),
    };
    if (bad == 5)
        meta[1].kind = META_STRING;
    struct weight_file wf = { .path = "vocab.gguf", .meta = meta, .n_meta = 7 };
    if (bad == 6)
        wf.n_meta = 0;
    return tokenizer_from_gguf(t, &wf);
}

/* GPT-2's byte-to-unicode spelling of byte b, restated: printable bytes
 * stand for themselves, the 68 others in order for U+0100... */
static void byte_char(int b, char out[3])
{
    int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE, n = 0;
    for (int c = 0; c < b; c++)
        n += !((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE);
    int cp = printable ? b : 256 + n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = '\0';
    } else {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = '\0';
    }
}

#define N_BPE 264

/* A hand-made byte-level vocabulary: the 256 byte tokens (id = byte), then
 * 256 "ab", 257 "bc", 258 " a", 259 " ab", 260 "abc" (spaces spelled
 * U+0120), control 261 <|begin|> (BOS) and 262 <|eot_id|> (EOS, EOT),
 * user-defined 263 <u>; merges "a b", "b c", " a", " a b", "ab c" by rank.
 * `variant`: 0 as described, 1 with add_bos_token false, 10.. one defect.
 * `pre`: the tokenizer.ggml.pre value, or NULL for none. */
static int bpe_from_meta(int variant, const char *pre, struct tokenizer *t)
{
    static char bytes[256][3];
    static const char *strs[N_BPE];
    static int64_t types[N_BPE];
    for (int b = 0; b < 256; b++) {
        byte_char(b, bytes[b]);
        strs[b] = bytes[b];
        types[b] = 1;
    }
    static const char *const more[] = { "ab", "bc", "\xc4\xa0" "a", "\xc4\xa0" "ab", "abc",
                                        "<|begin|>", "<|eot_id|>", "<u>" };
    static const int64_t more_types[] = { 1, 1, 1, 1, 1, 3, 3, 4 };
    for (int i = 0; i < 8; i++) {
        strs[256 + i] = more[i];
        types[256 + i] = more_types[i];
    }
    types[5] = variant == 16 ? 9 : 1;
    const char *merges[5] = { "a b", "b c", "\xc4\xa0 a", "\xc4\xa0" "a b", "ab c" };
    if (variant >= 11 && variant <= 14)
        merges[3] = (const char *[]){ "ab zz", "b a", "abc", "<|eot_id|> a" }[variant - 11];
    struct weight_meta meta[10] = {
        meta_str("tokenizer.ggml.model", "gpt2"),
        { .key = "tokenizer.ggml.tokens", .kind = META_STRING_ARRAY, .n = N_BPE, .strs = strs },
        { .key = "tokenizer.ggml.token_type", .kind = META_INT_ARRAY, .n = variant == 15 ? N_BPE - 1 : N_BPE,
          .ints = types },
        { .key = "tokenizer.ggml.merges", .kind = variant == 18 ? META_INT_ARRAY : META_STRING_ARRAY,
          .n = 5, .strs = merges, .ints = types },
        meta_int("tokenizer.ggml.bos_token_id", 261),
        meta_int("tokenizer.ggml.eos_token_id", 262),
        meta_int("tokenizer.ggml.eot_token_id", variant == 17 ? 999 : 262),
        meta_int("tokenizer.ggml.add_bos_token", variant != 1),
        meta_str("tokenizer.ggml.pre", variant == 19 ? "gpt-5" : pre),
    };
    int n_meta = pre || variant == 19 ? 9 : 8;
    if (variant == 10)
        meta[3] = meta[--n_meta];  /* no merges */
    struct weight_file wf = { .path = "vocab.gguf", .meta = meta, .n_meta = n_meta };
    return tokenizer_from_gguf(t, &wf);
}

static int same_ids(const int *got, int n, const int *want, int n_want)
{
    return n == n_want && memcmp(got, want, (size_t)n * sizeof *got) == 0;
}

static void test_bpe_hand_made(void)
{
    group_begin("hand-made byte-level vocabulary");
    struct tokenizer t;
    int rc = bpe_from_meta(0, NULL, &t);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc != 0) {
        group_end();
        return;
    }
    CHECK(t.kind == TOKENIZER_BPE && t.pre == PRE_DEFAULT && !t.ignore_merges, "default pre-tokenizer");
    CHECK(t.bos == 261 && t.eos == 262 && t.eot == 262 && t.add_bos, "BOS, EOS, EOT, add BOS");
    int ids[64], n;
    n = tokenizer_encode(&t, "abc", 0, ids, 64);
    CHECK(same_ids(ids, n, (const int[]){ 260 }, 1), "\"abc\" -> abc (%d tokens)", n);
    /* "a b" (rank 0) merges before " a" (rank 2), and no merge joins " " with "ab" */
    n = tokenizer_encode(&t, "bc ab", 0, ids, 64);
    CHECK(same_ids(ids, n, (const int[]){ 257, ' ', 256 }, 3), "\"bc ab\" -> bc, ' ', ab by rank");
    n = tokenizer_encode(&t, " a", TOKENIZE_BOS | TOKENIZE_EOS, ids, 64);
    CHECK(same_ids(ids, n, (const int[]){ 261, 258, 262 }, 3), "BOS \" a\" EOS");
    /* control tokens only on request; user-defined ones always */
    n = tokenizer_encode(&t, "a<|eot_id|>b", 0, ids, 64);
    int has_eot = 0;
    for (int i = 0; i < n; i++)
        has_eot |= ids[i] == 262;
    CHECK(n == 12 && !has_eot, "<|eot_id|> as plain text: %d tokens", n);
    n = tokenizer_encode(&t, "a<|eot_id|>b", TOKENIZE_SPECIAL, ids, 64);
    CHECK(same_ids(ids, n, (const int[]){ 'a', 262, 'b' }, 3), "<|eot_id|> parsed on request");
    n = tokenizer_encode(&t, "x<u>y", 0, ids, 64);
    CHECK(same_ids(ids, n, (const int[]){ 'x', 263, 'y' }, 3), "user-defined <u> always taken");
    size_t len;
    CHECK(!strcmp(tokenizer_decode(&t, 0, 259, &len), " ab") && len == 3, "\" ab\" decodes with a space");
    CHECK(!strcmp(tokenizer_decode(&t, 0, 262, &len), "") && len == 0, "control tokens decode to nothing");
    CHECK(!strcmp(tokenizer_decode(&t, 0, 263, NULL), "<u>"), "user-defined tokens decode as typed");
    CHECK(tokenizer_decode(&t, 0, 0, &len)[0] == 0 && len == 1, "byte 0 is one byte");
    CHECK((unsigned char)tokenizer_decode(&t, 0, 0xE9, &len)[0] == 0xE9 && len == 1, "byte 0xE9");
    CHECK(tokenizer_token_id(&t, "<|eot_id|>") == 262 && tokenizer_token_id(&t, "\xc4\xa0" "ab") == 259
              && tokenizer_token_id(&t, "<u>") == 263 && tokenizer_token_id(&t, "zz") == -1,
          "lookup by text");
    tokenizer_free(&t);

    rc = bpe_from_meta(1, "gpt-2", &t);
    CHECK(rc == 0 && !t.add_bos && t.pre == PRE_GPT2, "add_bos_token false, pre gpt-2: %s", ryot_last_error());
    if (rc == 0)
        tokenizer_free(&t);
    group_end();
}

/* A byte-level vocabulary of `size` tokens without tokenizer.ggml.pre
 * (unless `pre`): 256 byte tokens, "'S" (merge "' S"), "IT" (no merge),
 * fillers, and at 128000 <|begin_of_text|> when `begin`. */
static int llama3_like(int size, bool begin, const char *pre, struct tokenizer *t)
{
    const char **strs = malloc((size_t)size * sizeof *strs);
    int64_t *types = malloc((size_t)size * sizeof *types);
    char (*text)[24] = malloc((size_t)size * sizeof *text);
    for (int id = 0; id < size; id++) {
        types[id] = 1;
        if (id < 256)
            byte_char(id, text[id]);
        else if (id == 256)
            snprintf(text[id], sizeof text[id], "'S");
        else if (id == 257)
            snprintf(text[id], sizeof text[id], "IT");
        else if (id == 128000 && begin)
            snprintf(text[id], sizeof text[id], "<|begin_of_text|>"), types[id] = 3;
        else
            snprintf(text[id], sizeof text[id], "[filler %d]", id);
        strs[id] = text[id];
    }
    const char *merges[1] = { "' S" };
    struct weight_meta meta[5] = {
        meta_str("tokenizer.ggml.model", "gpt2"),
        { .key = "tokenizer.ggml.tokens", .kind = META_STRING_ARRAY, .n = size, .strs = strs },
        { .key = "tokenizer.ggml.token_type", .kind = META_INT_ARRAY, .n = size, .ints = types },
        { .key = "tokenizer.ggml.merges", .kind = META_STRING_ARRAY, .n = 1, .strs = merges },
        meta_str("tokenizer.ggml.pre", pre),
    };
    struct weight_file wf = { .path = "llama3.gguf", .meta = meta, .n_meta = pre ? 5 : 4 };
    int rc = tokenizer_from_gguf(t, &wf);
    free(strs);
    free(types);
    free(text);
    return rc;
}

static void test_llama3_fallback(void)
{
    group_begin("no pre key: Llama 3's rules for its vocabulary");
    static const struct { int size; bool begin; const char *pre; enum pretokenizer want; } cases[] = {
        { 128256, true, NULL, PRE_LLAMA3 },     /* as the official 2B4T file */
        { 128256, false, NULL, PRE_DEFAULT },   /* no <|begin_of_text|> */
        { 128255, true, NULL, PRE_DEFAULT },    /* another size */
        { 128256, true, "default", PRE_DEFAULT }, /* the key decides */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tokenizer t;
        int rc = llama3_like(cases[i].size, cases[i].begin, cases[i].pre, &t);
        CHECK(rc == 0, "case %zu: %s", i, ryot_last_error());
        if (rc != 0)
            continue;
        int ids[16], n = tokenizer_encode(&t, "IT'S", 0, ids, 16);
        bool llama3 = cases[i].want == PRE_LLAMA3;
        /* Llama 3 keeps "'S" (any case) in one piece, where it merges, and
         * takes the piece "IT" as the token it is, without a merge */
        CHECK(t.pre == cases[i].want && t.ignore_merges == llama3, "case %zu: pre %d", i, (int)t.pre);
        CHECK(llama3 ? same_ids(ids, n, (const int[]){ 257, 256 }, 2)
                     : same_ids(ids, n, (const int[]){ 'I', 'T', '\'', 'S' }, 4),
              "case %zu: \"IT'S\" gave %d tokens", i, n);
        tokenizer_free(&t);
    }
    group_end();
}

static void test_rejected(void)
{
    group_begin("unusable vocabularies give -1 and a message");
    struct tokenizer t;
    CHECK(from_meta(0, &t) == 0, "the good hand-made vocabulary: %s", ryot_last_error());
    if (t.vocab) {
        CHECK(!strcmp(t.vocab[3], " a") && t.scores[4] == -2.0f, "pieces and scores");
        int ids[8];
        int n = tokenizer_encode(&t, "ab", 0, ids, 8);
        CHECK(n == 2 && ids[0] == 3 && ids[1] == 4, "\"ab\" -> ' a' 'b' (%d tokens)", n);
        tokenizer_free(&t);
    }
    const struct { int bad; const char *frag; } cases[] = {
        { 1, "\"bert\": supported are \"llama\"" }, { 2, "scores" }, { 3, "token_type" }, { 4, "bos_token_id = 5" },
        { 5, "tokenizer.ggml.tokens" }, { 6, "tokenizer.ggml.model is missing" },
        { 7, "add_space_prefix" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = from_meta(cases[i].bad, &t);
        const char *msg = ryot_last_error();
        CHECK(rc == -1 && strstr(msg, "vocab.gguf") && strstr(msg, cases[i].frag),
              "defect %d: rc %d, message '%s'", cases[i].bad, rc, msg);
        CHECK(t.vocab == NULL && t.scores == NULL && t.all.slots == NULL, "nothing left allocated");
    }
    const struct { int variant; const char *frag; } bpe_cases[] = {
        { 10, "tokenizer.ggml.merges is missing" },
        { 11, "merges[3] \"ab zz\" names \"zz\", which is not a normal token" },
        { 12, "merges[3] \"b a\" makes \"ba\", which is not a normal token" },
        { 13, "merges[3] \"abc\" is not two tokens separated by a space" },
        { 14, "names \"<|eot_id|>\", which is not a normal token" },
        { 15, "token_type has 263 entries for 264 tokens" },
        { 16, "token_type[5] = 9 is not a token type" },
        { 17, "eot_token_id = 999 is not a token id" },
        { 18, "tokenizer.ggml.merges has the wrong type" },
        { 19, "tokenizer.ggml.pre \"gpt-5\" is not supported (supported: default, gpt-2, llama3" },
    };
    for (size_t i = 0; i < sizeof bpe_cases / sizeof bpe_cases[0]; i++) {
        int rc = bpe_from_meta(bpe_cases[i].variant, NULL, &t);
        const char *msg = ryot_last_error();
        CHECK(rc == -1 && strstr(msg, "vocab.gguf") && strstr(msg, bpe_cases[i].frag) && !strchr(msg, '\n'),
              "byte-level defect %d: rc %d, message '%s'", bpe_cases[i].variant, rc, msg);
        CHECK(t.vocab == NULL && t.type == NULL && t.merges.slots == NULL, "nothing left allocated");
    }
    group_end();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        model_dir = argv[1];
    test_stories_vocab();
    test_vocab_cases("llama-spm", 32000, 1, 2);
    test_vocab_cases("gpt-2", 50257, 50256, 50256);
    test_vocab_cases("falcon", 65024, 11, 11);
    test_vocab_cases("deepseek-llm", 102400, 100000, 100001);
    test_bpe_hand_made();
    test_llama3_fallback();
    test_rejected();
    return check_summary();
}
