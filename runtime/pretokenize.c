/* Pre-tokenizers: llama.cpp's split rules per tokenizer.ggml.pre value.
 *
 * llama.cpp states each rule as a list of regular expressions applied one
 * after another: each expression splits every piece the previous ones left
 * into its matches and the text between matches, all kept as pieces.  No
 * regex engine here: each expression is a small matcher over code points,
 * of one of two kinds:
 *  - a splitter walks a piece from its start and says how long the next
 *    sub-piece is.  GPT-2's and Llama 3's expressions (which llama.cpp also
 *    runs as hand-written code) end with catch-all alternatives, so every
 *    code point lands in some match;
 *  - a finder returns the leftmost match at or after a position, as a regex
 *    search does; the text between matches becomes pieces of its own.
 * \p{L}, \p{N}, \p{P} and \s (White_Space) come from the generated Unicode
 * table (unicode.h).  llama.cpp matches the expressions that spell code
 * points out (DeepSeek's) against text whose non-ASCII whitespace it has
 * replaced by U+000B, so there a whitespace code point is only ever \s,
 * even inside a listed range. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pretokenize.h"
#include "unicode.h"

const char pretokenizer_names[] =
    "default, gpt-2, llama3, llama-v3, llama-bpe, falcon3, deepseek-llm, falcon";

int pretokenizer_from_name(const char *name)
{
    static const struct { const char *name; enum pretokenizer pre; } names[] = {
        { "default", PRE_DEFAULT },     { "gpt-2", PRE_GPT2 },
        { "llama3", PRE_LLAMA3 },       { "llama-v3", PRE_LLAMA3 },
        { "llama-bpe", PRE_LLAMA3 },    { "falcon3", PRE_LLAMA3 },
        { "deepseek-llm", PRE_DEEPSEEK_LLM }, { "falcon", PRE_FALCON },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name))
            return (int)names[i].pre;
    return -1;
}

/* The piece being split: code points and their unicode_flags, up to `end`. */
struct text {
    const uint32_t *cp;
    const uint8_t *fl;
    int end;
};

static uint32_t cp_at(const struct text *t, int i)
{
    return i < t->end ? t->cp[i] : UINT32_MAX;
}

static unsigned fl_at(const struct text *t, int i)
{
    return i < t->end ? t->fl[i] : 0;
}

static bool is_space(const struct text *t, int i) { return fl_at(t, i) & UNICODE_SPACE; }
static bool is_letter(const struct text *t, int i) { return fl_at(t, i) & UNICODE_LETTER; }
static bool is_number(const struct text *t, int i) { return fl_at(t, i) & UNICODE_NUMBER; }
static bool is_newline(const struct text *t, int i) { return cp_at(t, i) == '\r' || cp_at(t, i) == '\n'; }

/* [^\s\p{L}\p{N}]: anything else, inside the piece */
static bool is_other(const struct text *t, int i)
{
    return i < t->end && !(t->fl[i] & (UNICODE_SPACE | UNICODE_LETTER | UNICODE_NUMBER));
}

static bool in_ranges(uint32_t c, const uint32_t (*ranges)[2], size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (c >= ranges[k][0] && c <= ranges[k][1])
            return true;
    return false;
}

/* ---- GPT-2 and Llama 3: splitters ---- */

/* 's 't 're 've 'm 'll 'd (in any ASCII case when `any_case`; no other code
 * point lowercases to these letters): the length matched at i, or 0. */
