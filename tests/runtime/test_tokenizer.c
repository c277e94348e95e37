/* llama2.c tokenizer: loading, BPE encoding, decoding, bad input.
 *
 * usage: test_tokenizer [MODEL_DIR]   (default ../shared/models; needs tok512.bin)
 *
 * Exact expectations for tok512 were worked out from its pieces and scores
 * (merges have scores 0, -1, -2, ... by rank; single characters score below
 * every merge); a naive re-implementation of the algorithm below checks many
 * more texts. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../runtime/error.h"
#include "../../runtime/tokenizer.h"
#include "check.h"

static const char *model_dir = "../shared/models";
static char tmp_dir[256];

static char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
    return p;
}

static int contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

static int same_tokens(const int *a, int na, const int *b, int nb)
{
    return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

/* Decodes tokens (after BOS) and concatenates the pieces. */
static char *decode_all(const struct tokenizer *t, const int *tokens, int n)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    int prev = t->bos;
    for (int i = 0; i < n; i++) {
        size_t pl;
        const char *piece = tokenizer_decode(t, prev, tokens[i], &pl);
        while (len + pl + 1 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, piece, pl);
        len += pl;
        prev = tokens[i];
    }
    out[len] = '\0';
    return out;
}

/* ---- an independent, naive encoder: strings and linear scans ---------- */

static int is_byte_piece_name(const char *s)
{
    return strlen(s) == 6 && strncmp(s, "<0x", 3) == 0 && s[5] == '>';
}

static int naive_lookup(const struct tokenizer *t, const char *s)
{
    for (int id = 0; id < t->vocab_size; id++)
        if (t->vocab[id][0] == s[0] && strcmp(t->vocab[id], s) == 0 && id != t->bos
            && id != t->eos && !is_byte_piece_name(t->vocab[id]))
            return id;
    return -1;
}

static int naive_byte_token(const struct tokenizer *t, unsigned char b)
{
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    for (int id = 0; id < t->vocab_size; id++)
        if (strcmp(t->vocab[id], name) == 0)
            return id;
    return -1;
}

static int naive_encode(const struct tokenizer *t, const char *text, int *out)
{
    if (!*text)
        return 0;
    int n = 0;
    char *sym[1024];
    char buf[4096];
    snprintf(buf, sizeof buf, " %s", text);
    for (const unsigned char *p = (const unsigned char *)buf; *p;) {
        int len = *p < 0x80 ? 1 : *p < 0xE0 ? 2 : *p < 0xF0 ? 3 : 4;
        sym[n] = strndup((const char *)p, (size_t)len);
        n++;
        p += len;
    }
    for (;;) {
        int best = -1;
        float best_score = 0;
        for (int i = 0; i + 1 < n; i++) {
            char pair[4096];
            snprintf(pair, sizeof pair, "%s%s", sym[i], sym[i + 1]);
            int id = naive_lookup(t, pair);
            if (id >= 0 && (best < 0 || t->scores[id] > best_score)) {
                best = i;
                best_score = t->scores[id];
            }
        }
        if (best < 0)
            break;
        char *merged = malloc(strlen(sym[best]) + strlen(sym[best + 1]) + 1);
        strcpy(merged, sym[best]);
        strcat(merged, sym[best + 1]);
        free(sym[best]);
        free(sym[best + 1]);
        sym[best] = merged;
        memmove(sym + best + 1, sym + best + 2, (size_t)(n - best - 2) * sizeof *sym);
        n--;
    }
    int count = 0;
    for (int i = 0; i < n; i++) {
        int id = naive_lookup(t, sym[i]);
        if (id >= 0)
            out[count++] = id;
        else
            for (const unsigned char *p = (const unsigned char *)sym[i]; *p; p++)
                out[count++] = naive_byte_token(t, *p);
        free(sym[i]);
    }
    return count;
}

/* ------------------------------------------------------------------------ */

