/* SentencePiece-style BPE over a scored vocabulary (llama2.c tokenizer.bin
 * or a GGUF "llama" vocabulary).
 *
 * Encoding: prepend the dummy-prefix space, split the text into UTF-8
 * characters, then repeatedly merge the adjacent pair whose concatenation is
 * a vocabulary piece with the highest score (leftmost on ties).  Symbols that
 * are not pieces at the end fall back to <0xXX> byte tokens. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "tokenizer.h"

/* Guards against absurd headers; real vocabularies have pieces of < 100 bytes. */
#define MAX_PIECE_BYTES 65536
#define MAX_TOKENIZER_FILE_BYTES (1u << 30)

/* Is `s` exactly "<0xXX>"?  Stores the byte in *byte. */
static bool parse_byte_piece(const char *s, int *byte)
{
    /* strlen first: a shorter piece such as "<0x" ends before s[5] */
    if (strlen(s) != 6 || strncmp(s, "<0x", 3) != 0 || s[5] != '>')
        return false;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + d;
    }
    *byte = v;
    return true;
}

struct sort_entry { const char *s; int id; };

static int compare_entries(const void *a, const void *b)
{
    const struct sort_entry *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

int tokenizer_build_index(struct tokenizer *t)
{
    for (int b = 0; b < 256; b++) {
        t->byte_pieces[2 * b] = (unsigned char)b;
        t->byte_pieces[2 * b + 1] = '\0';
        t->byte_token[b] = -1;
    }
    for (int id = 0; id < t->vocab_size; id++) {
        int b;
        if (parse_byte_piece(t->vocab[id], &b) && t->byte_token[b] < 0)
            t->byte_token[b] = id;
    }
    struct sort_entry *entries = malloc((size_t)t->vocab_size * sizeof *entries);
    free(t->sorted);
    t->sorted = malloc((size_t)t->vocab_size * sizeof *t->sorted);
    if (!entries || !t->sorted) {
        free(entries);
        return ryot_fail("tokenizer: out of memory indexing %d tokens", t->vocab_size);
    }
    for (int id = 0; id < t->vocab_size; id++)
        entries[id] = (struct sort_entry){t->vocab[id], id};
    qsort(entries, (size_t)t->vocab_size, sizeof *entries, compare_entries);
    for (int i = 0; i < t->vocab_size; i++)
        t->sorted[i] = entries[i].id;
    free(entries);
    return 0;
}

void tokenizer_free(struct tokenizer *t)
{
    if (t->vocab)
        for (int i = 0; i < t->vocab_size; i++)
            free(t->vocab[i]);
    free(t->vocab);
    free(t->scores);
    free(t->sorted);
    memset(t, 0, sizeof *t);
}

/* Reads the whole file (a tokenizer is a few MB at most).  O_NONBLOCK: a
 * FIFO without a writer must be refused, not waited on. */
static unsigned char *read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ryot_fail("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    unsigned char *buf = NULL;
    if (fstat(fd, &st) != 0)
        ryot_fail("%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        ryot_fail("%s: is a directory, not a tokenizer file", path);
    else if (!S_ISREG(st.st_mode))
        ryot_fail("%s: not a regular file", path);
    else if (st.st_size > (off_t)MAX_TOKENIZER_FILE_BYTES)
        ryot_fail("%s: %lld bytes is more than a tokenizer file's maximum of %u", path,
                  (long long)st.st_size, MAX_TOKENIZER_FILE_BYTES);
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        ryot_fail("%s: out of memory reading %lld bytes", path, (long long)st.st_size);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            ryot_fail("%s: read error: %s", path, n < 0 ? strerror(errno) : "file shrank while reading");
            free(buf);
            buf = NULL;
        } else {
            got += (size_t)n;
        }
    }
    close(fd);
    if (buf)
        *size = (size_t)st.st_size;
    return buf;
}

