/* The synthetic model writer (runtime/mkmodel.c), run as a program.
 *
 * usage: test_mkmodel [MKMODEL [GEN_DIR]]   (default build/tools/mkmodel gen)
 *
 * Writes small models from descriptions made here, reads them back with the
 * GGUF importer and checks metadata, tensor names, shapes and types, and
 * every value against the generation rule documented in mkmodel.c,
 * recomputed here with XXH3: ternary weights must decode exactly, from
 * TQ2_0, TQ1_0, I2_S and F16 alike, and so must the variants of one model
 * (--arch, --scales, --shuffle).  Same seed => same bytes; another seed =>
 * other weights.  Both synthetic vocabularies load and give back text; the
 * byte-level one of Llama 3's size loads with Llama 3's rules.  Shapes a
 * format cannot hold, bad descriptions and options must fail with a clear
 * message and leave no file behind. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "../../runtime/chat.h"
#include "../../runtime/error.h"
#include "../../runtime/f16.h"
#include "../../runtime/importers.h"
#include "../../runtime/pretokenize.h"
#include "../../runtime/tensor.h"
#include "../../runtime/tokenizer.h"
#include "check.h"

static const char *mkmodel = "build/tools/mkmodel";
static const char *gen_dir = "gen";
static char tmp_dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* Runs mkmodel with `args`; returns its exit status, stderr in `err`. */
static int run_mkmodel(const char *args, char *err, size_t err_size)
{
    char cmd[2048];
    const char *err_path = tmp_path("stderr.txt");
    snprintf(cmd, sizeof cmd, "'%s' %s --gen '%s' 2>'%s'", mkmodel, args, gen_dir, err_path);
    int status = system(cmd);
    size_t n;
    char *text = test_slurp(err_path, &n);
    snprintf(err, err_size, "%s", text ? text : "");
    free(text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static const char *const bitnet_desc =
    "return { name = 'tiny-bitnet', arch = 'bitnet', dim = 256, hidden_dim = 512, n_layers = 2,\n"
    "  n_heads = 4, n_kv_heads = 2, vocab_size = 400, seq_len = 64, norm_eps = 1e-5,\n"
    "  rope_theta = 500000.0, activation = 'relu2', tied_embedding = true,\n"
    "  weights = { linear = 'ternary' }, files = { weights = 'tiny-bitnet.gguf' } }\n";

/* dim and hidden not multiples of 256, untied output head. */
static const char *const llama_desc =
    "return { name = 'odd-llama', arch = 'llama', dim = 64, hidden_dim = 172, n_layers = 1,\n"
    "  n_heads = 8, n_kv_heads = 4, vocab_size = 300, seq_len = 32, norm_eps = 1e-6,\n"
    "  rope_theta = 10000.0, activation = 'silu', tied_embedding = false,\n"
    "  files = { weights = 'odd-llama.gguf' } }\n";

/* ---- the generation rule, restated ---- */

enum kind { EMBEDDING, NORM, LINEAR };

struct expect {
    char name[64];
    enum kind kind;
    int ndim;
    int64_t shape[2];
};

/* llama.cpp's names and order for the described shape. */
static int expected_tensors(int bitnet, int tied, int64_t dim, int64_t hidden, int64_t kv, int64_t vocab,
                            int layers, struct expect *e)
{
    int n = 0;
#define ADD(k, nd, s0, s1, ...) \
    (snprintf(e[n].name, sizeof e[n].name, __VA_ARGS__), e[n].kind = k, e[n].ndim = nd, \
     e[n].shape[0] = s0, e[n].shape[1] = s1, n++)
    ADD(EMBEDDING, 2, vocab, dim, "token_embd.weight");
    ADD(NORM, 1, dim, 0, "output_norm.weight");
    if (!tied)
        ADD(EMBEDDING, 2, vocab, dim, "output.weight");
    for (int l = 0; l < layers; l++) {
        ADD(NORM, 1, dim, 0, "blk.%d.attn_norm.weight", l);
        ADD(LINEAR, 2, dim, dim, "blk.%d.attn_q.weight", l);
        ADD(LINEAR, 2, kv, dim, "blk.%d.attn_k.weight", l);
        ADD(LINEAR, 2, kv, dim, "blk.%d.attn_v.weight", l);
        ADD(LINEAR, 2, dim, dim, "blk.%d.attn_output.weight", l);
        if (bitnet)
            ADD(NORM, 1, dim, 0, "blk.%d.attn_sub_norm.weight", l);
        ADD(NORM, 1, dim, 0, "blk.%d.ffn_norm.weight", l);
        ADD(LINEAR, 2, hidden, dim, "blk.%d.ffn_gate.weight", l);
        ADD(LINEAR, 2, hidden, dim, "blk.%d.ffn_up.weight", l);
        ADD(LINEAR, 2, dim, hidden, "blk.%d.ffn_down.weight", l);
        if (bitnet)
            ADD(NORM, 1, hidden, 0, "blk.%d.ffn_sub_norm.weight", l);
    }
#undef ADD
    return n;
}

static uint64_t hash(uint64_t seed, uint64_t tensor, uint64_t element)
{
    uint64_t key[2] = { tensor, element };
    return XXH3_64bits_withSeed(key, 16, seed);
}

static double unit(uint64_t h) { return (double)(h >> 11) / 9007199254740992.0; }

/* The value mkmodel writes, as the file stores it (F16 for embeddings). */
static float expected_value(enum kind kind, uint64_t seed, uint64_t tensor, uint64_t e, int64_t cols,
                            int *code)
{
    uint64_t h = hash(seed, tensor, e);
    if (kind == LINEAR) {
        float scale = f16_to_f32(f32_to_f16((float)((0.75 + 0.5 * unit(hash(seed, tensor, UINT64_MAX)))
                                                    / sqrt((double)cols))));
        *code = (int)(h % 3) - 1;
        return scale * (float)*code;
    }
    if (kind == NORM)
        return (float)(1.0 + 0.2 * (unit(h) - 0.5));
    double sum = 0;
    for (int k = 0; k < 4; k++)
        sum += (double)((h >> (16 * k)) & 0xffff);
    return f16_to_f32(f32_to_f16((float)(0.02 * sqrt(3.0) * (sum / 65536.0 - 2.0))));
}

static int meta_int(const struct weight_file *wf, const char *key, int64_t want)
{
    const struct weight_meta *m = weight_file_meta(wf, key);
    return m && m->kind == META_INT && m->i == want;
}

/* Every tensor of `path` against the rule, in the canonical order unless
 * `shuffled`; code_counts[c+1] counts codes c.  `arch` names the file's
 * architecture (NULL: the description's). */
static void check_model_file(const char *path, int bitnet, int tied, int64_t dim, int64_t hidden,
                             int64_t kv, int64_t vocab, int layers, enum dtype linear, uint64_t seed,
                             long *code_counts, const char *arch, int shuffled)
{
    struct weight_file wf;
    int rc = weight_file_open(&wf, path);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc != 0)
        return;
    struct expect e[64];
    int n = expected_tensors(bitnet, tied, dim, hidden, kv, vocab, layers, e);
    CHECK(wf.n_tensors == n, "%d tensors, expected %d", wf.n_tensors, n);
    int bad_values = 0, in_order = 1;
    for (int i = 0; i < n && i < wf.n_tensors; i++) {
        const struct tensor *t = weight_file_find(&wf, e[i].name);
        CHECK(t != NULL, "no tensor '%s'", e[i].name);
        if (!t)
            continue;
        in_order &= t == &wf.tensors[i];
        enum dtype want_type = e[i].kind == LINEAR ? linear : e[i].kind == NORM ? DT_F32 : DT_F16;
        CHECK(t->type == want_type, "%s: %s, expected %s", t->name, dtype_name(t->type),
              dtype_name(want_type));
        CHECK(tensor_check_shape(&wf, t, e[i].ndim, e[i].shape) == 0, "%s", ryot_last_error());
        int64_t count = tensor_elems(t), cols = t->shape[t->ndim - 1];
        float *v = malloc((size_t)count * sizeof *v);
        CHECK(v && tensor_to_f32(t, 0, count, v) == 0, "%s: %s", t->name, ryot_last_error());
        for (int64_t k = 0; v && k < count; k++) {
            int code = 0;
            float want = expected_value(e[i].kind, seed, (uint64_t)i, (uint64_t)k, cols, &code);
            if (v[k] != want && bad_values++ == 0)
                fprintf(stderr, "  %s element %lld is %g, expected %g\n", t->name, (long long)k, v[k], want);
            if (e[i].kind == LINEAR && code_counts)
                code_counts[code + 1]++;
        }
        free(v);
    }
    CHECK(bad_values == 0, "%d values differ from the generation rule", bad_values);
    CHECK(in_order == !shuffled, "tensors %s llama.cpp's order", in_order ? "in" : "not in");
    /* a squared-ReLU BitNet is bitnet.cpp's `bitnet-b1.58` (llama.cpp's `bitnet` runs SiLU) */
    arch = arch ? arch : bitnet ? "bitnet-b1.58" : "llama";
    char key[128];
    const struct weight_meta *m = weight_file_meta(&wf, "general.architecture");
    CHECK(m && m->kind == META_STRING && !strcmp(m->s, arch), "general.architecture");
    snprintf(key, sizeof key, "%s.embedding_length", arch);
    CHECK(meta_int(&wf, key, dim), "%s", key);
    snprintf(key, sizeof key, "%s.feed_forward_length", arch);
    CHECK(meta_int(&wf, key, hidden), "%s", key);
    snprintf(key, sizeof key, "%s.block_count", arch);
    CHECK(meta_int(&wf, key, layers), "%s", key);
    snprintf(key, sizeof key, "%s.vocab_size", arch);
    CHECK(meta_int(&wf, key, vocab), "%s", key);
    m = weight_file_meta(&wf, "tokenizer.ggml.tokens");
    CHECK(m && m->kind == META_STRING_ARRAY && m->n == vocab, "vocabulary of %lld", (long long)vocab);
    weight_file_close(&wf);
}

/* Whether the data of tiny-bitnet file `path` lies in llama.cpp's order of
 * its tensors (check_model_file checks the table's order). */
static void check_data_order(const char *path, int shuffled)
{
    struct weight_file wf;
    CHECK(weight_file_open(&wf, path) == 0, "%s", ryot_last_error());
    struct expect e[64];
    const int n = expected_tensors(1, 1, 256, 512, 128, 400, 2, e);
    int ascending = 1;
    for (int i = 1; i < n; i++) {
        const struct tensor *a = weight_file_find(&wf, e[i - 1].name), *b = weight_file_find(&wf, e[i].name);
        ascending &= a && b && b->data > a->data;
    }
    CHECK(ascending == !shuffled, "%s: data %s llama.cpp's order", path, ascending ? "in" : "not in");
    weight_file_close(&wf);
}

/* --scales: each linear X.weight (canonical index i) has an F32 X.scale of
 * shape {1} holding 2^(1 + i mod 3) right after it in the table, and its
 * stored values are the rule's divided by that (the raw GGUF reader does
 * not fold the scales in). */
static void check_scale_tensors(const char *path, uint64_t seed)
{
    struct weight_file wf;
    memset(&wf, 0, sizeof wf);
    snprintf(wf.path, sizeof wf.path, "%s", path);
    CHECK(gguf_open(&wf, path) == 0, "%s", ryot_last_error());
    struct expect e[64];
    const int n = expected_tensors(1, 1, 256, 512, 128, 400, 2, e);
    int scales = 0, bad = 0, k = 0;
    for (int i = 0; i < n && k < wf.n_tensors; i++, k++) {
        const struct tensor *w = &wf.tensors[k];
        CHECK(!strcmp(w->name, e[i].name), "tensor %d is '%s', expected '%s'", k, w->name, e[i].name);
        if (e[i].kind != LINEAR)
            continue;
        const struct tensor *s = &wf.tensors[++k];
        char name[80];
        snprintf(name, sizeof name, "%.*s.scale", (int)(strlen(e[i].name) - strlen(".weight")), e[i].name);
        const float split = (float)(2 << i % 3);
        float v[2];
        CHECK(!strcmp(s->name, name) && s->type == DT_F32 && s->ndim == 1 && s->shape[0] == 1
                  && tensor_to_f32(s, 0, 1, v) == 0 && v[0] == split,
              "'%s' after '%s' holds %g", s->name, w->name, v[0]);
        scales++;
        int code;
        CHECK(tensor_to_f32(w, 0, 2, v) == 0, "%s", ryot_last_error());
        for (int j = 0; j < 2; j++)
            bad += v[j] != expected_value(LINEAR, seed, (uint64_t)i, (uint64_t)j, w->shape[1], &code) / split;
    }
    CHECK(scales == 14 && k == wf.n_tensors, "%d scale tensors among %d", scales, wf.n_tensors);
    CHECK(bad == 0, "%d stored values are not the rule's over the split", bad);
    weight_file_close(&wf);
}

static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = test_slurp(a, &na), *y = test_slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void test_bitnet(void)
{
    group_begin("tiny BitNet, TQ2_0: every value");
    char err[4096], args[1024];
    char desc[512];
    snprintf(desc, sizeof desc, "%s", tmp_path("tiny-bitnet.lua"));
    write_text(desc, bitnet_desc);
    snprintf(args, sizeof args, "'%s' --seed 42 -o '%s'", desc, tmp_path("a.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    long codes[3] = { 0 };
    check_model_file(tmp_path("a.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_TQ2_0, 42, codes, NULL, 0);
    long total = codes[0] + codes[1] + codes[2];
    for (int c = 0; c < 3; c++)
        CHECK(total > 0 && fabs((double)codes[c] / (double)total - 1.0 / 3.0) < 0.01,
              "code %d in %ld of %ld weights", c - 1, codes[c], total);
    group_end();

    group_begin("TQ1_0, I2_S and F16 hold the same ternary values");
    snprintf(args, sizeof args, "'%s' --seed 42 --type tq1_0 -o '%s'", desc, tmp_path("tq1.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("tq1.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_TQ1_0, 42, NULL, NULL, 0);
    snprintf(args, sizeof args, "'%s' --seed 42 --type f16 -o '%s'", desc, tmp_path("f16.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("f16.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_F16, 42, NULL, NULL, 0);
    snprintf(args, sizeof args, "'%s' --seed 42 --type i2_s -o '%s'", desc, tmp_path("i2s.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("i2s.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_I2_S, 42, NULL, NULL, 0);
    group_end();

    group_begin("--arch, --scales, --shuffle: the same model");
    snprintf(args, sizeof args, "'%s' --seed 42 --arch bitnet-25 -o '%s'", desc, tmp_path("b25.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("b25.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_TQ2_0, 42, NULL, "bitnet-25", 0);
    snprintf(args, sizeof args, "'%s' --seed 42 --shuffle --type i2_s -o '%s'", desc, tmp_path("shuffled.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("shuffled.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_I2_S, 42, NULL, NULL, 1);
    check_data_order(tmp_path("shuffled.gguf"), 1);
    check_data_order(tmp_path("a.gguf"), 0);
    snprintf(args, sizeof args, "'%s' --seed 42 --scales -o '%s'", desc, tmp_path("scales.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("scales.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_TQ2_0, 42, NULL, NULL, 0);
    check_scale_tensors(tmp_path("scales.gguf"), 42);
    group_end();

    group_begin("deterministic from the seed");
    snprintf(args, sizeof args, "'%s' --seed 42 -o '%s'", desc, tmp_path("b.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    CHECK(same_file(tmp_path("a.gguf"), tmp_path("b.gguf")), "same seed, different bytes");
    snprintf(args, sizeof args, "'%s' --seed 43 -o '%s'", desc, tmp_path("c.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    CHECK(!same_file(tmp_path("a.gguf"), tmp_path("c.gguf")), "seeds 42 and 43 gave the same file");
    check_model_file(tmp_path("c.gguf"), 1, 1, 256, 512, 128, 400, 2, DT_TQ2_0, 43, NULL, NULL, 0);
    group_end();
}

static void test_vocabulary(void)
{
    group_begin("synthetic vocabulary tokenizes");
    struct weight_file wf;
    struct tokenizer t;
    int rc = weight_file_open(&wf, tmp_path("a.gguf"));
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc != 0) {
        group_end();
        return;
    }
    rc = tokenizer_from_gguf(&t, &wf);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc == 0) {
        CHECK(t.vocab_size == 400 && t.bos == 1 && t.eos == 2, "size %d", t.vocab_size);
        /* Every piece after the single characters is two earlier pieces joined. */
        int unbuildable = 0;
        for (int id = 3 + 256 + 95; id < t.vocab_size; id++) {
            const char *p = t.vocab[id];
            int found = 0;
            for (size_t cut = 1; cut < strlen(p) && !found; cut++)
                for (int a = 0; a < id && !found; a++)
                    if (strlen(t.vocab[a]) == cut && !strncmp(t.vocab[a], p, cut))
                        for (int b = 0; b < id && !found; b++)
                            found = !strcmp(t.vocab[b], p + cut);
            unbuildable += !found;
        }
        CHECK(unbuildable == 0, "%d pieces cannot be built by merges", unbuildable);
        int ids[64];
        int n = tokenizer_encode(&t, "a b", 0, ids, 64);
        CHECK(n == 2 && !strcmp(t.vocab[ids[0]], " a") && !strcmp(t.vocab[ids[1]], " b"),
              "\"a b\" -> ' a' ' b' (%d tokens)", n);
        const char *text = "Hello, world! \xc3\xa9t\xc3\xa9 {x}";
        n = tokenizer_encode(&t, text, TOKENIZE_BOS, ids, 64);
        char back[256] = "";
        for (int i = 1; i < n; i++)
            strcat(back, tokenizer_decode(&t, ids[i - 1], ids[i], NULL));
        CHECK(n > 1 && ids[0] == 1 && !strcmp(back, text), "round trip gave '%s'", back);
        tokenizer_free(&t);
    }
    weight_file_close(&wf);
    group_end();
}

/* The concatenated decoded pieces of ids[0..n). */
static void decode_into(const struct tokenizer *t, const int *ids, int n, char *out, size_t size)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        size_t pl;
        const char *piece = tokenizer_decode(t, i ? ids[i - 1] : t->bos, ids[i], &pl);
        if (len + pl < size) {
            memcpy(out + len, piece, pl);
            len += pl;
        }
    }
    out[len] = '\0';
}

/* A byte-level vocabulary of `vocab` tokens (mkmodel --vocab bpe) must load
 * and give back every text. */
static void check_bpe_vocabulary(int vocab, int bos, int eos, int eot, enum pretokenizer pre)
{
    char err[4096], args[2048], desc[512], path[512], text_desc[1024];
    snprintf(desc, sizeof desc, "%s", tmp_path("bpe.lua"));
    snprintf(text_desc, sizeof text_desc,
             "return { name = 'bpe', arch = 'llama', dim = 32, hidden_dim = 32, n_layers = 1,\n"
             "  n_heads = 1, n_kv_heads = 1, vocab_size = %d, seq_len = 8, norm_eps = 1e-5,\n"
             "  rope_theta = 500000.0, activation = 'silu', tied_embedding = true,\n"
             "  files = { weights = 'bpe.gguf' } }\n", vocab);
    write_text(desc, text_desc);
    snprintf(path, sizeof path, "%s", tmp_path("bpe.gguf"));
    snprintf(args, sizeof args, "'%s' --type f16 --vocab bpe -o '%s'", desc, path);
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    struct weight_file wf;
    struct tokenizer t;
    int rc = weight_file_open(&wf, path);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc != 0)
        return;
    rc = tokenizer_from_gguf(&t, &wf);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc == 0) {
        CHECK(t.kind == TOKENIZER_BPE && t.vocab_size == vocab && t.pre == pre, "vocab %d, pre %d",
              t.vocab_size, (int)t.pre);
        CHECK(t.bos == bos && t.eos == eos && t.eot == eot && t.add_bos, "BOS %d, EOS %d, EOT %d", t.bos,
              t.eos, t.eot);
        CHECK(tokenizer_token_id(&t, "<|begin_of_text|>") == bos && tokenizer_token_id(&t, "<|eot_id|>") == eot,
              "special tokens by text");
        int ids[256], n = tokenizer_encode(&t, " a", 0, ids, 256);
        CHECK(n == 1 && !strcmp(t.vocab[ids[0]], "\xc4\xa0" "a"), "\" a\" is one word (%d tokens)", n);
        n = tokenizer_encode(&t, "am", 0, ids, 256);
        CHECK(n == 1 && !strcmp(t.vocab[ids[0]], "am"), "\"am\" is one word (%d tokens)", n);
        static const char *const texts[] = {
            "Hello, world! It's 2025: 1234567 tokens.\n\n  indented\ttab  ",
            "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\xa6\x99 \x01\x7f end",
            "<|eot_id|> stays text unless asked",
        };
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            char back[512];
            n = tokenizer_encode(&t, texts[i], TOKENIZE_BOS, ids, 256);
            decode_into(&t, ids, n, back, sizeof back);
            CHECK(n > 1 && ids[0] == bos && !strcmp(back, texts[i]), "text %zu gave back \"%s\"", i, back);
        }
        const char *chat = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
        n = tokenizer_encode(&t, chat, TOKENIZE_SPECIAL, ids, 256);
        CHECK(n > 3 && ids[0] == tokenizer_token_id(&t, "<|start_header_id|>") && ids[n - 1] == eot,
              "chat markers parsed on request (%d tokens)", n);
        tokenizer_free(&t);
    }
    weight_file_close(&wf);
}

static void test_bpe_vocabulary(void)
{
    group_begin("--vocab bpe: Llama 3's special tokens");
    /* Llama 3's size and no tokenizer.ggml.pre: loads with Llama 3's rules */
    check_bpe_vocabulary(128256, 128000, 128001, 128009, PRE_LLAMA3);
    struct weight_file wf;
    if (weight_file_open(&wf, tmp_path("bpe.gguf")) == 0) {
        CHECK(!weight_file_meta(&wf, "tokenizer.ggml.pre"), "no tokenizer.ggml.pre key");
        const struct weight_meta *tokens = weight_file_meta(&wf, "tokenizer.ggml.tokens");
        CHECK(tokens && !strcmp(tokens->strs[128006], "<|start_header_id|>")
                  && !strcmp(tokens->strs[128007], "<|end_header_id|>")
                  && !strcmp(tokens->strs[128002], "<|reserved_special_token_0|>")
                  && !strcmp(tokens->strs[128008], "<|reserved_special_token_4|>")
                  && !strcmp(tokens->strs[128255], "<|reserved_special_token_250|>"),
              "special tokens at Llama 3's ids");
        const struct weight_meta *tmpl = weight_file_meta(&wf, "tokenizer.chat_template");
        const struct chat_format *f = tmpl && tmpl->kind == META_STRING ? chat_format_detect(tmpl->s) : NULL;
        CHECK(f && !strcmp(f->name, "bitnet"), "a chat template of BitNet 2B4T's format: %s", f ? f->name : "none");
        weight_file_close(&wf);
    }
    group_end();

    group_begin("--vocab bpe: small vocabulary");
    /* the five named special tokens at the end; llama.cpp's default rules */
    check_bpe_vocabulary(300, 295, 296, 299, PRE_DEFAULT);
    group_end();
}

static void test_odd_llama(void)
{
    group_begin("llama with rows not a multiple of 256");
    char err[4096], args[1024];
    char desc[512];
    snprintf(desc, sizeof desc, "%s", tmp_path("odd-llama.lua"));
    write_text(desc, llama_desc);
    snprintf(args, sizeof args, "'%s' --seed 5 --type f16 -o '%s'", desc, tmp_path("odd.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) == 0, "mkmodel failed: %s", err);
    check_model_file(tmp_path("odd.gguf"), 0, 0, 64, 172, 32, 300, 1, DT_F16, 5, NULL, NULL, 0);
    snprintf(args, sizeof args, "'%s' --seed 5 -o '%s'", desc, tmp_path("odd-tq2.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0, "TQ2_0 with 64-element rows was accepted");
    CHECK(strstr(err, "blk.0.attn_q.weight") && strstr(err, "whole blocks of 256")
              && strstr(err, "--type f16"), "message: %s", err);
    CHECK(access(tmp_path("odd-tq2.gguf"), F_OK) != 0 && access(tmp_path("odd-tq2.gguf.tmp"), F_OK) != 0,
          "a failed run left a file behind");
    group_end();
}

static void test_bad_input(void)
{
    group_begin("bad descriptions and arguments");
    char err[4096], args[1024];
    char desc[512];
    snprintf(desc, sizeof desc, "%s", tmp_path("broken.lua"));
    write_text(desc, "return { name = 'broken', arch = 'llama' }\n");
    snprintf(args, sizeof args, "'%s' -o '%s'", desc, tmp_path("broken.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "broken.lua") && strstr(err, "missing field"),
          "missing fields: %s", err);
    char small[1024];
    snprintf(small, sizeof small, "%s", llama_desc);
    char *v = strstr(small, "vocab_size = 300");
    memcpy(v, "vocab_size = 100", 16);
    write_text(desc, small);
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "vocab_size 100 is too small"),
          "small vocabulary: %s", err);
    char tiny[1024];
    snprintf(tiny, sizeof tiny, "%s", llama_desc);
    memcpy(strstr(tiny, "vocab_size = 300"), "vocab_size = 260", 16);
    write_text(desc, tiny);
    snprintf(args, sizeof args, "'%s' --vocab bpe -o '%s'", desc, tmp_path("broken.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "vocab_size 260 is too small")
              && strstr(err, "byte-level"), "small byte-level vocabulary: %s", err);
    snprintf(args, sizeof args, "'%s' --vocab wordpiece -o x.gguf", tmp_path("odd-llama.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "--vocab must be spm or bpe"), "bad vocab: %s", err);
    snprintf(args, sizeof args, "'%s' --type q5_k -o x.gguf", tmp_path("odd-llama.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "--type"), "bad type: %s", err);
    snprintf(args, sizeof args, "'%s'", tmp_path("odd-llama.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "-o"), "no output: %s", err);
    snprintf(args, sizeof args, "'%s' --seed -3 -o x.gguf", tmp_path("odd-llama.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "--seed"), "bad seed: %s", err);
    snprintf(args, sizeof args, "'%s' --arch bitnet -o x.gguf", tmp_path("odd-llama.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "--arch bitnet") && strstr(err, "llama"),
          "another architecture's name: %s", err);
    snprintf(args, sizeof args, "'%s' --arch bitnet -o x.gguf", tmp_path("tiny-bitnet.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "--arch bitnet") && strstr(err, "bitnet-b1.58"),
          "the name of the other activation: %s", err);
    snprintf(args, sizeof args, "'%s' --scales -o x.gguf", tmp_path("odd-llama.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "--scales") && strstr(err, "llama"),
          "scale tensors in a llama: %s", err);
    snprintf(args, sizeof args, "'%s' --type i2_s -o '%s'", tmp_path("odd-llama.lua"), tmp_path("odd-i2s.gguf"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "whole blocks of 128"), "I2_S rows of 64: %s", err);
    CHECK(access(tmp_path("odd-i2s.gguf"), F_OK) != 0, "a failed run left a file behind");
    snprintf(args, sizeof args, "'%s' -o x.gguf", tmp_path("nonexistent.lua"));
    CHECK(run_mkmodel(args, err, sizeof err) != 0 && strstr(err, "nonexistent.lua"), "missing: %s", err);
    group_end();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        mkmodel = argv[1];
    if (argc > 2)
        gen_dir = argv[2];
    if (test_tmpdir_create(tmp_dir, sizeof tmp_dir, "test-mkmodel") != 0)
        return 2;
    test_bitnet();
    test_vocabulary();
    test_bpe_vocabulary();
    test_odd_llama();
    test_bad_input();
    test_tmpdir_remove(tmp_dir);
    return check_summary();
}