static void test_load(struct tokenizer *t)
{
    group_begin("load tok512.bin");
    CHECK(t->vocab_size == 512 && t->bos == 1 && t->eos == 2, "size and specials");
    CHECK(strcmp(t->vocab[1], "\n<s>\n") == 0 && strcmp(t->vocab[2], "\n</s>\n") == 0,
          "BOS/EOS pieces as llama2.c stores them");
    CHECK(strcmp(t->vocab[259], " t") == 0 && t->scores[259] == 0.0f, "first merge");
    CHECK(strcmp(t->vocab[403], " Once") == 0 && t->scores[403] == -144.0f, "piece 403");
    int bytes_ok = 1;
    for (int b = 0; b < 256; b++) {
        size_t len;
        const char *piece = tokenizer_decode(t, 0, 3 + b, &len);
        bytes_ok &= t->byte_token[b] == 3 + b && len == 1 && (unsigned char)piece[0] == b && piece[1] == 0;
    }
    CHECK(bytes_ok, "byte tokens are ids 3..258 and decode to their byte");
    int found = 0;
    for (int id = 0; id < t->vocab_size; id++)
        found += tokenizer_token_id(t, t->vocab[id]) == id;
    CHECK(found == t->vocab_size, "%d of %d pieces found by their text", found, t->vocab_size);
    CHECK(tokenizer_token_id(t, "Once") == -1 && tokenizer_token_id(t, "") == -1, "absent texts");
    CHECK(t->eot == -1 && t->add_bos && t->kind == TOKENIZER_SPM, "no EOT; BOS added");
    group_end();
}

static void check_encoding(const struct tokenizer *t, const char *text, const int *want, int n_want)
{
    int got[256];
    int n = tokenizer_encode(t, text, 0, got, 256);
    CHECK(n >= 0, "encode \"%s\": %s", text, ryot_last_error());
    CHECK(same_tokens(got, n, want, n_want), "encoding of \"%s\"", text);
}

#define ENCODES_TO(t, text, ...)                                                       \
    check_encoding(t, text, (const int[]){__VA_ARGS__},                                \
                   (int)(sizeof((const int[]){__VA_ARGS__}) / sizeof(int)))

static void test_known_encodings(const struct tokenizer *t)
{
    group_begin("tok512 known encodings");
    /* " O" (-60) merges first, then " On" (-62), "ce" (-72), " Once";
     * "on" (-30) before " u" (-59), then " up", " upon". */
    ENCODES_TO(t, "Once upon a time", 403, 407, 261, 378);
    ENCODES_TO(t, "Lily", 317);
    /* dummy prefix " " stays alone; '\n' has no piece: <0x0A> = 3 + 10 */
    ENCODES_TO(t, "\n", 410, 13);
    /* 'é' is a piece (485), " é" is not */
    ENCODES_TO(t, "\xc3\xa9", 410, 485);
    /* U+65E5 is not a piece: three byte tokens E6 97 A5 */
    ENCODES_TO(t, "\xe6\x97\xa5", 410, 3 + 0xE6, 3 + 0x97, 3 + 0xA5);
    /* the text of a byte piece is just text */
    ENCODES_TO(t, "<0x41>", 410, 504, 477, 444, 484, 475, 505);
    /* "ll" (-47) beats " H" (-61); then " He" (-87) */
    ENCODES_TO(t, "  Hello", 410, 410, 346, 306, 414);
    ENCODES_TO(t, "a  b", 261, 410, 268);
    ENCODES_TO(t, "Tim said, \xe2\x80\x9cHi!\xe2\x80\x9d", 326, 336, 432, 410, 465, 440, 417, 443,
               466);
    ENCODES_TO(t, "Once upon a time, there was a little girl named Lily.", 403, 407, 261, 378,
               432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426);

    int tok[8];
    CHECK(tokenizer_encode(t, "", 0, tok, 8) == 0, "empty text: no tokens");
    CHECK(tokenizer_encode(t, "", TOKENIZE_BOS | TOKENIZE_EOS, tok, 8) == 2 && tok[0] == 1 && tok[1] == 2,
          "empty text with BOS and EOS");
    CHECK(tokenizer_encode(t, "Lily", TOKENIZE_BOS | TOKENIZE_EOS, tok, 8) == 3 && tok[0] == 1 && tok[1] == 317
              && tok[2] == 2,
          "BOS and EOS around the text");
    CHECK(tokenizer_encode(t, "Once upon a time", TOKENIZE_BOS, tok, 4) == -1
              && contains(ryot_last_error(), "more than 4 tokens"),
          "too many tokens refused: %s", ryot_last_error());
    CHECK(tokenizer_encode(t, "Once upon a time", TOKENIZE_BOS, tok, 5) == 5, "exact fit");
    group_end();
}

