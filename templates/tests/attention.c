/* Reference: materialized scores and a two-pass softmax, in double.  Runs
 * decode (one query at the end of the context) and a causal prefill block. */
static int test_{{name}}(void)
{
    enum { HD = {{head_dim}}, NH = {{n_heads}}, NKV = {{n_kv_heads}}, KVD = NKV * HD, CTX_MAX = {{math.min(seq_len, 300)}} };
    static const struct { int pos, n; } cases[] = { { 0, 1 }, { 6, 1 }, { CTX_MAX - 1, 1 }, { 0, 7 }, { CTX_MAX - 20, 20 } };
    float *k = malloc(sizeof(float) * CTX_MAX * KVD), *v = malloc(sizeof(float) * CTX_MAX * KVD);
    float *q = malloc(sizeof(float) * CTX_MAX * NH * HD), *out = malloc(sizeof(float) * CTX_MAX * NH * HD);
    float *ref = malloc(sizeof(float) * CTX_MAX * NH * HD);
    double *scores = malloc(sizeof(double) * CTX_MAX);
    int ok = 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int pos = cases[c].pos, n = cases[c].n;
        fill(k, (size_t)(pos + n) * KVD);
        fill(v, (size_t)(pos + n) * KVD);
        fill(q, (size_t)n * NH * HD);
        for (int i = 0; i < n; i++)
            for (int h = 0; h < NH; h++) {
                const int kvh = h / (NH / NKV), n_ctx = pos + i + 1;
                const float *qh = q + ((size_t)i * NH + h) * HD;
                double max = -INFINITY, sum = 0;
                for (int t = 0; t < n_ctx; t++) {
                    double s = 0;
                    for (int d = 0; d < HD; d++)
                        s += (double)qh[d] * k[t * KVD + kvh * HD + d];
                    scores[t] = s / sqrt((double)HD);
                    max = fmax(max, scores[t]);
                }
                for (int t = 0; t < n_ctx; t++)
                    sum += scores[t] = exp(scores[t] - max);
                for (int d = 0; d < HD; d++) {
                    double acc = 0;
                    for (int t = 0; t < n_ctx; t++)
                        acc += scores[t] / sum * v[t * KVD + kvh * HD + d];
                    ref[((size_t)i * NH + h) * HD + d] = (float)acc;
                }
            }
        {{name}}(sched, out, q, k, v, pos, n);
        char what[80];
        snprintf(what, sizeof what, "queries %d..%d vs two-pass softmax", pos, pos + n - 1);
        ok &= check("{{name}}", what, max_error(out, ref, (size_t)n * NH * HD), 1e-5);
    }
    free(k); free(v); free(q); free(out); free(ref); free(scores);
    return ok;
}
