static int test_{{name}}(void)
{
    enum { N = {{n}} * 2 };
    float gate[N], up[N], ref[N];
    fill(gate, N);
    fill(up, N);
    for (int i = 0; i < N; i++) {
        const double g = fmax(0.0, gate[i]);
        ref[i] = (float)(g * g * up[i]);
    }
    {{name}}(gate, up, 2);
    return check("{{name}}", "vs f64 max(0, g)^2 * u", max_error(gate, ref, N), 1e-6);
}