static int parse_tokenizer_bin(struct tokenizer *t, const char *path, const unsigned char *buf,
                               size_t size, int vocab_size)
{
    size_t pos = 0;
    int32_t max_len;
    if (size < sizeof max_len)
        return ryot_fail("%s: %zu bytes is too small for a llama2.c tokenizer header", path, size);
    memcpy(&max_len, buf, sizeof max_len);
    pos += sizeof max_len;
    if (max_len <= 0 || max_len > MAX_PIECE_BYTES)
        return ryot_fail("%s: max token length %d is out of range (1..%d)", path, (int)max_len,
                         MAX_PIECE_BYTES);

    t->vocab_size = vocab_size;
    t->vocab = calloc((size_t)vocab_size, sizeof *t->vocab);
    t->scores = malloc((size_t)vocab_size * sizeof *t->scores);
    if (!t->vocab || !t->scores)
        return ryot_fail("%s: out of memory for %d tokens", path, vocab_size);
    for (int id = 0; id < vocab_size; id++) {
        float score;
        int32_t len;
        if (size - pos < sizeof score + sizeof len)
            return ryot_fail("%s: truncated: token %d of %d missing (file ends at byte %zu)",
                             path, id, vocab_size, size);
        memcpy(&score, buf + pos, sizeof score);
        memcpy(&len, buf + pos + sizeof score, sizeof len);
        pos += sizeof score + sizeof len;
        if (len < 0 || len > max_len)
            return ryot_fail("%s: token %d has length %d (the file's maximum is %d)", path, id,
                             (int)len, (int)max_len);
        if (isnan(score))
            return ryot_fail("%s: token %d has a NaN score", path, id);
        if (size - pos < (size_t)len)
            return ryot_fail("%s: truncated: token %d needs %d bytes at offset %zu, file has %zu",
                             path, id, (int)len, pos, size);
        if (memchr(buf + pos, '\0', (size_t)len))
            return ryot_fail("%s: token %d contains a NUL byte", path, id);
        if (!(t->vocab[id] = malloc((size_t)len + 1)))
            return ryot_fail("%s: out of memory", path);
        memcpy(t->vocab[id], buf + pos, (size_t)len);
        t->vocab[id][len] = '\0';
        t->scores[id] = score;
        pos += (size_t)len;
    }
    if (pos != size)
        return ryot_fail("%s: %zu bytes left after %d tokens: the file holds more tokens "
                         "than the model's vocabulary", path, size - pos, vocab_size);
    return 0;
}

int tokenizer_load(struct tokenizer *t, const char *path, int vocab_size)
{
    memset(t, 0, sizeof *t);
    /* llama2.c vocabularies: 0 <unk>, 1 BOS, 2 EOS */
    if (vocab_size < 3)
        return ryot_fail("%s: vocabulary size %d is too small (needs <unk>, BOS, EOS)", path,
                         vocab_size);
    size_t size;
    unsigned char *buf = read_file(path, &size);
    if (!buf)
        return -1;
    int rc = parse_tokenizer_bin(t, path, buf, size, vocab_size);
    free(buf);
    t->bos = 1;
    t->eos = 2;
    if (rc == 0)
        rc = tokenizer_build_index(t);
    if (rc != 0)
        tokenizer_free(t);
    return rc;
}

/* Length of the valid UTF-8 character at s (NUL-terminated), or 0 with *why
 * set. */
static int utf8_char(const unsigned char *s, const char **why)
{
    unsigned char c = s[0];
    int n;
    unsigned char lo = 0x80, hi = 0xBF;  /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c < 0xC0) {
        *why = "unexpected continuation byte";
        return 0;
    }
    if (c < 0xC2) {
        *why = "overlong encoding";
        return 0;
    }
    if (c < 0xE0) {
        n = 2;
    } else if (c < 0xF0) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;  /* below: overlong */
        if (c == 0xED)
            hi = 0x9F;  /* above: UTF-16 surrogate */
    } else if (c < 0xF5) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;  /* below: overlong */
        if (c == 0xF4)
            hi = 0x8F;  /* above: beyond U+10FFFF */
    } else {
        *why = "byte that never appears in UTF-8";
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            *why = "truncated multi-byte sequence";
            return 0;
        }
    }
    if (s[1] < lo || s[1] > hi) {
        *why = c == 0xED ? "UTF-16 surrogate" : c == 0xF4 ? "code point beyond U+10FFFF"
                                                          : "overlong encoding";
        return 0;
    }
    return n;
}

