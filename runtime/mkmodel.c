/* mkmodel: write a synthetic GGUF model of a described shape.
 *
 *   mkmodel models/NAME.lua [--seed N] -o OUT.gguf [--type tq2_0|tq1_0|i2_s|f16|f32] [--vocab spm|bpe]
 *           [--arch NAME] [--scales] [--shuffle] [--gen DIR]
 *
 * Speed depends on shape, not on values, so benchmarks and end-to-end tests
 * run on weights generated deterministically from a seed.  The description
 * is loaded and validated by the generator's own gen/model.lua (found by
 * walking up from the description, or --gen DIR).  The file follows
 * llama.cpp's conventions (tensor names, metadata keys), so llama.cpp and
 * bitnet.cpp can read it too, and means the same model to them: its
 * general.architecture is the first of the description's file_archs
 * (gen/model.lua), e.g. `bitnet-b1.58` for a BitNet with squared ReLU
 * (bitnet.cpp's name for 2B4T), since llama.cpp's `bitnet` runs SiLU.
 *
 * Values.  Tensor i (in the canonical order: llama.cpp's, without .scale
 * tensors) element e (flat C-order index) draws
 * h = XXH3_64bits_withSeed({u64 i, u64 e} little-endian, 16 bytes, seed),
 * u(h) = (h >> 11) * 2^-53 in [0, 1):
 *   linear weights    ternary (h mod 3) - 1, times the tensor's scale
 *                     f16((0.75 + 0.5 u(h_s)) / sqrt(row length)), where h_s
 *                     is the hash of element 2^64-1; stored TQ2_0 (default),
 *                     TQ1_0, I2_S (the scale in its trailer), F16 or F32,
 *                     all exact
 *   norm weights      1 + 0.2 (u(h) - 0.5), F32
 *   embedding/output  0.02 sqrt(3) (sum of h's four 16-bit parts / 65536 - 2),
 *                     near-normal with standard deviation 0.02, F16
 * The vocabulary is fixed and does not depend on the seed: SentencePiece
 * (see vocab_piece) or, with --vocab bpe, byte-level BPE (see bpe_piece):
 * from 128256 tokens on with Llama 3's special tokens at their ids, no
 * tokenizer.ggml.pre and a chat template of BitNet 2B4T's format, as the
 * official BitNet b1.58 2B4T file.
 *
 * Variants of one model (the same values, so the same logits):
 *   --arch NAME   general.architecture NAME and NAME.* keys: another of the
 *                 names llama.cpp / bitnet.cpp give the description's arch
 *                 (gen/model.lua's file_archs), e.g. bitnet-b1.58
 *   --scales      each linear weight X.weight of canonical index i is written
 *                 with its scale divided by 2^(1 + i mod 3), and an F32
 *                 tensor X.scale of shape {1} holds that power of two
 *                 (llama.cpp's bitnet loader multiplies it in)
 *   --shuffle     the tensor table and, independently, the data in orders
 *                 drawn from the seed (tensor 2^64-2, element k: Fisher-Yates
 *                 step k of the table, 2^64-3 of the data)
 *
 * The file is streamed: only one chunk of one tensor is in memory. */
#include <errno.h>
#include <inttypes.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "error.h"
#include "f16.h"
#include "gguf.h"
#include "quant.h"
#include "tensor.h"

#define MAX_FILE_ARCHS 4

struct model_desc {
    char name[128], arch[32];
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len, head_dim, kv_dim;
    double norm_eps, rope_theta;
    int tied_embedding;
    bool bpe_vocab;  /* --vocab bpe */
    char file_archs[MAX_FILE_ARCHS][32];  /* general.architecture names of this model, the default first */
    int n_file_archs;
};

enum tensor_kind { KIND_EMBEDDING, KIND_NORM, KIND_LINEAR, KIND_SCALE };

struct out_tensor {
    char name[TENSOR_NAME_MAX];
    enum tensor_kind kind;
    enum dtype type;
    int64_t rows, cols;  /* C order; a vector has rows = 1 and is written 1-D */
    uint64_t canon;      /* index in the canonical order: draws its values */
    float split;         /* --scales: linear scale divided by it, X.scale's value; else 1 */
    uint64_t offset;     /* in the data section */
};

/* ---- the description, through gen/model.lua ---- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The gen/ folder: --gen, else the first gen/model.lua found walking up
 * from the description's folder. */
