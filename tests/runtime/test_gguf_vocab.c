/* GGUF vocabulary -> struct tokenizer (runtime/gguf_vocab.c).
 *
 * usage: test_gguf_vocab [MODEL_DIR]   (default ../shared/models)
 *
 * - stories260K.gguf's vocabulary must give the same tokenizer as the
 *   llama2.c tok512.bin exported from the same SentencePiece model.
 * - ggml-vocab-llama-spm.gguf (Llama 2's 32000 pieces) must encode every
 *   text of llama.cpp's test file to the ids in its .out file.
 * - Vocabularies ryot cannot use (GPT-2 byte-level BPE, broken metadata)
 *   give -1 and a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/error.h"
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
            int ng = tokenizer_encode(&g, texts[i], true, false, tg, 256);
            int nb = tokenizer_encode(&b, texts[i], true, false, tb, 256);
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

/* llama.cpp's tokenizer test file pair: texts separated by SEPARATOR lines
 * in .inp, one line of ids per text in .out. */
static void test_llama_spm_cases(void)
{
    group_begin("ggml-vocab-llama-spm.gguf test cases");
    struct weight_file wf;
    struct tokenizer t;
    size_t inp_size, out_size;
    char *inp = test_slurp(model_path("vocab/ggml-vocab-llama-spm.gguf.inp"), &inp_size);
    char *out = test_slurp(model_path("vocab/ggml-vocab-llama-spm.gguf.out"), &out_size);
    CHECK(inp && out, "cannot read the .inp / .out files in %s/vocab", model_dir);
    int rw = weight_file_open(&wf, model_path("vocab/ggml-vocab-llama-spm.gguf"));
    CHECK(rw == 0, "%s", ryot_last_error());
    int rt = rw == 0 ? tokenizer_from_gguf(&t, &wf) : -1;
    CHECK(rw != 0 || rt == 0, "%s", ryot_last_error());
    if (inp && out && rt == 0) {
        CHECK(t.vocab_size == 32000 && t.bos == 1 && t.eos == 2, "vocab %d", t.vocab_size);
        int cases = 0, passed = 0;
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
            int n_got = tokenizer_encode(&t, text, false, false, got, MAX_IDS);
            int ok = n_got == n_want && memcmp(got, want, (size_t)n_want * sizeof *got) == 0;
            if (!ok) {
                fprintf(stderr, "  case %d \"%.60s\": got", cases, text);
                for (int i = 0; i < n_got && i < 24; i++)
                    fprintf(stderr, " %d", got[i]);
                fprintf(stderr, n_got < 0 ? " error: %s\n" : "\n", ryot_last_error());
                fprintf(stderr, "  %*s expected%s\n", 0, "", line);
            }
            cases++;
            passed += ok;
            text = sep + strlen(SEPARATOR);
            line = eol + 1;
        }
        printf("  %d of %d llama-spm cases encode exactly\n", passed, cases);
        CHECK(cases == 46, "read %d cases, expected 46", cases);
        CHECK(passed == cases, "%d of %d cases differ", cases - passed, cases);
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
        meta_str("tokenizer.ggml.model", bad == 1 ? "gpt2" : "llama"),
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

static void test_rejected(void)
{
    group_begin("unusable vocabularies give -1 and a message");
    struct tokenizer t;
    CHECK(from_meta(0, &t) == 0, "the good hand-made vocabulary: %s", ryot_last_error());
    if (t.vocab) {
        CHECK(!strcmp(t.vocab[3], " a") && t.scores[4] == -2.0f, "pieces and scores");
        int ids[8];
        int n = tokenizer_encode(&t, "ab", false, false, ids, 8);
        CHECK(n == 2 && ids[0] == 3 && ids[1] == 4, "\"ab\" -> ' a' 'b' (%d tokens)", n);
        tokenizer_free(&t);
    }
    const struct { int bad; const char *frag; } cases[] = {
        { 1, "\"gpt2\"" }, { 2, "scores" }, { 3, "token_type" }, { 4, "bos_token_id = 5" },
        { 5, "tokenizer.ggml.tokens" }, { 6, "tokenizer.ggml.model is missing" },
        { 7, "add_space_prefix" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = from_meta(cases[i].bad, &t);
        const char *msg = ryot_last_error();
        CHECK(rc == -1 && strstr(msg, "vocab.gguf") && strstr(msg, cases[i].frag),
              "defect %d: rc %d, message '%s'", cases[i].bad, rc, msg);
        CHECK(t.vocab == NULL && t.scores == NULL && t.sorted == NULL, "nothing left allocated");
    }
    struct weight_file wf;
    int rw = weight_file_open(&wf, model_path("vocab/ggml-vocab-gpt-2.gguf"));
    CHECK(rw == 0, "%s", ryot_last_error());
    if (rw == 0) {
        CHECK(tokenizer_from_gguf(&t, &wf) == -1 && strstr(ryot_last_error(), "gpt2"),
              "GPT-2 vocabulary: '%s'", ryot_last_error());
        weight_file_close(&wf);
    }
    group_end();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        model_dir = argv[1];
    test_stories_vocab();
    test_llama_spm_cases();
    test_rejected();
    return check_summary();
}
