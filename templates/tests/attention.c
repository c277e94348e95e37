//@ local HD, NH, NKV, G = head_dim, n_heads, n_kv_heads, group
//@ local CT = kv_type == "f16" and "uint16_t" or "float"
//@ -- contexts: short, odd, one tile, long, the whole cache; each as a decode step
//@ -- and as the last prefill step of that length (spanning query tiles, odd length)
//@ local cases, seen = {}, {}
//@ for _, ctx in ipairs({ 1, 7, 64, 1000, 4096, seq_len }) do
//@   if ctx <= seq_len and not seen[ctx] then
//@     seen[ctx] = true
//@     cases[#cases + 1] = { ctx - 1, 1 }
//@     local n = math.min(ctx, 2 * q_tile + 3)
//@     if n > 1 then cases[#cases + 1] = { ctx - n, n } end
//@   end
//@ end
/* Reference: materialized scores and a two-pass softmax in double, on plain
 * [position][kv head][head_dim] arrays.  Checks per case (pos, n):
 *  - outputs against the reference on the values as the cache stores them
 *    (exact up to f32 arithmetic: tolerance 1e-5), which also catches a
 *    causal mask that is off by one position;
 *  - cache rows pos..pos+n-1 hold k_new/v_new converted to {{kv_type}}, bit for bit;
 *  - rows past pos+n-1 (poisoned: huge keys, NaN values) are neither read
 *    (outputs stay finite and match) nor written;
//@ if kv_type == "f16" then
 *  - outputs against the reference on the unrounded f32 values: the f16
 *    cache's own error, tolerance 2e-3.
//@ end
 */
static void {{name}}_reference(float *out, const float *q, const float *k, const float *v, int pos, int n)
{
    double *scores = malloc(sizeof(double) * (size_t)(pos + n)), acc[{{HD}}];
    for (int i = 0; i < n; i++)
        for (int h = 0; h < {{NH}}; h++) {
            const int kvh = h / {{G}}, n_ctx = pos + i + 1;
            const float *qh = q + ((size_t)i * {{NH}} + h) * {{HD}};
            double max = -INFINITY, sum = 0;
            for (int t = 0; t < n_ctx; t++) {
                const float *kt = k + ((size_t)t * {{NKV}} + kvh) * {{HD}};
                double s = 0;
                for (int d = 0; d < {{HD}}; d++)
                    s += (double)qh[d] * kt[d];
                scores[t] = s / sqrt({{HD}}.0);
                max = fmax(max, scores[t]);
            }
            for (int t = 0; t < n_ctx; t++)
                sum += scores[t] = exp(scores[t] - max);
            for (int d = 0; d < {{HD}}; d++)
                acc[d] = 0;
            for (int t = 0; t < n_ctx; t++)
                for (int d = 0; d < {{HD}}; d++)
                    acc[d] += scores[t] * v[((size_t)t * {{NKV}} + kvh) * {{HD}} + d];
            for (int d = 0; d < {{HD}}; d++)
                out[((size_t)i * {{NH}} + h) * {{HD}} + d] = (float)(acc[d] / sum);
        }
    free(scores);
}

static {{CT}} {{name}}_to_cache(float x)
{
//@ if kv_type == "f16" then
    return f32_to_f16(x);
//@ else
    return x;
//@ end
}

/* Rows pos..ctx-1 of the cache equal `rows` converted; rows from ctx on
 * still hold the poison `bad`. */
static int {{name}}_cache_ok(const {{CT}} *cache, const float *rows, int pos, int ctx, {{CT}} bad)
{
    for (int h = 0; h < {{NKV}}; h++) {
        const {{CT}} *head = cache + (size_t)h * {{cache_head_stride}};
        for (int t = pos; t < {{seq_len}}; t++)
            for (int d = 0; d < {{HD}}; d++) {
                const {{CT}} want = t < ctx ? {{name}}_to_cache(rows[((size_t)t * {{NKV}} + h) * {{HD}} + d]) : bad;
                if (memcmp(&head[(size_t)t * {{HD}} + d], &want, sizeof want) != 0)
                    return 0;
            }
    }
    return 1;
}

