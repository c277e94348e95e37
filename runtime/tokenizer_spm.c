/* SentencePiece-style BPE over a scored vocabulary (llama2.c tokenizer.bin
 * or a GGUF "llama" vocabulary).
 *
 * Encoding: prepend the dummy-prefix space, split the text into UTF-8
 * characters, then repeatedly merge the adjacent pair whose concatenation is
 * a vocabulary piece with the highest score (leftmost on ties).  Symbols that
 * are not pieces at the end fall back to <0xXX> byte tokens. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file.h"
#include "gguf.h"
#include "tokenizer_impl.h"

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

bool spm_is_byte_piece(const struct tokenizer *t, int id)
{
    int b;
    return parse_byte_piece(t->vocab[id], &b) && t->byte_token[b] == id;
}

int spm_index(struct tokenizer *t)
{
    for (int b = 0; b < 256; b++)
        t->byte_token[b] = -1;
    for (int id = 0; id < t->vocab_size; id++) {
        int b;
        if (parse_byte_piece(t->vocab[id], &b) && t->byte_token[b] < 0)
            t->byte_token[b] = id;
    }
    if (t->type)
        return 0;
    if (!(t->type = malloc((size_t)t->vocab_size)))
        return ryot_fail("tokenizer: out of memory indexing %d tokens", t->vocab_size);
    for (int id = 0; id < t->vocab_size; id++)
        t->type[id] = id == t->bos || id == t->eos ? GGUF_TOKEN_CONTROL
                      : spm_is_byte_piece(t, id)   ? GGUF_TOKEN_BYTE
                                                   : GGUF_TOKEN_NORMAL;
    return 0;
}

size_t spm_token_bytes(const struct tokenizer *t, int id, char *out)
{
    int b;
    if (parse_byte_piece(t->vocab[id], &b) && t->byte_token[b] == id) {
        out[0] = (char)b;
        return 1;
    }
    size_t len = strlen(t->vocab[id]);
    memcpy(out, t->vocab[id], len);
    return len;
}

/* ---- llama2.c tokenizer.bin ---- */

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
    unsigned char *buf = (unsigned char *)file_read_all(path, "tokenizer file", MAX_TOKENIZER_FILE_BYTES, &size);
    if (!buf)
        return -1;
    int rc = parse_tokenizer_bin(t, path, buf, size, vocab_size);
    free(buf);
    t->kind = TOKENIZER_SPM;
    t->bos = 1;
    t->eos = 2;
    t->eot = -1;
    t->add_bos = true;
    if (rc == 0)
        rc = tokenizer_build_index(t);
    if (rc != 0)
        tokenizer_free(t);
    return rc;
}

/* ---- encoding ---- */

static bool spm_pair(const struct tokenizer *t, const char *text, const struct symbol *l,
                     const struct symbol *r, float *key, int *id)
{
    *id = text_map_find(&t->pieces, t, text + l->start, (size_t)(l->len + r->len));
    if (*id < 0)
        return false;
    *key = -t->scores[*id];
    return true;
}

int spm_encode(const struct tokenizer *t, const char *text, size_t len, struct token_out *out)
{
    /* the dummy prefix: the first word is spelled like any other */
    char *prefixed = malloc(len + 2);
    struct symbol *sym = malloc((len + 1) * sizeof *sym);
    struct candidate *heap = malloc(3 * (len + 1) * sizeof *heap);
    int rc = 0;
    if (!prefixed || !sym || !heap)
        rc = ryot_fail("tokenizer: out of memory encoding %zu bytes", len);
    int n = 0;
    if (rc == 0) {
        prefixed[0] = ' ';
        memcpy(prefixed + 1, text, len);
        prefixed[len + 1] = '\0';
        for (size_t i = 0; i < len + 1; n++) {
            const char *why;
            int clen = utf8_char((const unsigned char *)prefixed + i, &why);  /* validated */
            sym[n] = (struct symbol){(int)i, clen, n - 1, n + 1,
                                     text_map_find(&t->pieces, t, prefixed + i, (size_t)clen)};
            i += (size_t)clen;
        }
        sym[n - 1].next = -1;
        merge_symbols(t, prefixed, sym, n, heap, spm_pair);
    }
    for (int i = 0; rc == 0 && i >= 0; i = sym[i].next) {
        if (sym[i].id >= 0) {
            rc = token_out_put(out, sym[i].id);
            continue;
        }
        for (int k = 0; rc == 0 && k < sym[i].len; k++) {
            unsigned char b = (unsigned char)prefixed[sym[i].start + k];
            if (t->byte_token[b] < 0)
                rc = ryot_fail("tokenizer: cannot encode byte 0x%02X: the vocabulary "
                               "has no <0x%02X> piece", b, b);
            else
                rc = token_out_put(out, t->byte_token[b]);
        }
    }
    free(prefixed);
    free(sym);
    free(heap);
    return rc;
}
