#include "lowbit_check.h"

/* Weights on the packer's grid (lowbit_weights) come back exactly (int6:
 * d * sc * q in dequant_q6_k's order, so a Q6_K tensor's own values). */
static int test_{{name}}(void)
{
    struct pack_layout l;
    if (pack_layout_parse("{{layout}}", &l) != 0)
        return check("{{name}}", ryot_last_error(), 1, 0);
    enum { TOKENS = 3 };
    const int64_t blocks = l.cols_pad / l.sb;
    int8_t *q = malloc((size_t)(l.rows * l.cols));
    int8_t *sc = l.sub ? malloc((size_t)(l.rows * (l.cols_pad / l.sub))) : NULL;
    float *d = malloc(sizeof(float) * (size_t)(l.rows * blocks)), *w = malloc(sizeof(float) * (size_t)(l.rows * l.cols));
    float *out = malloc(sizeof(float) * TOKENS * (size_t)l.cols);
    uint8_t *packed = aligned_alloc(64, l.bytes);
    lowbit_weights(&l, 0, q, sc, d, w);
    int wrong = lowbit_pack(&l, q, sc, d, w, packed) != 0;
    const int tokens[TOKENS] = { (int)l.rows - 1, 0, (int)l.rows / 2 };
    {{name}}(out, packed, tokens, TOKENS);
    for (int t = 0; t < TOKENS; t++)
        for (int64_t c = 0; c < l.cols; c++)
            wrong += out[t * l.cols + c] != w[tokens[t] * l.cols + c];
    free(q);
    free(sc);
    free(d);
    free(w);
    free(out);
    free(packed);
    return check("{{name}}", "rows of first, last and middle token exact", wrong, 0);
}
