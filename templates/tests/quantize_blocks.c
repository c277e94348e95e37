static int test_{{name}}(void)
{
    enum { N = {{n}}, STRIDE = {{stride}}, BLOCK = {{block}}, TOKENS = 2 };
    float x[TOKENS * N], scale[TOKENS * (STRIDE / BLOCK)];
    int8_t q[TOKENS * STRIDE];
    fill(x, TOKENS * N);
    for (int i = 0; i < BLOCK && i < N; i++)
        x[i] = 0.0f;  /* an all-zero block (of the first token) must give zero codes and scale */
    if (N > BLOCK + 1)
        x[BLOCK + 1] = -4.0f;  /* a block whose absmax is negative */
    memset(q, 0x55, sizeof q);
    {{name}}(q, scale, x, TOKENS);
    int exact = 1, bounded = 1;
    for (int t = 0; t < TOKENS; t++)
        for (int c = 0; c < STRIDE; c++) {
            const int b = c / BLOCK;
            const float s = scale[t * (STRIDE / BLOCK) + b];
            const int8_t got = q[t * STRIDE + c];
            if (c >= N) {
                exact &= got == 0;
                continue;
            }
            float absmax = 0.0f;  /* the definition, recomputed from scratch */
            for (int i = b * BLOCK; i < (b + 1) * BLOCK && i < N; i++)
                absmax = fabsf(x[t * N + i]) > absmax ? fabsf(x[t * N + i]) : absmax;
            const float v = x[t * N + c];
            const long want = absmax > 0.0f ? lrintf(v * (127.0f / absmax)) : 0;
            exact &= got == want && s == absmax / 127.0f;
            bounded &= got != -128 && fabs((double)got * s - v) <= 0.5 * s * 1.0001 + 1e-30;
        }
    int ok = check("{{name}}", "codes and scales as defined (round to nearest even)", exact ? 0 : 1, 0);
    return ok & check("{{name}}", "|q * scale - x| <= scale / 2, |q| <= 127", bounded ? 0 : 1, 0);
}
