static int test_{{name}}(void)
{
    enum { ROWS = {{rows}}, COLS = {{cols}}, TOKENS = 3 };
    float *table = malloc(sizeof(float) * ROWS * COLS), out[TOKENS * COLS];
    fill(table, (size_t)ROWS * COLS);
    const int tokens[TOKENS] = { ROWS - 1, 0, ROWS / 2 };
    {{name}}(out, table, tokens, TOKENS);
    int same = 1;
    for (int t = 0; t < TOKENS; t++)
        for (int i = 0; i < COLS; i++)
            same &= out[t * COLS + i] == table[(size_t)tokens[t] * COLS + i];
    free(table);
    return check("{{name}}", "rows of first, last and middle token identical", same ? 0 : 1, 0);
}
