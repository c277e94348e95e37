-- Planning: from a validated model table to the list of distinct kernel
-- instances it needs, each with its shape and blocking parameters.
-- Identical shapes share one kernel; the forward pass refers to kernels by
-- the role they play (plan.linear.wq, plan.rmsnorm, ...).

local attention = require("attention")
local isa_mod = require("isa")
local lowbit = require("lowbit")

local M = {}

-- C signature of each kernel kind, shared by kernels.h and the tests.
-- Activations are row-major [n tokens][width]; n = 1 when decoding, up to
-- the prefill chunk when prefilling.
M.signatures = {
  linear_f32 = "void %s(struct sched *s, float *restrict out, const float *restrict w, const float *restrict x, int n)",
  rmsnorm = "void %s(float *restrict out, const float *restrict x, const float *restrict weight, int n)",
  rope = "void %s(float *restrict vec, int n_heads, const float *restrict cos_pos, const float *restrict sin_pos)",
  swiglu = "void %s(float *restrict gate, const float *restrict up, int n)",
  -- q, out [n][n_heads * head_dim]; k_new (after RoPE), v_new [n][n_kv_heads * head_dim] are
  -- stored into one layer's cache at positions pos..pos+n-1 first (layout: gen/attention.lua);
  -- scratch: scratch_shared_bytes + threads * scratch_thread_bytes, 64-byte aligned.
  attention = "void %s(struct sched *s, float *restrict out, const float *restrict q, const float *restrict k_new, const float *restrict v_new, void *restrict k_cache, void *restrict v_cache, void *restrict scratch, int pos, int n)",
  residual_add = "void %s(float *restrict x, const float *restrict delta, int n)",
  relu2_gate = "void %s(float *restrict gate, const float *restrict up, int n)",
  -- token embedding lookup: rows of the table for n tokens, as f32
  embed_f32 = "void %s(float *restrict out, const float *restrict table, const int *restrict tokens, int n)",
  embed_f16 = "void %s(float *restrict out, const uint16_t *restrict table, const int *restrict tokens, int n)",
  embed_int8 = "void %s(float *restrict out, const int8_t *restrict table, const float *restrict row_scale, "
    .. "const int *restrict tokens, int n)",
  -- rows of a low-bit matrix in its packed layout (gen/lowbit.lua)
  embed_lowbit = "void %s(float *restrict out, const uint8_t *restrict w, const int *restrict tokens, int n)",
  -- output head (vocab x dim): f16 rows, or int8 rows with a scale per row
  -- times activations quantized to int8 in blocks (quantize_blocks)
  linear_f16 = "void %s(struct sched *s, float *restrict out, const uint16_t *restrict w, const float *restrict x, int n)",
  linear_int8 = "void %s(struct sched *s, float *restrict out, const int8_t *restrict w, "
    .. "const float *restrict row_scale, const int8_t *restrict xq, const float *restrict x_scale, int n)",
  quantize_blocks = "void %s(int8_t *restrict q, float *restrict scale, const float *restrict x, int n)",
  -- low-bit weights packed by runtime/pack.c in the instance's layout
  -- (gen/lowbit.lua) times activations quantized per token to int8
  -- (quantize_blocks, one block per token): xq [n][x_stride], x_scale [n]
  linear_mad = "void %s(struct sched *s, float *restrict out, const uint8_t *restrict w, "
    .. "const int8_t *restrict xq, const float *restrict x_scale, int n)",
  linear_lut = "void %s(struct sched *s, float *restrict out, const uint8_t *restrict w, "
    .. "const int8_t *restrict xq, const float *restrict x_scale, int n)",
}

-- Blocking parameters for one instance: the tuning database entry when
-- there is one, the ISA's documented defaults otherwise.
-- (opts.tuning is a database from gen/tuning.lua, keyed by kind, shape,
-- ISA, features and template sources.)
local function blocking(isa, kind, shape, opts)
  local entry = opts.tuning and opts.tuning:lookup(kind, shape, opts.features)
  if entry then return entry, "tuned" end
  return isa.defaults[kind] or {}, "default"
end

-- Activations feeding the int8 output head are quantized in blocks of this
-- many columns (one 64-byte vector of int8), each with its own scale; the
-- head's rows are padded to a whole number of blocks.
local int8_block = 64

local function padded_cols(wtype, cols)
  if wtype ~= "int8" then return cols end
  return (cols + int8_block - 1) // int8_block * int8_block
end
M.padded_cols = padded_cols