static void find_gen_dir(const char *model_path, const char *option, char *out, size_t size)
{
    if (option) {
        snprintf(out, size, "%s", option);
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", model_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    for (int up = 0; up < 6; up++) {
        char probe[1200];
        snprintf(probe, sizeof probe, "%s/gen/model.lua", dir);
        if (file_exists(probe)) {
            snprintf(out, size, "%s/gen", dir);
            return;
        }
        size_t len = strlen(dir);
        if (len + 4 >= sizeof dir)
            break;
        memcpy(dir + len, "/..", 4);
    }
    snprintf(out, size, "gen");
}

static int field_int(lua_State *L, const char *path, const char *key, int *v)
{
    lua_getfield(L, -1, key);
    int ok = lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0 && lua_tointeger(L, -1) <= (1 << 30);
    if (ok)
        *v = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return ok ? 0 : ryot_fail("%s: field '%s' must be a positive integer up to 2^30", path, key);
}

static int field_number(lua_State *L, const char *path, const char *key, double *v)
{
    lua_getfield(L, -1, key);
    int ok = lua_type(L, -1) == LUA_TNUMBER;
    if (ok)
        *v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return ok ? 0 : ryot_fail("%s: field '%s' must be a number", path, key);
}

static int field_string(lua_State *L, const char *path, const char *key, char *v, size_t size)
{
    lua_getfield(L, -1, key);
    int ok = lua_type(L, -1) == LUA_TSTRING && lua_rawlen(L, -1) < size;
    if (ok)
        snprintf(v, size, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return ok ? 0 : ryot_fail("%s: field '%s' must be a string of under %zu bytes", path, key, size);
}

static int load_description(const char *path, const char *gen_dir, struct model_desc *m)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return ryot_fail("cannot start Lua");
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua", gen_dir);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    int rc = 0;
    lua_getglobal(L, "require");
    lua_pushstring(L, "model");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        rc = ryot_fail("cannot load the generator's model module from %s: %s", gen_dir,
                       lua_tostring(L, -1));
    } else {
        lua_getfield(L, -1, "load");
        lua_pushstring(L, path);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK)
            rc = ryot_fail("%s", lua_tostring(L, -1));
        else if (lua_type(L, -1) != LUA_TTABLE)
            rc = ryot_fail("%s: model.load did not return a table", path);
    }
    if (rc == 0) {
        rc = field_string(L, path, "name", m->name, sizeof m->name)
             || field_string(L, path, "arch", m->arch, sizeof m->arch)
             || field_int(L, path, "dim", &m->dim) || field_int(L, path, "hidden_dim", &m->hidden_dim)
             || field_int(L, path, "n_layers", &m->n_layers) || field_int(L, path, "n_heads", &m->n_heads)
             || field_int(L, path, "n_kv_heads", &m->n_kv_heads)
             || field_int(L, path, "vocab_size", &m->vocab_size)
             || field_int(L, path, "seq_len", &m->seq_len) || field_int(L, path, "head_dim", &m->head_dim)
             || field_int(L, path, "kv_dim", &m->kv_dim)
             || field_number(L, path, "norm_eps", &m->norm_eps)
             || field_number(L, path, "rope_theta", &m->rope_theta) ? -1 : 0;
        lua_getfield(L, -1, "tied_embedding");
        m->tied_embedding = lua_toboolean(L, -1);
        lua_pop(L, 1);
        if (lua_getfield(L, -1, "file_archs") != LUA_TTABLE)
            rc = ryot_fail("%s: gen/model.lua names no file architectures for '%s'", path, m->arch);
        for (int i = 1; rc == 0 && lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
            if (m->n_file_archs == MAX_FILE_ARCHS)
                rc = ryot_fail("more than %d file architectures for '%s'", MAX_FILE_ARCHS, m->arch);
            else
                snprintf(m->file_archs[m->n_file_archs++], sizeof m->file_archs[0], "%s", lua_tostring(L, -1));
            lua_pop(L, 1);
        }
    }
    lua_close(L);
    return rc;
}

/* ---- tensor list ---- */