static int contraction(const struct text *t, int i, bool any_case)
{
    if (cp_at(t, i) != '\'' || i + 1 >= t->end)
        return 0;
    uint32_t a = cp_at(t, i + 1), b = cp_at(t, i + 2);
    if (any_case) {
        a = a >= 'A' && a <= 'Z' ? a + 32 : a;
        b = b >= 'A' && b <= 'Z' ? b + 32 : b;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

/* Length of the run at i of code points with the same one of the classes
 * letter, number, other; 0 at whitespace or the end. */
static int class_run(const struct text *t, int i)
{
    bool (*same)(const struct text *, int) = is_letter(t, i) ? is_letter
                                             : is_number(t, i) ? is_number
                                             : is_other(t, i) ? is_other : NULL;
    int j = i;
    while (same && same(t, j))
        j++;
    return j - i;
}

/* \s+(?!\S)|\s+ at i: a whitespace run followed by more text leaves its last
 * space to start the next piece. */
static int space_run(const struct text *t, int i)
{
    int n = 0;
    while (is_space(t, i + n))
        n++;
    return n > 1 && i + n < t->end ? n - 1 : n;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static int gpt2_piece(const struct text *t, int i)
{
    int n = contraction(t, i, false);
    if (n)
        return n;
    int space = cp_at(t, i) == ' ';
    if ((n = class_run(t, i + space)))
        return space + n;
    n = space_run(t, i);
    return n ? n : 1;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
static int llama3_piece(const struct text *t, int i)
{
    int n = contraction(t, i, true);
    if (n)
        return n;
    if (!is_newline(t, i) && !is_number(t, i) && (is_letter(t, i) || is_letter(t, i + 1))) {
        int j = i + 1;
        while (is_letter(t, j))
            j++;
        return j - i;
    }
    if (is_number(t, i)) {
        while (n < 3 && is_number(t, i + n))
            n++;
        return n;
    }
    int j = i + (cp_at(t, i) == ' ');
    if (is_other(t, j)) {
        while (is_other(t, j))
            j++;
        while (is_newline(t, j))
            j++;
        return j - i;
    }
    /* \s*[\r\n]+: the whitespace run up to its last newline */
    int after_newline = 0;
    for (n = 0; is_space(t, i + n); n++)
        if (is_newline(t, i + n))
            after_newline = n + 1;
    if (after_newline)
        return after_newline;
    n = space_run(t, i);
    return n ? n : 1;
}

/* ---- finders: the leftmost match in [from, t->end) ---- */

/* `in`+, optionally after one whitespace code point (\s?X+). */
static bool find_run(const struct text *t, int from, bool (*in)(const struct text *, int),
                     bool lead_space, int *start, int *end)
{
    for (int i = from; i < t->end; i++) {
        int j = lead_space && is_space(t, i) && in(t, i + 1) ? i + 1 : i;
        if (!in(t, j))
            continue;
        while (in(t, j))
            j++;
        *start = i;
        *end = j;
        return true;
    }
    return false;
}

static bool is_punct_or(const struct text *t, int i, const char *ascii)
{
    uint32_t c = cp_at(t, i);
    return (fl_at(t, i) & UNICODE_PUNCT) || (c != 0 && c < 128 && strchr(ascii, (int)c));
}

/* [\p{P}$+<=>^~|`]: falcon's punctuation and ASCII symbols */
static bool is_falcon_punct(const struct text *t, int i)
{
    return is_punct_or(t, i, "$+<=>^~|`");
}

/* [\p{P}$+<=>^~|]: the same without the backquote */
static bool is_default_punct(const struct text *t, int i)
{
    return is_punct_or(t, i, "$+<=>^~|");
}

/* DeepSeek LLM's letters: the cased letters its tokenizer lists */
static bool is_deepseek_letter(const struct text *t, int i)
{
    static const uint32_t ranges[][2] = {
        {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00B5, 0x00B5}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6},
        {0x00F8, 0x01BA}, {0x01BC, 0x01BF}, {0x01C4, 0x0293}, {0x0295, 0x02AF}, {0x0370, 0x0373},
        {0x0376, 0x0377}, {0x037B, 0x037D}, {0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A},
        {0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5}, {0x03F7, 0x0481}, {0x048A, 0x052F},
        {0x0531, 0x0556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
        {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
        {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
        {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC},
        {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB},
        {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107},
        {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
        {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
        {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4},
        {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F},
        {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
        {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
        {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF},
        {0x1E900, 0x1E943},
    };
    return i < t->end && !is_space(t, i) && in_ranges(t->cp[i], ranges, sizeof ranges / sizeof ranges[0]);
}

/* DeepSeek LLM's punctuation: ASCII and full-width punctuation and symbols,
 * curly quotes, and U+3000..U+3002 (of which U+3000 is whitespace) */
static bool is_deepseek_punct(const struct text *t, int i)
{
    static const uint32_t ranges[][2] = {
        {0x21, 0x2F}, {0x3A, 0x7E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002},
    };
    return i < t->end && !is_space(t, i) && in_ranges(t->cp[i], ranges, sizeof ranges / sizeof ranges[0]);
}

/* DeepSeek LLM's CJK block: U+0800..U+9FA5 and U+AC00..U+D7FF, as its
 * tokenizer writes them (whitespace inside excepted, see the top) */
static bool is_deepseek_cjk(const struct text *t, int i)
{
    static const uint32_t ranges[][2] = { {0x0800, 0x9FA5}, {0xAC00, 0xD7FF} };
    return i < t->end && !is_space(t, i) && in_ranges(t->cp[i], ranges, 2);
}

static bool find_falcon_punct(const struct text *t, int from, int *s, int *e)
{
    return find_run(t, from, is_falcon_punct, false, s, e);
}

static bool find_default_punct(const struct text *t, int from, int *s, int *e)
{
    return find_run(t, from, is_default_punct, false, s, e);
}

/* \p{N}+ */
static bool find_numbers(const struct text *t, int from, int *s, int *e)
{
    return find_run(t, from, is_number, false, s, e);
}

/* \s?[DeepSeek letters]+ */
static bool find_deepseek_letters(const struct text *t, int from, int *s, int *e)
{
    return find_run(t, from, is_deepseek_letter, true, s, e);
}

/* \s?[DeepSeek punctuation]+ */
static bool find_deepseek_punct(const struct text *t, int from, int *s, int *e)
{
    return find_run(t, from, is_deepseek_punct, true, s, e);
}

/* [DeepSeek CJK]+ */
static bool find_deepseek_cjk(const struct text *t, int from, int *s, int *e)
{
    return find_run(t, from, is_deepseek_cjk, false, s, e);
}

/* [\r\n]: each newline character alone */
static bool find_newline(const struct text *t, int from, int *s, int *e)
{
    for (int i = from; i < t->end; i++) {
        if (is_newline(t, i)) {
            *s = i;
            *e = i + 1;
            return true;
        }
    }
    return false;
}

/* \s+$: the whitespace that ends the piece */
static bool find_trailing_space(const struct text *t, int from, int *s, int *e)
{
    int i = t->end;
    while (i > from && is_space(t, i - 1))
        i--;
    *s = i;
    *e = t->end;
    return i < t->end;
}

/* [0-9][0-9][0-9] */
static bool find_three_digits(const struct text *t, int from, int *s, int *e)
{
    for (int i = from, run = 0; i < t->end; i++) {
        run = t->cp[i] >= '0' && t->cp[i] <= '9' ? run + 1 : 0;
        if (run == 3) {
            *s = i - 2;
            *e = i + 1;
            return true;
        }
    }
    return false;
}

/* ---- the rules ---- */

/* One expression: a splitter or a finder. */
struct expr {
    int (*split)(const struct text *t, int i);
    bool (*find)(const struct text *t, int from, int *start, int *end);
};

static const struct expr gpt2_rules[] = { { gpt2_piece, NULL } };
static const struct expr llama3_rules[] = { { llama3_piece, NULL } };
static const struct expr falcon_rules[] = {
    { NULL, find_falcon_punct }, { gpt2_piece, NULL }, { NULL, find_three_digits },
};
static const struct expr default_rules[] = {
    { NULL, find_default_punct }, { gpt2_piece, NULL }, { NULL, find_numbers }, { NULL, find_three_digits },
};
static const struct expr deepseek_rules[] = {
    { NULL, find_newline }, { NULL, find_deepseek_letters }, { NULL, find_deepseek_punct },
    { NULL, find_trailing_space }, { NULL, find_deepseek_cjk }, { NULL, find_numbers },
};

#define RULES(list) { list, (int)(sizeof list / sizeof list[0]) }
static const struct { const struct expr *list; int n; } rules[] = {
    [PRE_DEFAULT] = RULES(default_rules),
    [PRE_GPT2] = RULES(gpt2_rules),
    [PRE_LLAMA3] = RULES(llama3_rules),
    [PRE_DEEPSEEK_LLM] = RULES(deepseek_rules),
    [PRE_FALCON] = RULES(falcon_rules),
};

/* Split the piece [start, t->end) by `e`, appending piece ends to out[*n]. */
static void split_piece(const struct text *t, int start, const struct expr *e, int *out, int *n)
{
    int i = start, ms, me;
    if (e->split) {
        while (i < t->end) {
            i += e->split(t, i);
            out[(*n)++] = i;
        }
        return;
    }
    while (i < t->end && e->find(t, i, &ms, &me)) {
        if (ms > i)
            out[(*n)++] = ms;
        out[(*n)++] = i = me;
    }
    if (i < t->end)
        out[(*n)++] = t->end;
}

int pretokenize(enum pretokenizer pre, const uint32_t *cp, int n, int *ends)
{
    if (n == 0)
        return 0;
    uint8_t *fl = malloc((size_t)n);
    int *next = malloc((size_t)n * sizeof *next);
    if (!fl || !next) {
        free(fl);
        free(next);
        return ryot_fail("tokenizer: out of memory splitting %d code points", n);
    }
    for (int i = 0; i < n; i++)
        fl[i] = (uint8_t)unicode_flags(cp[i]);
    int count = 1;
    ends[0] = n;
    for (int r = 0; r < rules[pre].n; r++) {
        int m = 0;
        for (int k = 0, start = 0; k < count; start = ends[k++]) {
            struct text t = { cp, fl, ends[k] };
            split_piece(&t, start, &rules[pre].list[r], next, &m);
        }
        memcpy(ends, next, (size_t)m * sizeof *ends);
        count = m;
    }
    free(fl);
    free(next);
    return count;
}
