static int test_{{name}}(void)
{
    enum { ROWS = {{rows}}, COLS = {{cols}}, TOKENS = 3 };
    const size_t period = test_period(ROWS);
    uint16_t *table = malloc(sizeof(uint16_t) * ROWS * COLS);
    float out[TOKENS * COLS];
    for (size_t i = 0; i < period * COLS; i++) {
        table[i] = (uint16_t)rng_next();  /* every bit pattern, including subnormals */
        if ((table[i] & 0x7c00) == 0x7c00)
            table[i] &= 0xbfff;  /* no infinities or NaNs: they would not compare equal */
    }
    repeat_rows(table, ROWS, period, sizeof(uint16_t) * COLS);
    const int tokens[TOKENS] = { ROWS - 1, 0, ROWS / 2 };
    {{name}}(out, table, tokens, TOKENS);
    int same = 1;
    for (int t = 0; t < TOKENS; t++)
        for (int i = 0; i < COLS; i++) {
            /* f16 value = (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024 when e = 0 */
            const uint16_t h = table[(size_t)tokens[t] * COLS + i];
            const int e = (h >> 10) & 31, mant = h & 1023;
            const double v = e ? ldexp(1.0 + mant / 1024.0, e - 15) : ldexp(mant / 1024.0, -14);
            same &= out[t * COLS + i] == (float)((h & 0x8000) ? -v : v);
        }
    free(table);
    return check("{{name}}", "rows of first, last and middle token exact", same ? 0 : 1, 0);
}