/* Appends a tensor; with `scales`, a linear one gets its X.scale after it. */
static void add_tensor(struct out_tensor *t, int *n, enum tensor_kind kind, enum dtype type,
                       int64_t rows, int64_t cols, const char *fmt, int layer, bool scales)
{
    struct out_tensor *o = &t[*n];
    const uint64_t canon = *n == 0 ? 0 : t[*n - 1].canon + 1;
    (*n)++;
    snprintf(o->name, sizeof o->name, fmt, layer);
    o->kind = kind;
    o->type = type;
    o->rows = rows;
    o->cols = cols;
    o->canon = canon;
    o->split = kind == KIND_LINEAR && scales ? (float)(2 << canon % 3) : 1.0f;
    if (o->split != 1.0f) {
        struct out_tensor *s = &t[(*n)++];
        *s = *o;
        memcpy(s->name + strlen(o->name) - strlen(".weight"), ".scale", sizeof ".scale");  /* X.weight -> X.scale */
        s->kind = KIND_SCALE;
        s->type = DT_F32;
        s->rows = s->cols = 1;
    }
}

/* llama.cpp's tensor names and order; returns the count. */
static int list_tensors(const struct model_desc *m, enum dtype linear, bool scales, struct out_tensor *t)
{
    int n = 0, bitnet = strcmp(m->arch, "bitnet") == 0;
    int64_t dim = m->dim, hidden = m->hidden_dim, kv = m->kv_dim, vocab = m->vocab_size;
    add_tensor(t, &n, KIND_EMBEDDING, DT_F16, vocab, dim, "token_embd.weight", 0, scales);
    add_tensor(t, &n, KIND_NORM, DT_F32, 1, dim, "output_norm.weight", 0, scales);
    if (!m->tied_embedding)
        add_tensor(t, &n, KIND_EMBEDDING, DT_F16, vocab, dim, "output.weight", 0, scales);
    for (int l = 0; l < m->n_layers; l++) {
        add_tensor(t, &n, KIND_NORM, DT_F32, 1, dim, "blk.%d.attn_norm.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, dim, dim, "blk.%d.attn_q.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, kv, dim, "blk.%d.attn_k.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, kv, dim, "blk.%d.attn_v.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, dim, dim, "blk.%d.attn_output.weight", l, scales);
        if (bitnet)
            add_tensor(t, &n, KIND_NORM, DT_F32, 1, dim, "blk.%d.attn_sub_norm.weight", l, scales);
        add_tensor(t, &n, KIND_NORM, DT_F32, 1, dim, "blk.%d.ffn_norm.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, hidden, dim, "blk.%d.ffn_gate.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, hidden, dim, "blk.%d.ffn_up.weight", l, scales);
        add_tensor(t, &n, KIND_LINEAR, linear, dim, hidden, "blk.%d.ffn_down.weight", l, scales);
        if (bitnet)
            add_tensor(t, &n, KIND_NORM, DT_F32, 1, hidden, "blk.%d.ffn_sub_norm.weight", l, scales);
    }
    return n;
}

static uint64_t tensor_bytes(const struct out_tensor *t)
{
    return dtype_tensor_bytes(t->type, t->rows * t->cols);
}

/* ---- values ---- */

static uint64_t draw(uint64_t seed, uint64_t tensor, uint64_t element)
{
    const uint64_t key[2] = { tensor, element };  /* little-endian host: as documented */
    return XXH3_64bits_withSeed(key, sizeof key, seed);
}

static double unit(uint64_t h) { return (double)(h >> 11) * 0x1p-53; }

static float linear_scale(uint64_t seed, uint64_t tensor, int64_t cols)
{
    double s = (0.75 + 0.5 * unit(draw(seed, tensor, UINT64_MAX))) / sqrt((double)cols);
    return f16_to_f32(f32_to_f16((float)s));
}

static float value(const struct out_tensor *t, uint64_t seed, uint64_t e, float scale)
{
    uint64_t h = draw(seed, t->canon, e);
    switch (t->kind) {
    case KIND_LINEAR:
        return scale * (float)((int)(h % 3) - 1);
    case KIND_SCALE:
        return t->split;
    case KIND_NORM:
        return (float)(1.0 + 0.2 * (unit(h) - 0.5));
    default: {
        double sum = (double)(h & 0xffff) + (double)(h >> 16 & 0xffff) + (double)(h >> 32 & 0xffff)
                     + (double)(h >> 48);
        return (float)(0.02 * sqrt(3.0) * (sum / 65536.0 - 2.0));
    }
    }
}

/* ---- vocabulary ---- */

#define N_SPECIAL 3
#define N_BYTES 256
/* "▁" and the 94 printable ASCII characters '!'..'~'. */
#define N_SINGLES 95
#define MIN_VOCAB (N_SPECIAL + N_BYTES)

