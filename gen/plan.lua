-- Planning: from a validated model table to the list of distinct kernel
-- instances it needs, each with its shape and blocking parameters.
-- Identical shapes share one kernel; the forward pass refers to kernels by
-- the role they play (plan.linear.wq, plan.rmsnorm, ...).

local isa_mod = require("isa")

local M = {}

-- C signature of each kernel kind, shared by kernels.h and the tests.
-- Activations are row-major [n tokens][width]; n = 1 when decoding, up to
-- the prefill chunk when prefilling.
M.signatures = {
  linear_f32 = "void %s(struct sched *s, float *restrict out, const float *restrict w, const float *restrict x, int n)",
  rmsnorm = "void %s(float *restrict out, const float *restrict x, const float *restrict weight, int n)",
  rope = "void %s(float *restrict vec, int n_heads, const float *restrict cos_pos, const float *restrict sin_pos)",
  swiglu = "void %s(float *restrict gate, const float *restrict up, int n)",
  attention = "void %s(struct sched *s, float *restrict out, const float *restrict q, const void *restrict k_cache, const void *restrict v_cache, int pos, int n)",
  residual_add = "void %s(float *restrict x, const float *restrict delta, int n)",
}

-- Blocking parameters for one instance: the tuning database entry when
-- there is one, the ISA's documented defaults otherwise.
local function blocking(isa, kind, key, tuning)
  local entry = tuning and tuning[key]
  if entry then return entry, "tuned" end
  return isa.defaults[kind] or {}, "default"
end

function M.plan(model, isa_name, opts)
  opts = opts or {}
  local isa = isa_mod.get(isa_name)
  local plan = { model = model, isa = isa, kernels = {}, linear = {} }
  -- tokens per forward step when prefilling: activations are [chunk][width]
  plan.prefill_chunk = math.min(model.seq_len, isa.defaults.prefill_chunk)
  local by_name = {}

  local function add(kind, name, shape)
    local k = by_name[name]
    if k then return k end
    local params, source = blocking(isa, kind, name, opts.tuning)
    k = { kind = kind, name = name, shape = shape, source = source, params = {} }
    for key, v in pairs(shape) do k.params[key] = v end
    for key, v in pairs(params) do k.params[key] = v end
    k.params.name = name
    k.signature = string.format(M.signatures[kind], name)
    by_name[name] = k
    plan.kernels[#plan.kernels + 1] = k
    return k
  end

  local m = model
  local function linear(rows, cols)
    local wtype = m.weights.linear
    return add("linear_" .. wtype, string.format("linear_%s_%dx%d", wtype, rows, cols), { rows = rows, cols = cols })
  end
  plan.linear.wq = linear(m.dim, m.dim)
  plan.linear.wk = linear(m.kv_dim, m.dim)
  plan.linear.wv = plan.linear.wk
  plan.linear.wo = linear(m.dim, m.dim)
  plan.linear.w1 = linear(m.hidden_dim, m.dim)
  plan.linear.w3 = plan.linear.w1
  plan.linear.w2 = linear(m.dim, m.hidden_dim)
  plan.linear.output = add("linear_" .. m.weights.output,
    string.format("linear_%s_%dx%d", m.weights.output, m.vocab_size, m.dim), { rows = m.vocab_size, cols = m.dim })

  plan.rmsnorm = add("rmsnorm", string.format("rmsnorm_%d", m.dim), { n = m.dim, eps = m.norm_eps })
  plan.rope = add("rope", string.format("rope_hd%d", m.head_dim), { head_dim = m.head_dim })
  plan.swiglu = add("swiglu", string.format("swiglu_%d", m.hidden_dim), { n = m.hidden_dim })
  plan.residual_add = add("residual_add", string.format("residual_add_%d", m.dim), { n = m.dim })
  plan.attention = add("attention",
    string.format("attention_hd%d_h%d_kv%d_%s", m.head_dim, m.n_heads, m.n_kv_heads, m.weights.kv_cache),
    { head_dim = m.head_dim, n_heads = m.n_heads, n_kv_heads = m.n_kv_heads, seq_len = m.seq_len,
      kv_type = m.weights.kv_cache })
  return plan
end

-- Path of the template for `kind` on this ISA: the first of the ISA's
-- template folders that has one.
function M.template_path(root, isa, kind)
  for _, dir in ipairs(isa.template_dirs) do
    local path = string.format("%s/templates/kernels/%s/%s.c", root, dir, kind)
    local f = io.open(path, "r")
    if f then f:close(); return path end
  end
  error(string.format("no template for kernel '%s' on ISA %s", kind, isa.name), 0)
end

return M
