static int test_{{name}}(void)
{
    enum { ROWS = {{rows}}, COLS = {{cols}}, STRIDE = {{stride}}, TOKENS = 3 };
    int8_t *table = malloc((size_t)ROWS * STRIDE);
    float *scale = malloc(sizeof(float) * ROWS), out[TOKENS * COLS];
    const size_t period = test_period(ROWS);
    for (size_t i = 0; i < period * STRIDE; i++)
        table[i] = (int8_t)(rng_next() % 255 - 127);
    repeat_rows(table, ROWS, period, STRIDE);
    for (int r = 0; r < ROWS; r++)
        scale[r] = fabsf(rng_float()) + 1e-3f;
    const int tokens[TOKENS] = { ROWS - 1, 0, ROWS / 2 };
    {{name}}(out, table, scale, tokens, TOKENS);
    int same = 1;
    for (int t = 0; t < TOKENS; t++)
        for (int i = 0; i < COLS; i++)
            same &= out[t * COLS + i] == (float)((double)table[(size_t)tokens[t] * STRIDE + i] * scale[tokens[t]]);
    free(table);
    free(scale);
    return check("{{name}}", "rows of first, last and middle token exact", same ? 0 : 1, 0);
}