static void test_decode(const struct tokenizer *t)
{
    group_begin("decode");
    CHECK(strcmp(tokenizer_decode(t, 1, 403, NULL), "Once") == 0, "leading space stripped after BOS");
    CHECK(strcmp(tokenizer_decode(t, 5, 403, NULL), " Once") == 0, "kept elsewhere");
    CHECK(strcmp(tokenizer_decode(t, 403, 3 + 'A', NULL), "A") == 0, "<0x41> is the byte 'A'");
    CHECK(strcmp(tokenizer_decode(t, 403, 3 + '\n', NULL), "\n") == 0, "<0x0A> is a newline");
    CHECK(strcmp(tokenizer_decode(t, 1, 3 + ' ', NULL), " ") == 0, "<0x20> after BOS stays a space");
    CHECK((unsigned char)tokenizer_decode(t, 0, 3 + 0xE6, NULL)[0] == 0xE6, "high byte");
    CHECK(strcmp(tokenizer_decode(t, 0, 412, NULL), "a") == 0, "plain piece");
    CHECK(strcmp(tokenizer_decode(t, 0, -1, NULL), "") == 0 && strcmp(tokenizer_decode(t, 0, 512, NULL), "") == 0,
          "out-of-range ids decode to nothing");
    size_t len = 9;
    CHECK(strcmp(tokenizer_decode(t, 0, 1, &len), "") == 0 && len == 0 && strcmp(tokenizer_decode(t, 1, 2, NULL), "") == 0,
          "BOS and EOS are control tokens: nothing");
    CHECK(tokenizer_decode(t, 0, 3, &len)[0] == 0 && len == 1, "<0x00> is one byte");
    group_end();
}

/* Texts from fragments chosen to exercise merges, spaces, newlines, multi-byte
 * pieces and byte fallback. */
static void random_text(uint32_t *state, char *out, size_t cap)
{
    static const char *fragments[] = {
        "a", "e", "t", "h", " ", "  ", "\n", "\t", "The", "Lily", " played", "ing", ",", ".",
        "!", "\xc3\xa9", "\xe2\x80\x9c", "\xe2\x80\x9d", "\xe6\x97\xa5\xe6\x9c\xac",
        "\xf0\x9f\xa6\x99", "<0x41>", "Z", "q", "x", "\xe2\x80\x99", "once upon", "Tim",
        "happy", "\xc2\xa0", "~",
    };
    int n_frag = (int)(sizeof fragments / sizeof fragments[0]);
    *state = *state * 1103515245u + 12345u;
    int count = 1 + (int)((*state >> 16) % 30);
    out[0] = '\0';
    for (int i = 0; i < count; i++) {
        *state = *state * 1103515245u + 12345u;
        const char *f = fragments[(*state >> 16) % (uint32_t)n_frag];
        if (strlen(out) + strlen(f) + 1 < cap)
            strcat(out, f);
    }
}

static void test_against_naive(const struct tokenizer *t)
{
    group_begin("tok512 vs naive encoder, round trips");
    uint32_t state = 2024;
    int mismatches = 0, bad_roundtrips = 0, bad_ids = 0, errors = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char text[512];
        random_text(&state, text, sizeof text);
        int got[1024], want[1024];
        int n = tokenizer_encode(t, text, 0, got, 1024);
        if (n < 0) {
            errors++;
            continue;
        }
        int n_want = naive_encode(t, text, want);
        if (!same_tokens(got, n, want, n_want) && mismatches++ < 3)
            fprintf(stderr, "  mismatch on \"%s\"\n", text);
        for (int i = 0; i < n; i++)
            bad_ids += got[i] < 0 || got[i] >= t->vocab_size || got[i] == 1 || got[i] == 2;
        /* decoding after BOS drops the dummy-prefix space */
        char *back = decode_all(t, got, n);
        bad_roundtrips += strcmp(back, text) != 0;
        free(back);
    }
    CHECK(errors == 0, "%d texts failed to encode: %s", errors, ryot_last_error());
    CHECK(mismatches == 0, "%d texts encode differently from the naive encoder", mismatches);
    CHECK(bad_ids == 0, "%d tokens out of range or special", bad_ids);
    CHECK(bad_roundtrips == 0, "%d texts do not survive encode + decode", bad_roundtrips);

    /* a long text: the merge loop must stay fast and agree */
    size_t len = 200000;
    char *big = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        big[i] = "Once upon a time Lily and Tim played.\n"[i % 38];
    big[len] = '\0';
    int *tokens = malloc((len + 2) * sizeof *tokens);
    int n = tokenizer_encode(t, big, TOKENIZE_BOS, tokens, (int)len + 2);
    CHECK(n > 0, "long text: %s", ryot_last_error());
    char *back = n > 0 ? decode_all(t, tokens + 1, n - 1) : NULL;
    CHECK(back && strcmp(back, big) == 0, "long text round trip");
    free(back);
    free(tokens);
    free(big);
    group_end();
}