/* Word j over a..z, in order of length and, within a length L, first
 * `space` + each (L-1)-letter word, then each L-letter word, alphabetically. */
static void word_piece(int64_t j, const char *space, char *out)
{
    int64_t count = 26;  /* 26^(L-1) */
    for (int len = 2;; len++, count *= 26) {
        int prefixed = j < count, letters = prefixed ? len - 1 : len;
        if (!prefixed) {
            j -= count;
            if (j >= count * 26) {
                j -= count * 26;
                continue;
            }
        }
        size_t o = prefixed ? strlen(space) : 0;
        memcpy(out, space, o);
        for (int k = letters - 1; k >= 0; k--, j /= 26)
            out[o + (size_t)k] = (char)('a' + j % 26);
        out[o + (size_t)letters] = '\0';
        return;
    }
}

/* Piece `id` of the fixed SentencePiece-style vocabulary: <unk> <s> </s>,
 * <0x00>..<0xFF>, "▁", '!'..'~', then words over a..z in order of length
 * and, within a length L, first "▁" + each (L-1)-letter word, then each
 * L-letter word, alphabetically.  Every word is the concatenation of two
 * earlier pieces, so BPE merges can build it. */
static void vocab_piece(int id, char *out, size_t size, int *type)
{
    static const char *const special[N_SPECIAL] = { "<unk>", "<s>", "</s>" };
    *type = GGUF_TOKEN_NORMAL;
    if (id < N_SPECIAL) {
        *type = id == 0 ? GGUF_TOKEN_UNKNOWN : GGUF_TOKEN_CONTROL;
        snprintf(out, size, "%s", special[id]);
        return;
    }
    id -= N_SPECIAL;
    if (id < N_BYTES) {
        *type = GGUF_TOKEN_BYTE;
        snprintf(out, size, "<0x%02X>", id);
        return;
    }
    id -= N_BYTES;
    if (id == 0) {
        snprintf(out, size, "\xe2\x96\x81");
        return;
    }
    if (id < N_SINGLES) {
        snprintf(out, size, "%c", '!' + id - 1);
        return;
    }
    word_piece(id - N_SINGLES, "\xe2\x96\x81", out);
}

static void put_vocabulary(struct gguf_writer *w, int n)
{
    char piece[64];
    int type;
    gguf_put_kv_str(w, "tokenizer.ggml.model", "llama");
    gguf_put_kv_array(w, "tokenizer.ggml.tokens", GGUF_STRING, (uint64_t)n);
    for (int id = 0; id < n; id++) {
        vocab_piece(id, piece, sizeof piece, &type);
        gguf_put_str(w, piece);
    }
    /* Merge priority: later (longer) pieces lower; specials and bytes 0. */
    gguf_put_kv_array(w, "tokenizer.ggml.scores", GGUF_FLOAT32, (uint64_t)n);
    for (int id = 0; id < n; id++)
        gguf_put_f32(w, id < MIN_VOCAB ? 0.0f : -(float)(id - MIN_VOCAB));
    gguf_put_kv_array(w, "tokenizer.ggml.token_type", GGUF_INT32, (uint64_t)n);
    for (int id = 0; id < n; id++) {
        vocab_piece(id, piece, sizeof piece, &type);
        gguf_put_u32(w, (uint32_t)type);
    }
    gguf_put_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    gguf_put_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
    gguf_put_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
}

/* ---- byte-level BPE vocabulary (--vocab bpe) ---- */

#define LLAMA3_VOCAB 128256
#define LLAMA3_SPECIALS 128000  /* Llama 3's 256 special tokens start here */
#define N_NAMED 5
#define BPE_MIN_VOCAB (N_BYTES + N_NAMED)
#define BPE_SPACE "\xc4\xa0"   /* U+0120: byte 0x20 in GPT-2's byte-to-unicode table */

/* Llama 3's special tokens that have names, at LLAMA3_SPECIALS + offset;
 * the others are <|reserved_special_token_K|>, K counting up. */
static const struct { int offset; const char *text; } named_specials[N_NAMED] = {
    { 0, "<|begin_of_text|>" }, { 1, "<|end_of_text|>" }, { 6, "<|start_header_id|>" },
    { 7, "<|end_header_id|>" }, { 9, "<|eot_id|>" },
};

