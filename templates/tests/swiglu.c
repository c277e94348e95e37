static int test_{{name}}(void)
{
    enum { N = {{n}} * 2 };
    float gate[N], up[N], ref[N];
    fill(gate, N);
    fill(up, N);
    for (int i = 0; i < N; i++)
        ref[i] = (float)(gate[i] / (1.0 + exp(-(double)gate[i])) * up[i]);
    {{name}}(gate, up, 2);
    return check("{{name}}", "vs f64 silu(g) * u", max_error(gate, ref, N), 1e-6);
}
