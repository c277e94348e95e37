static int test_{{name}}(void)
{
    enum { ROWS = {{rows}}, COLS = {{cols}}, TOKENS = 3 };
    const size_t period = test_period(ROWS);
    uint16_t *w = malloc(sizeof(uint16_t) * ROWS * COLS);
    float *x = malloc(sizeof(float) * TOKENS * COLS);
    float *out = malloc(sizeof(float) * TOKENS * ROWS), *ref = malloc(sizeof(float) * TOKENS * ROWS);
    for (size_t i = 0; i < period * COLS; i++)
        w[i] = f32_to_f16(rng_float());
    repeat_rows(w, ROWS, period, sizeof(uint16_t) * COLS);
    fill(x, (size_t)TOKENS * COLS);
    for (int t = 0; t < TOKENS; t++)
        for (int r = 0; r < ROWS; r++) {
            double sum = 0;
            for (int c = 0; r < (int)period && c < COLS; c++)
                sum += (double)f16_to_f32(w[(size_t)r * COLS + c]) * x[t * COLS + c];
            ref[t * ROWS + r] = r < (int)period ? (float)sum : ref[t * ROWS + r % period];
        }
    int ok = 1;
    for (int s = 0; s < N_SCHEDS; s++)
        for (int n = 1; n <= TOKENS; n += TOKENS - 1) {
            {{name}}(scheds[s], out, w, x, n);
            char what[64];
            snprintf(what, sizeof what, "%d thread%s, %d token%s vs f64 dot products", s + 1, s ? "s" : "", n,
                     n > 1 ? "s" : "");
            ok &= check("{{name}}", what, max_error(out, ref, (size_t)n * ROWS), 4e-8 * COLS);
        }
    free(w); free(x); free(out); free(ref);
    return ok;
}
