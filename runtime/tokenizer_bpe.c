/* Byte-level BPE (GPT-2's scheme; Llama 3, Falcon and DeepSeek use it too).
 *
 * The vocabulary spells every byte as one printable code point (GPT-2's
 * byte-to-unicode table): the bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF
 * stand for themselves, the other 68 bytes in order for U+0100..U+0143.
 * Encoding: the pre-tokenizer (pretokenize.c) splits the text; each piece
 * starts as one symbol per byte (the token of that byte's code point), and
 * adjacent symbols merge by the vocabulary's merge list, lowest rank first,
 * until no listed pair is left.  Llama 3 takes a piece that is a token as
 * it is (ignore_merges). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gguf.h"
#include "tokenizer_impl.h"

/* ---- GPT-2's byte-to-unicode table, in closed form ---- */

static bool printable_byte(uint32_t b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint32_t byte_code_point(int b)
{
    if (printable_byte((uint32_t)b))
        return (uint32_t)b;
    /* 0x00..0x20 -> U+0100..U+0120, 0x7F..0xA0 -> U+0121..U+0142, 0xAD -> U+0143 */
    return b <= 0x20 ? 0x100 + (uint32_t)b : b <= 0xA0 ? 0x121 + (uint32_t)(b - 0x7F) : 0x143;
}

/* The byte code point c spells, or -1. */
static int code_point_byte(uint32_t c)
{
    if (c < 0x100)
        return printable_byte(c) ? (int)c : -1;
    if (c <= 0x120)
        return (int)(c - 0x100);
    if (c <= 0x142)
        return (int)(c - 0x121 + 0x7F);
    return c == 0x143 ? 0xAD : -1;
}

/* The UTF-8 spelling of byte b's code point (1 or 2 bytes). */
static size_t spell_byte(int b, char *out)
{
    uint32_t c = byte_code_point(b);
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    out[0] = (char)(0xC0 | c >> 6);
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
}

void bpe_index(struct tokenizer *t)
{
    for (int b = 0; b < 256; b++) {
        char s[2];
        t->byte_token[b] = text_map_find(&t->pieces, t, s, spell_byte(b, s));
    }
}

size_t bpe_token_bytes(const struct tokenizer *t, int id, char *out)
{
    const unsigned char *s = (const unsigned char *)t->vocab[id];
    size_t len = strlen(t->vocab[id]), n = 0;
    if (t->type[id] == GGUF_TOKEN_USER_DEFINED) {  /* typed as is, not byte-spelled */
        memcpy(out, s, len);
        return len;
    }
    /* a code point outside the table (or invalid UTF-8) is copied as it is */
    for (size_t i = 0; i < len;) {
        const char *why;
        int clen = utf8_char(s + i, &why);
        int b = clen ? code_point_byte(utf8_code_point(s + i, clen)) : -1;
        if (b >= 0) {
            out[n++] = (char)b;
        } else {
            clen = clen ? clen : 1;
            memcpy(out + n, s + i, (size_t)clen);
            n += (size_t)clen;
        }
        i += (size_t)clen;
    }
    return n;
}

/* ---- merges ---- */

static uint32_t hash_pair(int32_t left, int32_t right)
{
    uint64_t k = ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) * 0x9E3779B97F4A7C15u;
    return (uint32_t)(k >> 32);
}

static struct bpe_merge *merge_slot(const struct merge_map *m, int32_t left, int32_t right)
{
    uint32_t i = hash_pair(left, right) & m->mask;
    while (m->slots[i].left >= 0 && (m->slots[i].left != left || m->slots[i].right != right))
        i = (i + 1) & m->mask;
    return &m->slots[i];
}