/* Id of named special k in a vocabulary of n: Llama 3's own from 128256
 * tokens on, else the last five ids. */
static int named_special_id(int n, int k)
{
    return n >= LLAMA3_VOCAB ? LLAMA3_SPECIALS + named_specials[k].offset : n - N_NAMED + k;
}

static int n_specials(int n)
{
    return n >= LLAMA3_VOCAB ? 256 : N_NAMED;
}

/* Token `id` of the byte-level vocabulary of n tokens: bytes 0..255 spelled
 * by GPT-2's byte-to-unicode table, words as in vocab_piece with U+0120 for
 * the space, special tokens (see named_special_id) control. */
static void bpe_piece(int id, int n, char *out, size_t size, int *type)
{
    *type = GGUF_TOKEN_NORMAL;
    if (id < N_BYTES) {
        /* '!'..'~', 0xA1..0xAC, 0xAE..0xFF stand for themselves, the other
         * 68 bytes in order for U+0100.. */
        int printable = (id >= '!' && id <= '~') || (id >= 0xA1 && id <= 0xAC) || id >= 0xAE;
        int c = printable ? id : id <= 0x20 ? 0x100 + id : id <= 0xA0 ? 0x121 + id - 0x7F : 0x143;
        if (c < 0x80)
            snprintf(out, size, "%c", c);
        else
            snprintf(out, size, "%c%c", 0xC0 | c >> 6, 0x80 | (c & 0x3F));
        return;
    }
    int first = named_special_id(n, 0);
    if (id >= first && id < first + n_specials(n)) {
        *type = GGUF_TOKEN_CONTROL;
        int offset = id - first, named_before = 0;
        for (int k = 0; k < N_NAMED; k++) {
            int at = n >= LLAMA3_VOCAB ? named_specials[k].offset : k;
            if (at == offset) {
                snprintf(out, size, "%s", named_specials[k].text);
                return;
            }
            named_before += at < offset;
        }
        snprintf(out, size, "<|reserved_special_token_%d|>", offset - named_before);
        return;
    }
    word_piece(id - N_BYTES - (id > first ? n_specials(n) : 0), BPE_SPACE, out);
}

static void put_bpe_vocabulary(struct gguf_writer *w, int n)
{
    char piece[64];
    int type, n_words = 0;
    gguf_put_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gguf_put_kv_array(w, "tokenizer.ggml.tokens", GGUF_STRING, (uint64_t)n);
    for (int id = 0; id < n; id++) {
        bpe_piece(id, n, piece, sizeof piece, &type);
        gguf_put_str(w, piece);
    }
    gguf_put_kv_array(w, "tokenizer.ggml.token_type", GGUF_INT32, (uint64_t)n);
    for (int id = 0; id < n; id++) {
        bpe_piece(id, n, piece, sizeof piece, &type);
        gguf_put_u32(w, (uint32_t)type);
        n_words += id >= N_BYTES && type == GGUF_TOKEN_NORMAL;
    }
    /* each word is an earlier token and one letter: its merge, in id order */
    gguf_put_kv_array(w, "tokenizer.ggml.merges", GGUF_STRING, (uint64_t)n_words);
    for (int id = N_BYTES; id < n; id++) {
        bpe_piece(id, n, piece, sizeof piece, &type);
        if (type == GGUF_TOKEN_CONTROL)
            continue;
        char merge[66];
        size_t len = strlen(piece);
        snprintf(merge, sizeof merge, "%.*s %c", (int)len - 1, piece, piece[len - 1]);
        gguf_put_str(w, merge);
    }
    /* no tokenizer.ggml.pre, as in the official BitNet b1.58 2B4T file, and
     * a chat template of its format: "Role: content<|eot_id|>" per message */
    gguf_put_kv_str(w, "tokenizer.chat_template",
                    "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
                    "{{ message['role'] | capitalize + ': ' + message['content'] + '<|eot_id|>' }}{% endfor %}"
                    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}");
    gguf_put_kv_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)named_special_id(n, 0));
    gguf_put_kv_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)named_special_id(n, 1));
    gguf_put_kv_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)named_special_id(n, 4));
}

