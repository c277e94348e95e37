/* Causal attention of n query positions pos..pos+n-1 over the cache; query
 * i sees cached positions 0..pos+i.
 * {{n_heads}} query heads share {{n_kv_heads}} KV heads of width {{head_dim}};
 * cache rows are [position][{{n_kv_heads * head_dim}}] ({{kv_type}}).
 * One pass with a running max and sum (online softmax), so no score
 * vector is stored.  Heads are split over threads. */
struct {{name}}_args { float *out; const float *q; const float *k, *v; int pos; };

static void {{name}}_heads(void *ctx, size_t j0, size_t j1, int worker)
{
    const struct {{name}}_args *a = ctx;
    (void)worker;
    const float scale = {{1.0 / math.sqrt(head_dim)}}f;
    for (size_t j = j0; j < j1; j++) {  /* j = token * {{n_heads}} + head */
        const size_t h = j % {{n_heads}};
        const int n_ctx = a->pos + (int)(j / {{n_heads}}) + 1;
        const float *q = a->q + j * {{head_dim}};
        const size_t kv_off = (h / {{n_heads // n_kv_heads}}) * {{head_dim}};
        float acc[{{head_dim}}] = { 0 };
        float max = -INFINITY, sum = 0.0f;
        for (int t = 0; t < n_ctx; t++) {
            const float *k = a->k + (size_t)t * {{n_kv_heads * head_dim}} + kv_off;
            const float *v = a->v + (size_t)t * {{n_kv_heads * head_dim}} + kv_off;
            float s = 0.0f;
            for (int i = 0; i < {{head_dim}}; i++)
                s += q[i] * k[i];
            s *= scale;
            if (s > max) {
                const float r = expf(max - s);
                sum *= r;
                for (int i = 0; i < {{head_dim}}; i++)
                    acc[i] *= r;
                max = s;
            }
            const float p = expf(s - max);
            sum += p;
            for (int i = 0; i < {{head_dim}}; i++)
                acc[i] += p * v[i];
        }
        float *out = a->out + j * {{head_dim}};
        for (int i = 0; i < {{head_dim}}; i++)
            out[i] = acc[i] / sum;
    }
}

void {{name}}(struct sched *s, float *restrict out, const float *restrict q, const void *restrict k_cache,
              const void *restrict v_cache, int pos, int n)
{
    struct {{name}}_args a = { out, q, k_cache, v_cache, pos };
    parallel_for(s, (size_t)n * {{n_heads}}, 1, {{name}}_heads, &a);
}
