static int test_{{name}}(void)
{
    enum { ROWS = {{rows}}, COLS = {{cols}}, STRIDE = {{stride}}, BLOCKS = {{stride // block}}, TOKENS = 3 };
    const size_t period = test_period(ROWS);
    int8_t *w = malloc((size_t)ROWS * STRIDE), xq[TOKENS * STRIDE];
    float *row_scale = malloc(sizeof(float) * ROWS), x_scale[TOKENS * BLOCKS];
    float *out = malloc(sizeof(float) * TOKENS * ROWS), *ref = malloc(sizeof(float) * TOKENS * ROWS);
    /* codes in [-127, 127]; the first row and token all at the extremes, where
     * 16-bit intermediate sums would overflow if a kernel let them */
    for (size_t i = 0; i < period * STRIDE; i++)
        w[i] = i < STRIDE ? -127 : (int8_t)(rng_next() % 255 - 127);
    repeat_rows(w, ROWS, period, STRIDE);
    for (int i = 0; i < TOKENS * STRIDE; i++)
        xq[i] = i < STRIDE ? (i % 2 ? 127 : -127) : (int8_t)(rng_next() % 255 - 127);
    for (int t = 0; t < TOKENS; t++)
        for (int c = COLS; c < STRIDE; c++)
            xq[t * STRIDE + c] = 0;  /* padding, as quantize_blocks leaves it */
    for (int r = 0; r < ROWS; r++)
        row_scale[r] = r < (int)period ? fabsf(rng_float()) / 127 + 1e-4f : row_scale[r % period];
    for (int i = 0; i < TOKENS * BLOCKS; i++)
        x_scale[i] = fabsf(rng_float()) / 127 + 1e-4f;
    for (int t = 0; t < TOKENS; t++)
        for (int r = 0; r < ROWS; r++) {
            double sum = 0;
            for (int c = 0; r < (int)period && c < COLS; c++)
                sum += (double)w[(size_t)r * STRIDE + c] * xq[t * STRIDE + c] * x_scale[t * BLOCKS + c / {{block}}];
            ref[t * ROWS + r] = r < (int)period ? (float)(sum * row_scale[r]) : ref[t * ROWS + r % period];
        }
    int ok = 1;
    for (int s = 0; s < N_SCHEDS; s++)
        for (int n = 1; n <= TOKENS; n += TOKENS - 1) {
            {{name}}(scheds[s], out, w, row_scale, xq, x_scale, n);
            char what[64];
            snprintf(what, sizeof what, "%d thread%s, %d token%s vs f64 dot products", s + 1, s ? "s" : "", n,
                     n > 1 ? "s" : "");
            ok &= check("{{name}}", what, max_error(out, ref, (size_t)n * ROWS), 1e-6 * BLOCKS);
        }
    free(w); free(row_scale); free(out); free(ref);
    return ok;
}
