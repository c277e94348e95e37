static int test_{{name}}(void)
{
    enum { N = {{n}}, TOKENS = 2 };
    float x[TOKENS * N], weight[N], out[TOKENS * N], ref[TOKENS * N];
    fill(x, TOKENS * N);
    fill(weight, N);
    for (int t = 0; t < TOKENS; t++) {
        double ss = 0;
        for (int i = 0; i < N; i++)
            ss += (double)x[t * N + i] * x[t * N + i];
        const double inv = 1.0 / sqrt(ss / N + {{eps}});
        for (int i = 0; i < N; i++)
            ref[t * N + i] = (float)(x[t * N + i] * inv * weight[i]);
    }
    {{name}}(out, x, weight, TOKENS);
    return check("{{name}}", "vs f64 reference", max_error(out, ref, TOKENS * N), 1e-5);
}
