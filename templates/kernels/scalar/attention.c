//@ local G, HD, HDP, NKV = group, head_dim, hd_pad, n_kv_heads
//@ local CT = kv_type == "f16" and "uint16_t" or "float"
//@ local PARTS = 8  -- partial sums of a dot product
/* Causal flash attention (FlashAttention-2 style, portable C): {{n_heads}} query heads over
 * {{NKV}} KV heads of width {{HD}}, {{kv_type}} cache of {{seq_len}} positions.
 *
 * k_new and v_new (n rows) are first stored into the cache at positions
 * pos..pos+n-1; query i then sees positions 0..pos+i.  A task takes "rows",
 * the (query position, query head) pairs of one KV head's group, against a
 * range of cache positions, one tile at a time ({{kv_tile}} positions, {{decode_tile}}
 * when decoding): the tile's scores, an online softmax (running max m and
 * sum l in base-2 units; the output accumulator is rescaled by
 * 2^(m_old - m_new)), then P.V.  Only one tile of scores ever exists, so
 * scratch does not grow with the context.
 * Prefill tasks are (KV head, {{q_tile}} query positions); a decode step (n = 1)
 * splits the context over tasks (flash-decoding) and merges their partial
 * results. */
struct {{name}}_args {
    float *out;
    const float *q;
    const {{CT}} *k, *v;  /* this layer's cache */
    unsigned char *scratch;
    int pos, n;
    int segments, seg_len;  /* decode: (KV head, position) pairs per task */
};

/* k_new or v_new rows into the cache at pos..pos+n-1. */
static void {{name}}_store(const float *restrict src, {{CT}} *restrict cache, int pos, int n)
{
    for (int t = 0; t < n; t++)
        for (int h = 0; h < {{NKV}}; h++) {
            const float *x = src + ((size_t)t * {{NKV}} + h) * {{HD}};
            {{CT}} *dst = cache + (size_t)h * {{cache_head_stride}} + (size_t)(pos + t) * {{HD}};
//@ if kv_type == "f16" then
            for (int d = 0; d < {{HD}}; d++)
                dst[d] = f32_to_f16(x[d]);
//@ else
            memcpy(dst, x, {{HD}} * sizeof(float));
//@ end
        }
}

/* Rows of queries i0..i0+nq-1 for KV head h, scaled so scores come out in
 * base-2 units, and the position each row may see up to. */
static void {{name}}_load_queries(const struct {{name}}_args *a, unsigned char *mine, int h, int i0, int nq)
{
    float *qt = (float *)(mine + {{scratch.qt}}), *qpos = (float *)(mine + {{scratch.qpos}});
    for (int r = 0; r < nq * {{G}}; r++) {
        const float *src = a->q + (size_t)(i0 + r / {{G}}) * {{n_heads * HD}} + (size_t)(h * {{G}} + r % {{G}}) * {{HD}};
        for (int d = 0; d < {{HD}}; d++)
            qt[r * {{HD}} + d] = src[d] * {{score_scale}}f;
        qpos[r] = (float)(a->pos + i0 + r / {{G}});
    }
}

/* `jn` cache rows as f32 rows of {{HDP}}. */
static void {{name}}_load_tile(float *restrict dst, const {{CT}} *restrict src, int jn)
{
    for (int j = 0; j < jn; j++)
        for (int d = 0; d < {{HD}}; d++)
//@ if kv_type == "f16" then
            dst[j * {{HDP}} + d] = f16_to_f32(src[(size_t)j * {{HD}} + d]);
//@ else
            dst[j * {{HDP}} + d] = src[(size_t)j * {{HD}} + d];
//@ end
}

/* Attend `rows` loaded queries of KV head h to cache positions
 * [j_begin, j_end), `tile` positions at a time: leaves the unnormalized
 * output o, running max m and sum l of each row in scratch. */