/* Compare the span s[0..len) with the NUL-terminated piece p, bytewise like
 * strcmp (the order `sorted` is built in). */
static int compare_span(const char *s, size_t len, const char *p)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\0')
            return 1;
        if (s[i] != p[i])
            return (unsigned char)s[i] < (unsigned char)p[i] ? -1 : 1;
    }
    return p[len] == '\0' ? 0 : -1;
}

/* BOS, EOS and byte-fallback pieces stand for something other than their
 * text, so text never merges into them. */
static bool mergeable(const struct tokenizer *t, int id)
{
    int b;
    if (id == t->bos || id == t->eos)
        return false;
    return !(parse_byte_piece(t->vocab[id], &b) && t->byte_token[b] == id);
}

/* Id of the piece spelled s[0..len), or -1.  Lowest id among duplicates. */
static int lookup(const struct tokenizer *t, const char *s, size_t len)
{
    int lo = 0, hi = t->vocab_size;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (compare_span(s, len, t->vocab[t->sorted[mid]]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < t->vocab_size && compare_span(s, len, t->vocab[t->sorted[lo]]) == 0; lo++)
        if (mergeable(t, t->sorted[lo]))
            return t->sorted[lo];
    return -1;
}

/* A symbol is a span of the text; merging absorbs the right symbol into the
 * left one, so a symbol's start never moves and index order is text order. */
struct symbol {
    int start, len;  /* len 0: merged away */
    int prev, next;  /* live neighbours, -1 at the ends */
    int id;          /* piece id of the span, or -1 */
};

/* A candidate merge of `left` with the symbol after it; stale once either
 * symbol has changed, which `len` (the pair's length when pushed) detects. */
struct candidate {
    float score;
    int left, right, len, id;
};

static bool before(const struct candidate *a, const struct candidate *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

struct heap {
    struct candidate *items;
    int n;
};

static void heap_push(struct heap *h, struct candidate c)
{
    int i = h->n++;
    while (i > 0 && before(&c, &h->items[(i - 1) / 2])) {
        h->items[i] = h->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->items[i] = c;
}

static struct candidate heap_pop(struct heap *h)
{
    struct candidate top = h->items[0], last = h->items[--h->n];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= h->n)
            break;
        if (child + 1 < h->n && before(&h->items[child + 1], &h->items[child]))
            child++;
        if (!before(&h->items[child], &last))
            break;
        h->items[i] = h->items[child];
        i = child;
    }
    h->items[i] = last;
    return top;
}

static void push_pair(const struct tokenizer *t, const char *text, const struct symbol *sym,
                      int left, struct heap *h)
{
    if (left < 0 || sym[left].next < 0)
        return;
    int right = sym[left].next;
    int len = sym[left].len + sym[right].len;
    int id = lookup(t, text + sym[left].start, (size_t)len);
    if (id >= 0)
        heap_push(h, (struct candidate){t->scores[id], left, right, len, id});
}

/* Merge `text` into symbols; returns the symbol array (n entries). */
static struct symbol *merge_symbols(const struct tokenizer *t, const char *text, int *n_out)
{
    size_t len = strlen(text);
    struct symbol *sym = malloc((len + 1) * sizeof *sym);
    struct heap h = {malloc((3 * len + 1) * sizeof *h.items), 0};
    if (!sym || !h.items) {
        free(sym);
        free(h.items);
        ryot_fail("tokenizer: out of memory encoding %zu bytes", len);
        return NULL;
    }
    int n = 0;
    for (size_t i = 0; i < len; n++) {
        const char *why;
        int clen = utf8_char((const unsigned char *)text + i, &why);  /* validated earlier */
        sym[n] = (struct symbol){(int)i, clen, n - 1, n + 1, lookup(t, text + i, (size_t)clen)};
        i += (size_t)clen;
    }
    if (n > 0)
        sym[n - 1].next = -1;
    for (int i = 0; i + 1 < n; i++)
        push_pair(t, text, sym, i, &h);
    while (h.n > 0) {
        struct candidate c = heap_pop(&h);
        struct symbol *l = &sym[c.left], *r = &sym[c.right];
        if (l->len == 0 || l->next != c.right || l->len + r->len != c.len)
            continue;
        l->len = c.len;
        l->id = c.id;
        l->next = r->next;
        if (r->next >= 0)
            sym[r->next].prev = c.left;
        r->len = 0;
        push_pair(t, text, sym, l->prev, &h);
        push_pair(t, text, sym, c.left, &h);
    }
    free(h.items);
    *n_out = n;
    return sym;
}

static int emit(int *tokens, int *n, int max_tokens, int token)
{
    if (*n >= max_tokens)
        return ryot_fail("tokenizer: the text needs more than %d tokens", max_tokens);
    tokens[(*n)++] = token;
    return 0;
}

int tokenizer_encode(const struct tokenizer *t, const char *text, bool bos, bool eos,
                     int *tokens, int max_tokens)
{
    for (size_t i = 0; text[i];) {
        const char *why;
        int clen = utf8_char((const unsigned char *)text + i, &why);
        if (clen == 0)
            return ryot_fail("invalid UTF-8 in the text at byte %zu (0x%02X): %s", i,
                             (unsigned char)text[i], why);
        i += (size_t)clen;
    }
    size_t len = strlen(text);
    if (len > (size_t)INT32_MAX / 4)
        return ryot_fail("tokenizer: text of %zu bytes is too long", len);
    /* SentencePiece's dummy prefix: the first word is spelled like any other */
    char *prefixed = malloc(len + 2);
    if (!prefixed)
        return ryot_fail("tokenizer: out of memory encoding %zu bytes", len);
    prefixed[0] = '\0';
    if (len > 0) {
        prefixed[0] = ' ';
        memcpy(prefixed + 1, text, len + 1);
    }

    int n_sym = 0, n = 0, rc = 0;
    struct symbol *sym = merge_symbols(t, prefixed, &n_sym);
    if (!sym)
        rc = -1;
    if (rc == 0 && bos)
        rc = emit(tokens, &n, max_tokens, t->bos);
    for (int i = n_sym > 0 ? 0 : -1; rc == 0 && i >= 0; i = sym[i].next) {
        if (sym[i].id >= 0) {
            rc = emit(tokens, &n, max_tokens, sym[i].id);
        } else {
            for (int k = 0; rc == 0 && k < sym[i].len; k++) {
                unsigned char b = (unsigned char)prefixed[sym[i].start + k];
                if (t->byte_token[b] < 0)
                    rc = ryot_fail("tokenizer: cannot encode byte 0x%02X: the vocabulary "
                                   "has no <0x%02X> piece", b, b);
                else
                    rc = emit(tokens, &n, max_tokens, t->byte_token[b]);
            }
        }
    }
    if (rc == 0 && eos)
        rc = emit(tokens, &n, max_tokens, t->eos);
    free(sym);
    free(prefixed);
    return rc == 0 ? n : -1;
}

const char *tokenizer_decode(const struct tokenizer *t, int prev, int token)
{
    if (token < 0 || token >= t->vocab_size)
        return "";
    const char *piece = t->vocab[token];
    int b;
    if (parse_byte_piece(piece, &b))
        return (const char *)&t->byte_pieces[2 * b];
    if (prev == t->bos && piece[0] == ' ')
        piece++;
    return piece;
}