static int test_{{name}}(void)
{
    enum { KVD = {{NKV * HD}}, QD = {{NH * HD}}, MAX_N = {{2 * q_tile + 3}} };
    static const struct { int pos, n; } cases[] = {
//@ for _, c in ipairs(cases) do
        { {{c[1]}}, {{c[2]}} },
//@ end
    };
    const size_t cache_elems = (size_t){{NKV}} * {{cache_head_stride}};
    const size_t scratch_bytes = {{scratch_shared_bytes}} + (size_t)N_SCHEDS * {{scratch_thread_bytes}};
    float *k_raw = malloc(sizeof(float) * {{seq_len}} * KVD), *v_raw = malloc(sizeof(float) * {{seq_len}} * KVD);
    float *k_seen = malloc(sizeof(float) * {{seq_len}} * KVD), *v_seen = malloc(sizeof(float) * {{seq_len}} * KVD);
    float *q = malloc(sizeof(float) * MAX_N * QD), *out = malloc(sizeof(float) * MAX_N * QD);
    float *ref = malloc(sizeof(float) * MAX_N * QD), *ref_f32 = malloc(sizeof(float) * MAX_N * QD);
    {{CT}} *k_cache = malloc(sizeof({{CT}}) * cache_elems), *v_cache = malloc(sizeof({{CT}}) * cache_elems);
    void *scratch = aligned_alloc(64, scratch_bytes);
//@ if kv_type == "f16" then
    const {{CT}} huge = 0x7bff /* 65504 */, nan = 0x7e00;
//@ else
    const {{CT}} huge = 1e30f, nan = NAN;
//@ end
    int ok = 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int pos = cases[c].pos, n = cases[c].n, ctx = pos + n;
        fill(k_raw, (size_t)ctx * KVD);
        fill(v_raw, (size_t)ctx * KVD);
        fill(q, (size_t)n * QD);
        for (size_t i = 0; i < (size_t)n * QD; i++)
            q[i] *= 4.0f;  /* peakier softmax: the running max moves between tiles */
        for (size_t i = 0; i < (size_t)ctx * KVD; i++) {
//@ if kv_type == "f16" then
            k_seen[i] = f16_to_f32(f32_to_f16(k_raw[i]));
            v_seen[i] = f16_to_f32(f32_to_f16(v_raw[i]));
//@ else
            k_seen[i] = k_raw[i];
            v_seen[i] = v_raw[i];
//@ end
        }
        {{name}}_reference(ref, q, k_seen, v_seen, pos, n);
//@ if kv_type == "f16" then
        {{name}}_reference(ref_f32, q, k_raw, v_raw, pos, n);
//@ end
        for (int s = 0; s < N_SCHEDS; s++) {
            /* the cache as earlier steps left it; everything past pos poisoned */
            for (size_t i = 0; i < cache_elems; i++) {
                k_cache[i] = huge;
                v_cache[i] = nan;
            }
            for (int t = 0; t < pos; t++)
                for (int h = 0; h < {{NKV}}; h++)
                    for (int d = 0; d < {{HD}}; d++) {
                        const size_t from = ((size_t)t * {{NKV}} + h) * {{HD}} + d;
                        const size_t to = (size_t)h * {{cache_head_stride}} + (size_t)t * {{HD}} + d;
                        k_cache[to] = {{name}}_to_cache(k_raw[from]);
                        v_cache[to] = {{name}}_to_cache(v_raw[from]);
                    }

            {{name}}(scheds[s], out, q, k_raw + (size_t)pos * KVD, v_raw + (size_t)pos * KVD, k_cache, v_cache, scratch,
            {{string.rep(" ", #name)}} pos, n);

            char what[120];
            snprintf(what, sizeof what, "%d thread%s, queries %d..%d vs two-pass softmax", s + 1, s ? "s" : "", pos, ctx - 1);
            ok &= check("{{name}}", what, max_error(out, ref, (size_t)n * QD), 1e-5);
            snprintf(what, sizeof what, "%d thread%s, queries %d..%d cache rows written, rest untouched", s + 1,
                     s ? "s" : "", pos, ctx - 1);
            const int cache_ok = {{name}}_cache_ok(k_cache, k_raw, pos, ctx, huge) && {{name}}_cache_ok(v_cache, v_raw, pos, ctx, nan);
            ok &= check("{{name}}", what, cache_ok ? 0 : 1, 0);
//@ if kv_type == "f16" then
            snprintf(what, sizeof what, "%d thread%s, queries %d..%d vs f32 values (f16 cache)", s + 1, s ? "s" : "", pos,
                     ctx - 1);
            ok &= check("{{name}}", what, max_error(out, ref_f32, (size_t)n * QD), 2e-3);
//@ end
        }
    }
    free(k_raw); free(v_raw); free(k_seen); free(v_seen); free(q); free(out); free(ref); free(ref_f32);
    free(k_cache); free(v_cache); free(scratch);
    return ok;
}