static void test_invalid_utf8(const struct tokenizer *t)
{
    group_begin("invalid UTF-8 rejected");
    static const struct { const char *text; int offset; const char *why; } bad[] = {
        {"\xc0\x80", 0, "overlong"},           {"ab\xc1\xbf", 2, "overlong"},
        {"\xe0\x80\x80", 0, "overlong"},       {"\xe0\x9f\xbf", 0, "overlong"},
        {"\xf0\x80\x80\x80", 0, "overlong"},   {"\xf0\x8f\xbf\xbf", 0, "overlong"},
        {"\x80", 0, "continuation"},           {"a\xbf" "b", 1, "continuation"},
        {"\xe2\x82", 0, "truncated"},          {"\xe2\x82" "a", 0, "truncated"},
        {"x\xf0\x9f\xa6", 1, "truncated"},     {"\xc3", 0, "truncated"},
        {"\xed\xa0\x80", 0, "surrogate"},      {"\xed\xbf\xbf", 0, "surrogate"},
        {"\xf4\x90\x80\x80", 0, "U+10FFFF"},   {"\xf5\x80\x80\x80", 0, "never appears"},
        {"\xff", 0, "never appears"},          {"\xfe", 0, "never appears"},
    };
    int tok[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = tokenizer_encode(t, bad[i].text, TOKENIZE_BOS, tok, 16);
        const char *msg = ryot_last_error();
        char at[32];
        /* offsets count from the start of the caller's text, not the
         * internal copy with the dummy-prefix space */
        snprintf(at, sizeof at, "at byte %d", bad[i].offset);
        CHECK(n == -1 && contains(msg, "invalid UTF-8") && contains(msg, bad[i].why)
                  && contains(msg, at),
              "case %zu: n=%d, message: %s", i, n, msg);
    }
    static const char *good[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
        "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int n = tokenizer_encode(t, good[i], 0, tok, 16);
        CHECK(n > 1 && tok[0] == 410, "valid edge case %zu accepted: %s", i, ryot_last_error());
    }
    group_end();
}

/* A hand-made vocabulary, filled the way tokenizer_from_gguf fills one. */
static void make_tokenizer(struct tokenizer *t, const char *const *pieces, const float *scores,
                           int n)
{
    memset(t, 0, sizeof *t);
    t->vocab_size = n;
    t->vocab = malloc((size_t)n * sizeof *t->vocab);
    t->scores = malloc((size_t)n * sizeof *t->scores);
    for (int i = 0; i < n; i++) {
        t->vocab[i] = strdup(pieces[i]);
        t->scores[i] = scores[i];
    }
    t->bos = 1;
    t->eos = 2;
    t->eot = -1;
    if (tokenizer_build_index(t) != 0)
        fprintf(stderr, "tokenizer_build_index: %s\n", ryot_last_error());
}