-- The output head (vocab x dim) in the description's output type.  The
-- int8 head uses VNNI dot products when the build has them; a low-bit head
-- (int4, int6) is a MAD kernel (`lowbit_linear`) reading the same int8
-- activations as the layers.
local function output_head(m, add, features, lowbit_linear)
  local wtype = m.weights.output
  if lowbit.wtypes[wtype] then return lowbit_linear(m.vocab_size, m.dim, wtype, { family = "mad" }) end
  local shape = { rows = m.vocab_size, cols = m.dim }
  if wtype == "int8" then
    shape.stride = padded_cols(wtype, m.dim)
    shape.block = int8_block
    shape.vnni = false
    for _, f in ipairs(features or {}) do shape.vnni = shape.vnni or f == "vnni" end
  end
  return add("linear_" .. wtype, string.format("linear_%s_%dx%d", wtype, m.vocab_size, m.dim), shape)
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
    local params, source = blocking(isa, kind, shape, opts)
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
  -- A low-bit layer: the variant (LUT or MAD, encoding) is `variant` when
  -- given, else the tuning database's measured choice for this shape
  -- (gen/isa.lua `choices`), else the ISA's default.
  local function lowbit_linear(rows, cols, wtype, variant, pinned)
    variant = variant or opts.tuning and opts.tuning:lookup("lowbit." .. wtype, { rows = rows, cols = cols }, opts.features)
    local shape = lowbit.shape(isa, opts.features, wtype, rows, cols, variant)
    local k = add("linear_" .. shape.family, lowbit.name(wtype, shape.family, rows, cols), shape)
    for key, v in pairs(pinned or {}) do k.params[key] = v end
    lowbit.derive(k.params)
    return k
  end
  local function linear(rows, cols)
    local wtype = m.weights.linear
    if lowbit.wtypes[wtype] then
      -- the description's pinned variant (kernels.linear) wins over tuning
      local pinned = m.kernels.linear
      local variant = next(pinned) and { family = pinned.family, encoding = pinned.encoding } or nil
      return lowbit_linear(rows, cols, wtype, variant, { table = pinned.table, g = pinned.g })
    end
    return add("linear_" .. wtype, string.format("linear_%s_%dx%d", wtype, rows, cols), { rows = rows, cols = cols })
  end
  plan.linear.wq = linear(m.dim, m.dim)
  plan.linear.wk = linear(m.kv_dim, m.dim)
  plan.linear.wv = plan.linear.wk
  plan.linear.wo = linear(m.dim, m.dim)
  plan.linear.w1 = linear(m.hidden_dim, m.dim)
  plan.linear.w3 = plan.linear.w1
  plan.linear.w2 = linear(m.dim, m.hidden_dim)
  plan.linear.output = output_head(m, add, opts.features, lowbit_linear)
  -- int8 activations shared by the low-bit layers reading the same vector
  plan.quantize_act = lowbit.attach_quantizers(plan, add)
  if lowbit.wtypes[m.weights.embedding] then
    -- the lookup dequantizes rows of the head's packed layout
    local head, layout = plan.linear.output.params, {}
    for _, k in ipairs({ "family", "encoding", "wtype", "rows", "cols", "rg", "slabs", "slab_cols", "slab_bytes",
                         "bits", "offset", "per_tensor", "sb", "blocks", "scale_offset", "layout",
                         "sub", "subs", "sub_offset" }) do
      layout[k] = head[k]
    end
    plan.embedding = add("embed_lowbit", "embed_" .. plan.linear.output.name, layout)
  else
    plan.embedding = add("embed_" .. m.weights.embedding,
      string.format("embed_%s_%dx%d", m.weights.embedding, m.vocab_size, m.dim),
      { rows = m.vocab_size, cols = m.dim, stride = padded_cols(m.weights.embedding, m.dim) })
  end
  if m.weights.output == "int8" then
    plan.head_quant = add("quantize_blocks", string.format("quantize_blocks_%d", m.dim),
      { n = m.dim, block = int8_block, stride = padded_cols("int8", m.dim) })
  end

  plan.rmsnorm = add("rmsnorm", string.format("rmsnorm_%d", m.dim), { n = m.dim, eps = m.norm_eps })
  plan.rope = add("rope", string.format("rope_%s_hd%d", m.rope_style, m.head_dim),
    { head_dim = m.head_dim, style = m.rope_style })
  -- the gated activation is the description's choice, never the architecture's
  local gate_kind = ({ silu = "swiglu", relu2 = "relu2_gate" })[m.activation]
  plan.gate_act = add(gate_kind, string.format("%s_%d", gate_kind, m.hidden_dim), { n = m.hidden_dim })
  if m.arch == "bitnet" then
    -- BitNet b1.58 normalizes the attention output and the gated FFN
    -- activation again before their (quantized) output projections
    plan.sub_norm_attn = plan.rmsnorm
    plan.sub_norm_ffn = add("rmsnorm", string.format("rmsnorm_%d", m.hidden_dim), { n = m.hidden_dim, eps = m.norm_eps })
  end
  plan.residual_add = add("residual_add", string.format("residual_add_%d", m.dim), { n = m.dim })
  local attention_shape = { head_dim = m.head_dim, n_heads = m.n_heads, n_kv_heads = m.n_kv_heads,
                            seq_len = m.seq_len, kv_type = m.weights.kv_cache }
  plan.attention = add("attention", attention.name(attention_shape), attention_shape)
  attention.derive(plan.attention.params, isa)
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