/* s[0..len) for a message: quoted, control bytes as '?', at most 60 bytes */
static const char *quoted(const char *s, size_t len, char *buf, size_t size)
{
    size_t n = len < 60 ? len : 60, o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < n && o + 5 < size; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? '?' : s[i];
    if (n < len)
        o += (size_t)snprintf(buf + o, size - o, "...");
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

int bpe_load_merges(struct tokenizer *t, const char *path, const char *const *merges, int n)
{
    if (n > 1 << 24)  /* ranks must stay exact as merge keys (float) */
        return ryot_fail("%s: tokenizer.ggml.merges has %d entries, more than %d", path, n, 1 << 24);
    uint32_t cap = 16;
    while (cap < 2u * (uint32_t)n)
        cap *= 2;
    free(t->merges.slots);
    if (!(t->merges.slots = malloc(cap * sizeof *t->merges.slots)))
        return ryot_fail("%s: out of memory for %d merges", path, n);
    t->merges.mask = cap - 1;
    memset(t->merges.slots, 0xff, cap * sizeof *t->merges.slots);
    char *joined = NULL;
    size_t joined_cap = 0;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *m = merges[i], *space = m[0] ? strchr(m + 1, ' ') : NULL;
        size_t len = strlen(m), left_len = space ? (size_t)(space - m) : 0;
        char q[80], q2[80];
        if (!space || space[1] == '\0') {
            rc = ryot_fail("%s: tokenizer.ggml.merges[%d] %s is not two tokens separated by a space",
                           path, i, quoted(m, len, q, sizeof q));
            break;
        }
        int left = text_map_find(&t->pieces, t, m, left_len);
        int right = text_map_find(&t->pieces, t, space + 1, len - left_len - 1);
        if (left < 0 || right < 0) {
            const char *bad = left < 0 ? m : space + 1;
            rc = ryot_fail("%s: tokenizer.ggml.merges[%d] %s names %s, which is not a normal token "
                           "of the vocabulary", path, i, quoted(m, len, q, sizeof q),
                           quoted(bad, left < 0 ? left_len : len - left_len - 1, q2, sizeof q2));
            break;
        }
        if (len > joined_cap) {
            free(joined);
            if (!(joined = malloc(joined_cap = 2 * len))) {
                rc = ryot_fail("%s: out of memory for merges", path);
                break;
            }
        }
        memcpy(joined, m, left_len);
        memcpy(joined + left_len, space + 1, len - left_len - 1);
        int result = text_map_find(&t->pieces, t, joined, len - 1);
        if (result < 0) {
            rc = ryot_fail("%s: tokenizer.ggml.merges[%d] %s makes %s, which is not a normal token "
                           "of the vocabulary", path, i, quoted(m, len, q, sizeof q),
                           quoted(joined, len - 1, q2, sizeof q2));
            break;
        }
        struct bpe_merge *slot = merge_slot(&t->merges, left, right);
        if (slot->left < 0)  /* a repeated pair keeps its first rank */
            *slot = (struct bpe_merge){left, right, i, result};
    }
    free(joined);
    return rc;
}

/* ---- encoding ---- */

static bool bpe_pair(const struct tokenizer *t, const char *text, const struct symbol *l,
                     const struct symbol *r, float *key, int *id)
{
    (void)text;
    const struct bpe_merge *m = merge_slot(&t->merges, l->id, r->id);
    if (m->left < 0)
        return false;
    *key = (float)m->rank;
    *id = m->result;
    return true;
}

/* One pre-token, bytes[0..len); sym, heap and spelled have room for it. */
static int encode_piece(const struct tokenizer *t, const unsigned char *bytes, int len,
                        struct symbol *sym, struct candidate *heap, char *spelled, struct token_out *out)
{
    if (t->ignore_merges) {
        size_t n = 0;
        for (int k = 0; k < len; k++)
            n += spell_byte(bytes[k], spelled + n);
        int id = text_map_find(&t->pieces, t, spelled, n);
        if (id >= 0)
            return token_out_put(out, id);
    }
    for (int k = 0; k < len; k++) {
        int id = t->byte_token[bytes[k]];
        if (id < 0)
            return ryot_fail("tokenizer: cannot encode byte 0x%02X: the vocabulary has no token for it",
                             bytes[k]);
        sym[k] = (struct symbol){k, 1, k - 1, k + 1, id};
    }
    sym[len - 1].next = -1;
    merge_symbols(t, NULL, sym, len, heap, bpe_pair);
    int rc = 0;
    for (int i = 0; rc == 0 && i >= 0; i = sym[i].next)
        rc = token_out_put(out, sym[i].id);
    return rc;
}

int bpe_encode(const struct tokenizer *t, const char *text, size_t len, struct token_out *out)
{
    uint32_t *cp = malloc(len * sizeof *cp);
    int *at = malloc((len + 1) * sizeof *at);  /* byte offset of each code point */
    int *ends = malloc(len * sizeof *ends);
    struct symbol *sym = malloc(len * sizeof *sym);
    struct candidate *heap = malloc(3 * len * sizeof *heap);
    char *spelled = malloc(2 * len);
    int rc = 0;
    if (!cp || !at || !ends || !sym || !heap || !spelled)
        rc = ryot_fail("tokenizer: out of memory encoding %zu bytes", len);
    int n = 0;
    for (size_t i = 0; rc == 0 && i < len; n++) {
        const char *why;
        int clen = utf8_char((const unsigned char *)text + i, &why);  /* validated */
        cp[n] = utf8_code_point((const unsigned char *)text + i, clen);
        at[n] = (int)i;
        i += (size_t)clen;
    }
    int count = rc == 0 ? pretokenize(t->pre, cp, n, ends) : -1;
    if (count < 0)
        rc = -1;
    else
        at[n] = (int)len;
    for (int k = 0, start = 0; rc == 0 && k < count; start = ends[k++])
        rc = encode_piece(t, (const unsigned char *)text + at[start], at[ends[k]] - at[start], sym, heap,
                          spelled, out);
    free(cp);
    free(at);
    free(ends);
    free(sym);
    free(heap);
    free(spelled);
    return rc;
}