static void put_metadata(struct gguf_writer *w, const struct model_desc *m, const char *arch)
{
    char key[128];
    gguf_put_kv_str(w, "general.architecture", arch);
    gguf_put_kv_str(w, "general.name", m->name);
#define ARCH_KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, arch), key)
    gguf_put_kv_u32(w, ARCH_KEY("context_length"), (uint32_t)m->seq_len);
    gguf_put_kv_u32(w, ARCH_KEY("embedding_length"), (uint32_t)m->dim);
    gguf_put_kv_u32(w, ARCH_KEY("block_count"), (uint32_t)m->n_layers);
    gguf_put_kv_u32(w, ARCH_KEY("feed_forward_length"), (uint32_t)m->hidden_dim);
    gguf_put_kv_u32(w, ARCH_KEY("attention.head_count"), (uint32_t)m->n_heads);
    gguf_put_kv_u32(w, ARCH_KEY("attention.head_count_kv"), (uint32_t)m->n_kv_heads);
    gguf_put_kv_u32(w, ARCH_KEY("rope.dimension_count"), (uint32_t)m->head_dim);
    gguf_put_kv_u32(w, ARCH_KEY("vocab_size"), (uint32_t)m->vocab_size);
    gguf_put_kv_f32(w, ARCH_KEY("rope.freq_base"), (float)m->rope_theta);
    gguf_put_kv_f32(w, ARCH_KEY("attention.layer_norm_rms_epsilon"), (float)m->norm_eps);
#undef ARCH_KEY
    if (m->bpe_vocab)
        put_bpe_vocabulary(w, m->vocab_size);
    else
        put_vocabulary(w, m->vocab_size);
}

/* ---- writing ---- */

/* One tensor's data in chunks of whole rows (about 1M elements), then
 * I2_S's trailer: the scale, padded to 32 bytes. */
static int write_tensor(struct gguf_writer *w, const struct out_tensor *t, uint64_t seed)
{
    int64_t rows_per_chunk = (1 << 20) / t->cols > 0 ? (1 << 20) / t->cols : 1;
    if (rows_per_chunk > t->rows)
        rows_per_chunk = t->rows;
    size_t row_bytes = dtype_row_bytes(t->type, t->cols);
    float *vals = malloc((size_t)(rows_per_chunk * t->cols) * sizeof *vals);
    unsigned char *bytes = malloc((size_t)rows_per_chunk * row_bytes);
    if (!vals || !bytes) {
        free(vals);
        free(bytes);
        return ryot_fail("out of memory for tensor '%s'", t->name);
    }
    float scale = t->kind == KIND_LINEAR ? linear_scale(seed, t->canon, t->cols) / t->split : 1.0f;
    int rc = 0;
    for (int64_t r0 = 0; rc == 0 && r0 < t->rows; r0 += rows_per_chunk) {
        int64_t nr = t->rows - r0 < rows_per_chunk ? t->rows - r0 : rows_per_chunk;
        uint64_t e0 = (uint64_t)(r0 * t->cols);
        for (int64_t i = 0; i < nr * t->cols; i++)
            vals[i] = value(t, seed, e0 + (uint64_t)i, scale);
        for (int64_t r = 0; rc == 0 && r < nr; r++)
            rc = quantize_row(t->type, vals + r * t->cols, bytes + (size_t)r * row_bytes, t->cols);
        gguf_put_bytes(w, bytes, (size_t)nr * row_bytes);
    }
    if (t->type == DT_I2_S) {
        static const unsigned char zeros[32];
        gguf_put_f32(w, scale);
        gguf_put_bytes(w, zeros, tensor_bytes(t) - dtype_row_bytes(t->type, t->rows * t->cols) - sizeof scale);
    }
    free(vals);
    free(bytes);
    return rc;
}

/* What to write besides the description's values. */
struct write_options {
    enum dtype linear;   /* storage of the linear layers */
    const char *arch;    /* general.architecture */
    bool scales, shuffle;
    uint64_t seed;
};

/* order[0..n) = 0..n-1, scrambled by Fisher-Yates from draws of `stream`
 * (see --shuffle above), or left in order. */
static void tensor_order(int *order, int n, bool shuffle, uint64_t seed, uint64_t stream)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int k = n - 1; shuffle && k > 0; k--) {
        const int j = (int)(draw(seed, stream, (uint64_t)k) % (uint64_t)(k + 1)), tmp = order[k];
        order[k] = order[j];
        order[j] = tmp;
    }
}

