static int test_{{name}}(void)
{
    enum { N = {{n}} * 2 };
    float x[N], d[N], ref[N];
    fill(x, N);
    fill(d, N);
    for (int i = 0; i < N; i++)
        ref[i] = x[i] + d[i];
    {{name}}(x, d, 2);
    return check("{{name}}", "exact", max_error(x, ref, N), 0);
}