static void {{name}}_attend(const struct {{name}}_args *a, unsigned char *mine, int h, int rows, int j_begin, int j_end,
                            int tile)
{
    const float *qt = (const float *)(mine + {{scratch.qt}}), *qpos = (const float *)(mine + {{scratch.qpos}});
    float *st = (float *)(mine + {{scratch.st}}), *kt = (float *)(mine + {{scratch.kt}});
    float *vt = (float *)(mine + {{scratch.vt}}), *o = (float *)(mine + {{scratch.o}});
    float *m = (float *)(mine + {{scratch.m}}), *l = (float *)(mine + {{scratch.l}});
    for (int r = 0; r < rows; r++) {
        m[r] = -1e30f;  /* finite, so 2^(m_old - m_new) is 0 rather than NaN */
        l[r] = 0.0f;
        for (int d = 0; d < {{HD}}; d++)
            o[r * {{HDP}} + d] = 0.0f;
    }
    for (int j0 = j_begin; j0 < j_end; j0 += tile) {
        const int jn = j_end - j0 < tile ? j_end - j0 : tile;
        {{name}}_load_tile(kt, a->k + (size_t)h * {{cache_head_stride}} + (size_t)j0 * {{HD}}, jn);
        {{name}}_load_tile(vt, a->v + (size_t)h * {{cache_head_stride}} + (size_t)j0 * {{HD}}, jn);
        for (int r = 0; r < rows; r++) {
            const float *restrict qr = qt + r * {{HD}};
            float *restrict s = st + r * tile, *restrict out = o + r * {{HDP}};
            float max = m[r];
            for (int j = 0; j < jn; j++) {
                /* {{PARTS}} independent partial sums rather than one serial chain (the
                 * compiler may not reassociate a float sum), so it vectorizes */
                const float *restrict kr = kt + j * {{HDP}};
                float part[{{PARTS}}] = { 0 };
                for (int d = 0; d < {{HD - HD % PARTS}}; d += {{PARTS}})
                    for (int i = 0; i < {{PARTS}}; i++)
                        part[i] += qr[d + i] * kr[d + i];
//@ for d = HD - HD % PARTS, HD - 1 do
                part[{{d % PARTS}}] += qr[{{d}}] * kr[{{d}}];
//@ end
                float dot = 0.0f;
                for (int i = 0; i < {{PARTS}}; i++)
                    dot += part[i];
                s[j] = j0 + j <= qpos[r] ? dot : -INFINITY;
                max = fmaxf(max, s[j]);
            }
            const float corr = exp2f(m[r] - max);
            float sum = 0.0f;
            for (int j = 0; j < jn; j++)
                sum += s[j] = exp2f(s[j] - max);
            l[r] = l[r] * corr + sum;
            m[r] = max;
            for (int d = 0; d < {{HD}}; d++)
                out[d] *= corr;
            int j = 0;
            for (; j + 4 <= jn; j += 4) {  /* four V rows per pass over out */
                const float *restrict v0 = vt + j * {{HDP}};
                for (int d = 0; d < {{HD}}; d++)
                    out[d] += s[j] * v0[d] + s[j + 1] * v0[{{HDP}} + d] + s[j + 2] * v0[{{2 * HDP}} + d]
                              + s[j + 3] * v0[{{3 * HDP}} + d];
            }
            for (; j < jn; j++)
                for (int d = 0; d < {{HD}}; d++)
                    out[d] += s[j] * vt[j * {{HDP}} + d];
        }
    }
}

/* Normalized output of `rows` rows (queries from i0) of KV head h. */
static void {{name}}_finish(const struct {{name}}_args *a, const float *o, const float *l, int h, int i0, int rows)
{
    for (int r = 0; r < rows; r++) {
        float *dst = a->out + (size_t)(i0 + r / {{G}}) * {{n_heads * HD}} + (size_t)(h * {{G}} + r % {{G}}) * {{HD}};
        const float inv = 1.0f / l[r];
        for (int d = 0; d < {{HD}}; d++)
            dst[d] = o[r * {{HDP}} + d] * inv;
    }
}

static void {{name}}_prefill(void *ctx, size_t t0, size_t t1, int worker)
{
    const struct {{name}}_args *a = ctx;
    unsigned char *mine = a->scratch + {{scratch_shared_bytes}} + (size_t)worker * {{scratch_thread_bytes}};
    for (size_t t = t0; t < t1; t++) {
        const int h = (int)(t % {{NKV}}), i0 = (int)(t / {{NKV}}) * {{q_tile}};
        const int nq = a->n - i0 < {{q_tile}} ? a->n - i0 : {{q_tile}};
        {{name}}_load_queries(a, mine, h, i0, nq);
        {{name}}_attend(a, mine, h, nq * {{G}}, 0, a->pos + i0 + nq, {{kv_tile}});
        {{name}}_finish(a, (const float *)(mine + {{scratch.o}}), (const float *)(mine + {{scratch.l}}), h, i0,
                        nq * {{G}});
    }
}

/* Attend the {{G}} query heads of KV head h to cache positions [j_begin, j_end):
 * unnormalized output o, running max m and sum l in scratch. */
static void {{name}}_decode_range(const struct {{name}}_args *a, unsigned char *mine, int h, int j_begin, int j_end)
{
    {{name}}_load_queries(a, mine, h, 0, 1);
    {{name}}_attend(a, mine, h, {{G}}, j_begin, j_end, {{decode_tile}});
}

/* Flash-decoding: the step's {{NKV}} x (pos + 1) (KV head, position) pairs are
 * cut into equal segments, about 4 per thread so the threads finish together
 * whatever the number of KV heads, none shorter than {{split_min}} pairs, at
 * most {{max_tasks}}.  A KV head that lies within one segment is finished
 * there; the parts of a head that segments share are merged afterwards.  The
 * part of head h in segment t has partials slot h + t: walking the pairs in
 * order, each new part moves to the next head, the next segment or both. */