static int write_model(const char *path, const struct model_desc *m, const struct write_options *o)
{
    int max_tensors = 3 + 18 * m->n_layers;
    struct out_tensor *t = calloc((size_t)max_tensors, sizeof *t);
    int *table_order = calloc(2 * (size_t)max_tensors, sizeof *table_order), *data_order = table_order + max_tensors;
    if (!t || !table_order) {
        free(t);
        free(table_order);
        return ryot_fail("out of memory");
    }
    const uint64_t seed = o->seed;
    int n = list_tensors(m, o->linear, o->scales, t);
    tensor_order(table_order, n, o->shuffle, seed, UINT64_MAX - 1);
    tensor_order(data_order, n, o->shuffle, seed, UINT64_MAX - 2);
    uint64_t offset = 0;
    int rc = 0;
    for (int k = 0; k < n && rc == 0; k++) {
        struct out_tensor *ti = &t[data_order[k]];
        if (ti->cols % dtype_block_elems(ti->type) != 0)
            rc = ryot_fail("%s: tensor '%s' has rows of %lld elements; %s stores whole blocks of %d "
                           "(use --type f16 for this shape)", m->name, ti->name, (long long)ti->cols,
                           dtype_name(ti->type), dtype_block_elems(ti->type));
        ti->offset = offset;
        offset += (tensor_bytes(ti) + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT
                  * GGUF_DEFAULT_ALIGNMENT;
    }
    if (rc != 0) {
        free(t);
        free(table_order);
        return -1;
    }
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(t);
        free(table_order);
        return ryot_fail("%s: cannot create: %s", tmp, strerror(errno));
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    struct gguf_writer w;
    gguf_writer_init(&w, f, tmp);
    struct gguf_writer count;  /* a dry run sizes the header's metadata count */
    gguf_writer_init(&count, NULL, tmp);
    put_metadata(&count, m, o->arch);
    gguf_put_header(&w, (uint64_t)n, count.n_kv);
    put_metadata(&w, m, o->arch);
    for (int k = 0; k < n; k++) {
        const struct out_tensor *ti = &t[table_order[k]];
        int64_t shape[2] = { ti->rows, ti->cols };
        int vector = ti->kind == KIND_NORM || ti->kind == KIND_SCALE;
        gguf_put_tensor_info(&w, ti->name, vector ? 1 : 2, vector ? shape + 1 : shape, ti->type, ti->offset);
    }
    uint64_t data_start = (w.pos + GGUF_DEFAULT_ALIGNMENT - 1) / GGUF_DEFAULT_ALIGNMENT * GGUF_DEFAULT_ALIGNMENT;
    int verbose = offset > (64u << 20);
    for (int k = 0; k < n && rc == 0 && !w.error; k++) {
        const struct out_tensor *ti = &t[data_order[k]];
        gguf_put_padding(&w, GGUF_DEFAULT_ALIGNMENT);
        if (w.pos != data_start + ti->offset)
            rc = ryot_fail("%s: internal error: tensor '%s' at %" PRIu64 ", planned %" PRIu64, tmp,
                           ti->name, w.pos, data_start + ti->offset);
        if (rc == 0)
            rc = write_tensor(&w, ti, seed);
        if (verbose) {
            char shape[48];
            if (ti->kind == KIND_NORM || ti->kind == KIND_SCALE)
                snprintf(shape, sizeof shape, "[%lld]", (long long)ti->cols);
            else
                snprintf(shape, sizeof shape, "[%lld, %lld]", (long long)ti->rows, (long long)ti->cols);
            fprintf(stderr, "mkmodel: [%d/%d] %-28s %-5s %-14s %7.1f MB written\n", k + 1, n, ti->name,
                    dtype_name(ti->type), shape, (double)w.pos / 1e6);
        }
    }
    if (rc == 0)
        rc = gguf_writer_finish(&w);
    if (fclose(f) != 0 && rc == 0)
        rc = ryot_fail("%s: write error: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ryot_fail("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc != 0)
        remove(tmp);
    else
        fprintf(stderr, "mkmodel: wrote %s: %s, %d tensors, %.1f MB\n", path, m->name, n,
                (double)w.pos / 1e6);
    free(t);
    free(table_order);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mkmodel MODEL.lua [--seed N] -o OUT.gguf [--type tq2_0|tq1_0|i2_s|f16|f32] [--vocab spm|bpe]\n"
               "               [--arch NAME] [--scales] [--shuffle] [--gen DIR]\n"
               "  Writes a GGUF model of MODEL.lua's shape with weights generated from seed N\n"
               "  (default 0); --type is the storage of the linear layers (default tq2_0);\n"
               "  --vocab bpe writes a byte-level BPE vocabulary (Llama 3's special tokens)\n"
               "  instead of the SentencePiece one.\n"
               "  The same model, written otherwise: --arch another general.architecture name\n"
               "  the model's files carry (a squared-ReLU BitNet: bitnet-b1.58, bitnet-25),\n"
               "  --scales each linear's scale split with a NAME.scale tensor (BitNet family),\n"
               "  --shuffle the tensors in an order drawn from the seed.\n");
}

