-- Mutants: deliberately broken variants of the templates that the tests
-- must reject, kept in the suite so that a test which cannot see a failure
-- is noticed (`ninja test` runs each, tests/mutate.lua builds it).
--
-- Each mutant replaces `find` (which must occur exactly once) with
-- `replace` in `file`, generates `model` for the scalar ISA from the
-- mutated tree, and runs `test`: "kernels" (the model's generated kernel
-- tests) or "e2e" (tests/e2e_bitnet.c or tests/e2e_llama.c on `input`).
-- The mutant is caught when that test fails and its output matches
-- `expect` (a grep -E pattern naming the failure).
return {
  {
    name = "rmsnorm-nan-first",
    file = "templates/kernels/scalar/rmsnorm.c",
    find = "            out[i] = x[i] * inv * weight[i];",
    replace = "            out[i] = i == 0 ? NAN : x[i] * inv * weight[i];",
    model = "bitnet-tiny", test = "kernels", expect = "^FAIL rmsnorm_256 ",
  },
  {
    name = "attention-nan-head0",
    file = "templates/kernels/scalar/attention.c",
    find = "    {{name}}_merge(&a);\n}",
    replace = "    {{name}}_merge(&a);\n    for (int t = 0; t < n; t++)\n        out[(size_t)t * {{n_heads * HD}}] = NAN;\n}",
    model = "bitnet-tiny", test = "kernels", expect = "^FAIL attention_hd64_",
  },
  {
    name = "rope-off-by-one-from-66",
    file = "templates/models/llama.c",
    find = "            const float *cos_pos = m->rope_cos + (pos + t) * (HEAD_DIM / 2);\n"
        .. "            const float *sin_pos = m->rope_sin + (pos + t) * (HEAD_DIM / 2);",
    replace = "            const float *cos_pos = m->rope_cos + (pos + t + (pos + t >= 66)) * (HEAD_DIM / 2);\n"
        .. "            const float *sin_pos = m->rope_sin + (pos + t + (pos + t >= 66)) * (HEAD_DIM / 2);",
    model = "bitnet-tiny", test = "e2e", input = "build/models/bitnet-tiny.gguf",
    expect = "first disagreement at step 66$",
  },
  {
    name = "wo-input-not-quantized",
    file = "templates/models/llama.c",
    find = "        {{plan.quantize_act[m.dim].name}}(m->xq_dim, m->xs_dim, wo_in, n);",
    replace = "        (void)wo_in;",
    model = "bitnet-tiny", test = "e2e", input = "build/models/bitnet-tiny.gguf",
    expect = "first disagreement at step 0$",
  },
  {
    name = "logit0-nan",
    file = "templates/models/llama.c",
    find = "    {{plan.linear.output.name}}(m->sched, m->logits, m->output, m->xb, 1);",
    replace = "    {{plan.linear.output.name}}(m->sched, m->logits, m->output, m->xb, 1);\n    m->logits[0] = NAN;",
    model = "stories260k", test = "e2e", input = "$data/stories260K.bin",
    expect = "^FAIL 1 threads: 256 greedy steps, .* max logit difference nan at step 0 ",
  },
}