static void test_custom_vocab(void)
{
    group_begin("hand-made vocabularies");
    static const char *const pieces[] = {"<unk>", "<s>", "</s>", " ", "a", "b", "ab", "ba",
                                         " a", "<0x61>", "<0x20>", "x", "<s", ">"};
    static const float scores[] = {0, 0, 0, -10, -10, -10, -1, -1, -5, 0, 0, -10, 5, 5};
    struct tokenizer t;
    make_tokenizer(&t, pieces, scores, 14);
    CHECK(t.byte_token['a'] == 9 && t.byte_token[' '] == 10 && t.byte_token['b'] == -1,
          "byte tokens found by name");
    /* "ab" and "ba" tie: the leftmost pair merges first */
    ENCODES_TO(&t, "bab", 3, 7, 5);
    ENCODES_TO(&t, "aba", 3, 6, 4);
    /* a piece spelled like BOS is never produced from text... */
    ENCODES_TO(&t, "x<s>", 3, 11, 12, 13);
    /* ...unless asked for; text after it gets the dummy prefix again */
    int got[8];
    int n_got = tokenizer_encode(&t, "x<s>a", TOKENIZE_SPECIAL, got, 8);
    CHECK(n_got == 4 && got[0] == 3 && got[1] == 11 && got[2] == 1 && got[3] == 8,
          "\"x<s>a\" with special tokens -> ' ' x BOS ' a' (%d tokens)", n_got);
    int tok[8];
    CHECK(tokenizer_encode(&t, "c", 0, tok, 8) == -1
              && contains(ryot_last_error(), "no <0x63> piece"),
          "missing byte piece: %s", ryot_last_error());
    tokenizer_free(&t);

    /* duplicate pieces: the lowest id wins */
    static const char *const dup[] = {"<unk>", "<s>", "</s>", " q", " q", " ", "q"};
    static const float dup_scores[] = {0, 0, 0, -1, -1, -3, -3};
    make_tokenizer(&t, dup, dup_scores, 7);
    ENCODES_TO(&t, "q", 3);
    tokenizer_free(&t);
    group_end();
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

/* A tokenizer.bin image: header then (score, len, bytes) records. */
struct image { unsigned char data[256]; size_t size; };

static void put(struct image *im, const void *p, size_t n)
{
    memcpy(im->data + im->size, p, n);
    im->size += n;
}

static void put_token(struct image *im, float score, int32_t len, const char *bytes)
{
    put(im, &score, 4);
    put(im, &len, 4);
    put(im, bytes, strlen(bytes));
}

static struct image small_image(int32_t max_len)
{
    struct image im = {{0}, 0};
    put(&im, &max_len, 4);
    put_token(&im, 0, 5, "<unk>");
    put_token(&im, 0, 3, "<s>");
    put_token(&im, 0, 4, "</s>");
    put_token(&im, -1, 2, "ab");
    return im;
}

static void expect_load_error(const char *path, int vocab_size, const char *fragment,
                              const char *what)
{
    struct tokenizer t;
    memset(&t, 0x5a, sizeof t);
    int rc = tokenizer_load(&t, path, vocab_size);
    const char *msg = ryot_last_error();
    CHECK(rc == -1, "%s: loaded", what);
    CHECK(contains(msg, path) && contains(msg, fragment), "%s: message '%s' lacks '%s'", what,
          msg, fragment);
    CHECK(t.vocab == NULL && t.scores == NULL && t.all.slots == NULL, "%s: nothing left", what);
    if (rc == 0)
        tokenizer_free(&t);
}

static void test_bad_files(const char *tok512)
{
    group_begin("bad tokenizer files");
    expect_load_error(tmp_path("missing.bin"), 4, "No such file", "missing");
    expect_load_error(tmp_dir, 4, "directory", "directory");
    write_file(tmp_path("empty.bin"), "", 0);
    expect_load_error(tmp_path("empty.bin"), 4, "too small", "empty");

    struct image im = small_image(5);
    write_file(tmp_path("ok.bin"), im.data, im.size);
    struct tokenizer t;
    CHECK(tokenizer_load(&t, tmp_path("ok.bin"), 4) == 0, "small image loads: %s",
          ryot_last_error());
    CHECK(t.vocab_size == 4 && strcmp(t.vocab[3], "ab") == 0, "small image content");
    tokenizer_free(&t);
    expect_load_error(tmp_path("ok.bin"), 3, "bytes left after 3 tokens", "trailing bytes");
    expect_load_error(tmp_path("ok.bin"), 5, "truncated: token 4 of 5", "one token missing");
    expect_load_error(tmp_path("ok.bin"), 2, "too small", "vocabulary of 2");
    write_file(tmp_path("cut.bin"), im.data, im.size - 1);
    expect_load_error(tmp_path("cut.bin"), 4, "truncated: token 3 needs 2 bytes", "cut piece");
    write_file(tmp_path("cut2.bin"), im.data, im.size - 4);
    expect_load_error(tmp_path("cut2.bin"), 4, "truncated: token 3 of 4", "cut record");

    struct image neg = small_image(-1);
    write_file(tmp_path("neg_max.bin"), neg.data, neg.size);
    expect_load_error(tmp_path("neg_max.bin"), 4, "max token length -1", "negative max length");
    struct image huge = small_image(1 << 30);
    write_file(tmp_path("huge_max.bin"), huge.data, huge.size);
    expect_load_error(tmp_path("huge_max.bin"), 4, "out of range", "absurd max length");
    struct image small_max = small_image(4);
    write_file(tmp_path("long_piece.bin"), small_max.data, small_max.size);
    expect_load_error(tmp_path("long_piece.bin"), 4, "token 0 has length 5", "piece too long");

    struct image bad_len = small_image(5);
    int32_t minus = -3;
    memcpy(bad_len.data + 4 + 4, &minus, 4);
    write_file(tmp_path("neg_len.bin"), bad_len.data, bad_len.size);
    expect_load_error(tmp_path("neg_len.bin"), 4, "token 0 has length -3", "negative length");

    struct image nan_score = small_image(5);
    float nan = NAN;
    memcpy(nan_score.data + 4, &nan, 4);
    write_file(tmp_path("nan.bin"), nan_score.data, nan_score.size);
    expect_load_error(tmp_path("nan.bin"), 4, "NaN score", "NaN score");

    struct image nul = small_image(5);
    nul.data[nul.size - 1] = '\0';
    write_file(tmp_path("nul.bin"), nul.data, nul.size);
    expect_load_error(tmp_path("nul.bin"), 4, "NUL byte", "NUL inside a piece");

    expect_load_error(tok512, 511, "bytes left after 511 tokens", "tok512 with vocab 511");
    expect_load_error(tok512, 513, "truncated", "tok512 with vocab 513");

    /* a FIFO with no writer: refused at once, not waited on */
    CHECK(mkfifo(tmp_path("fifo.bin"), 0600) == 0, "mkfifo failed");
    expect_load_error(tmp_path("fifo.bin"), 4, "not a regular file", "FIFO");
    group_end();
}

/* Pieces that start like "<0xXX>" but are shorter: text, not byte pieces
 * (reading them must stay inside the piece; ASan checks). */
static void test_byte_piece_prefixes(void)
{
    group_begin("pieces \"<0x\" and \"<0xA\"");
    struct image im = {{0}, 0};
    int32_t max_len = 5;
    put(&im, &max_len, 4);
    put_token(&im, 0, 5, "<unk>");
    put_token(&im, 0, 3, "<s>");
    put_token(&im, 0, 4, "</s>");
    put_token(&im, -2, 3, "<0x");
    put_token(&im, -3, 4, "<0xA");
    put_token(&im, -10, 1, " ");
    put_token(&im, -10, 1, "A");
    put_token(&im, -10, 1, "<");
    put_token(&im, -10, 1, "0");
    put_token(&im, -10, 1, "x");
    put_token(&im, -1, 2, "<0");
    write_file(tmp_path("prefixes.bin"), im.data, im.size);
    struct tokenizer t;
    int rc = tokenizer_load(&t, tmp_path("prefixes.bin"), 11);
    CHECK(rc == 0, "%s", ryot_last_error());
    if (rc == 0) {
        int none = 1;
        for (int b = 0; b < 256; b++)
            none &= t.byte_token[b] == -1;
        CHECK(none, "no byte pieces in this vocabulary");
        ENCODES_TO(&t, "<0xA", 5, 4);
        tokenizer_free(&t);
    }
    group_end();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        model_dir = argv[1];
    if (test_tmpdir_create(tmp_dir, sizeof tmp_dir, "test-tokenizer") != 0)
        return 2;
    char tok512[1024];
    snprintf(tok512, sizeof tok512, "%s/tok512.bin", model_dir);
    struct tokenizer t;
    group_begin("open tok512.bin");
    int rc = tokenizer_load(&t, tok512, 512);
    CHECK(rc == 0, "%s", ryot_last_error());
    group_end();
    if (rc == 0) {
        test_load(&t);
        test_known_encodings(&t);
        test_decode(&t);
        test_against_naive(&t);
        test_invalid_utf8(&t);
        tokenizer_free(&t);
    }
    test_custom_vocab();
    test_byte_piece_prefixes();
    test_bad_files(tok512);
    test_tmpdir_remove(tmp_dir);
    return check_summary();
}