int main(int argc, char **argv)
{
    ryot_set_program_name("mkmodel");
    const char *model = NULL, *out = NULL, *gen = NULL, *type = "tq2_0", *arch = NULL, *vocab = "spm";
    struct write_options o = { .seed = 0 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--seed") && has_value) {
            char *end;
            errno = 0;
            o.seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] == '-' || end == argv[i])
                ryot_die("--seed needs a non-negative integer, not '%s'", argv[i]);
        } else if (!strcmp(a, "-o") && has_value) {
            out = argv[++i];
        } else if (!strcmp(a, "--type") && has_value) {
            type = argv[++i];
        } else if (!strcmp(a, "--vocab") && has_value) {
            vocab = argv[++i];
        } else if (!strcmp(a, "--arch") && has_value) {
            arch = argv[++i];
        } else if (!strcmp(a, "--scales")) {
            o.scales = true;
        } else if (!strcmp(a, "--shuffle")) {
            o.shuffle = true;
        } else if (!strcmp(a, "--gen") && has_value) {
            gen = argv[++i];
        } else if (a[0] != '-' && !model) {
            model = a;
        } else {
            usage(stderr);
            ryot_die("unexpected argument '%s'", a);
        }
    }
    if (!model || !out) {
        usage(stderr);
        ryot_die("%s", !model ? "no model description given" : "no output file given (-o)");
    }
    static const struct { const char *name; enum dtype type; } types[] = {
        { "tq2_0", DT_TQ2_0 }, { "tq1_0", DT_TQ1_0 }, { "i2_s", DT_I2_S }, { "f16", DT_F16 }, { "f32", DT_F32 },
    };
    int linear = -1;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(type, types[i].name))
            linear = (int)types[i].type;
    if (linear < 0)
        ryot_die("--type must be tq2_0, tq1_0, i2_s, f16 or f32, not '%s'", type);
    o.linear = (enum dtype)linear;
    if (strcmp(vocab, "spm") != 0 && strcmp(vocab, "bpe") != 0)
        ryot_die("--vocab must be spm or bpe, not '%s'", vocab);

    char gen_dir[1200];
    find_gen_dir(model, gen, gen_dir, sizeof gen_dir);
    struct model_desc m;
    memset(&m, 0, sizeof m);
    if (load_description(model, gen_dir, &m) != 0)
        ryot_die("%s", ryot_last_error());
    m.bpe_vocab = !strcmp(vocab, "bpe");
    if (!m.bpe_vocab && m.vocab_size < MIN_VOCAB)
        ryot_die("%s: vocab_size %d is too small: the synthetic vocabulary needs %d entries "
                 "(<unk>, <s>, </s> and 256 byte pieces)", model, m.vocab_size, MIN_VOCAB);
    if (m.bpe_vocab && m.vocab_size < BPE_MIN_VOCAB)
        ryot_die("%s: vocab_size %d is too small: the synthetic byte-level vocabulary needs %d entries "
                 "(256 bytes and 5 special tokens)", model, m.vocab_size, BPE_MIN_VOCAB);
    o.arch = arch ? arch : m.file_archs[0];
    bool known = false;
    char names[MAX_FILE_ARCHS * 40] = "";
    for (int i = 0; i < m.n_file_archs; i++) {
        known |= !strcmp(o.arch, m.file_archs[i]);
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "", m.file_archs[i]);
    }
    if (!known)
        ryot_die("--arch %s: model %s is of architecture %s, whose files name it one of: %s", o.arch, m.name, m.arch,
                 names);
    if (o.scales && strcmp(m.arch, "bitnet") != 0)
        ryot_die("--scales: NAME.scale tensors belong to the BitNet family's files, not %s", o.arch);
    if (write_model(out, &m, &o) != 0)
        ryot_die("%s", ryot_last_error());
    return 0;
}