static void {{name}}_plan_segments(struct {{name}}_args *a, int threads)
{
    const int pairs = {{NKV}} * (a->pos + 1);
    int tasks = 4 * threads;
    if (tasks > {{max_tasks}})
        tasks = {{max_tasks}};
    if (tasks > (pairs + {{split_min - 1}}) / {{split_min}})
        tasks = (pairs + {{split_min - 1}}) / {{split_min}};
    a->seg_len = (pairs + tasks - 1) / tasks;
    a->segments = (pairs + a->seg_len - 1) / a->seg_len;
}

static void {{name}}_decode(void *ctx, size_t t0, size_t t1, int worker)
{
    const struct {{name}}_args *a = ctx;
    unsigned char *mine = a->scratch + {{scratch_shared_bytes}} + (size_t)worker * {{scratch_thread_bytes}};
    const float *o = (const float *)(mine + {{scratch.o}});
    const float *m = (const float *)(mine + {{scratch.m}}), *l = (const float *)(mine + {{scratch.l}});
    const int n_ctx = a->pos + 1, pairs = {{NKV}} * n_ctx;
    for (size_t t = t0; t < t1; t++) {
        const int begin = (int)t * a->seg_len, end = pairs - begin < a->seg_len ? pairs : begin + a->seg_len;
        for (int h = begin / n_ctx; h * n_ctx < end; h++) {
            const int j_begin = begin > h * n_ctx ? begin - h * n_ctx : 0;
            const int j_end = end < (h + 1) * n_ctx ? end - h * n_ctx : n_ctx;
            {{name}}_decode_range(a, mine, h, j_begin, j_end);
            if (j_begin == 0 && j_end == n_ctx) {
                {{name}}_finish(a, o, l, h, 0, {{G}});
                continue;
            }
            const size_t slot = ((size_t)h + t) * {{G}};
            memcpy((float *)(a->scratch + {{partials.o}}) + slot * {{HDP}}, o, {{G}} * {{HDP}} * sizeof(float));
            memcpy((float *)(a->scratch + {{partials.m}}) + slot, m, {{G}} * sizeof(float));
            memcpy((float *)(a->scratch + {{partials.l}}) + slot, l, {{G}} * sizeof(float));
        }
    }
}

/* Combine the parts of every shared KV head: weights 2^(m_part - m_max). */
static void {{name}}_merge(const struct {{name}}_args *a)
{
    const float *po = (const float *)(a->scratch + {{partials.o}});
    const float *pm = (const float *)(a->scratch + {{partials.m}}), *pl = (const float *)(a->scratch + {{partials.l}});
    const int n_ctx = a->pos + 1;
    for (int h = 0; h < {{NKV}}; h++) {
        const int first = h * n_ctx / a->seg_len, last = ((h + 1) * n_ctx - 1) / a->seg_len;
        if (first == last)
            continue;  /* finished by its segment */
        for (int g = 0; g < {{G}}; g++) {
            float *dst = a->out + (size_t)(h * {{G}} + g) * {{HD}};
            float max = -INFINITY, sum = 0.0f;
            for (int t = first; t <= last; t++)
                max = fmaxf(max, pm[(h + t) * {{G}} + g]);
            for (int d = 0; d < {{HD}}; d++)
                dst[d] = 0.0f;
            for (int t = first; t <= last; t++) {
                const size_t slot = (size_t)(h + t) * {{G}} + g;
                const float w = exp2f(pm[slot] - max);
                sum += w * pl[slot];
                for (int d = 0; d < {{HD}}; d++)
                    dst[d] += w * po[slot * {{HDP}} + d];
            }
            for (int d = 0; d < {{HD}}; d++)
                dst[d] /= sum;
        }
    }
}

void {{name}}(struct sched *s, float *restrict out, const float *restrict q, const float *restrict k_new,
              const float *restrict v_new, void *restrict k_cache, void *restrict v_cache, void *restrict scratch,
              int pos, int n)
{
    {{name}}_store(k_new, k_cache, pos, n);
    {{name}}_store(v_new, v_cache, pos, n);
    struct {{name}}_args a = { out, q, k_cache, v_cache, scratch, pos, n, 0, 0 };
    if (n > 1) {
        parallel_for(s, (size_t){{NKV}} * ((n + {{q_tile - 1}}) / {{q_tile}}), 1, {{name}}_prefill, &a);
        return;
    }
    {{name}}_plan_segments(&a, sched_threads(s));
    parallel_for(s, (size_t)a.segments, 1, {{name}}_decode, &a);
    {{name}}_merge(&a);
}
