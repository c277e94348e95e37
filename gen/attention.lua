-- Attention kernel planning: everything an attention instance's templates
-- need beyond its layout and blocking parameters, derived in one place so
-- the kernel (templates/kernels/*/attention.c), its test, its benchmark and
-- the forward pass that allocates its cache and scratch agree.
--
-- Layout (the shape of one instance): head_dim, n_heads, n_kv_heads,
-- seq_len, kv_type ("f16" | "f32").
-- Blocking (isa.lua defaults.attention, or the tuning database):
--   q_rows     query rows per prefill tile; a row is one (query position,
--              query head) pair of a KV head's group, so a tile holds
--              q_rows / group positions (at least 1)
--   kv_tile    cache positions per prefill tile: only one tile of scores is
--              ever stored, so scratch is O(tile), never O(context)
--   decode_tile  cache positions per decode tile: small, so K and V stream
--              from memory in turns of a few KB and stay in L1 (2B4T at 4096
--              positions, AVX-512, 2 threads: 0.85 of read bandwidth with 16,
--              about 0.6 with 64)
--   split_min  decode: fewest (KV head, cache position) pairs per task of
--              the flash-decoding split
--   max_tasks  decode: most tasks a step is split into (bounds the partials
--              scratch)
--
-- KV cache of one layer: [n_kv_heads][cache_head_stride] elements of
-- kv_type; within a head, rows [position][head_dim].  Each head starts on a
-- cache line, and streams contiguously when decoding.

local M = {}

local function round_up(x, m) return (x + m - 1) // m * m end

-- Largest divisor of n that is at most cap (at least 1).
local function divisor_at_most(n, cap)
  for d = math.min(n, cap), 1, -1 do
    if n % d == 0 then return d end
  end
  return 1
end

function M.name(shape)
  return string.format("attention_hd%d_h%d_kv%d_%s_ctx%d", shape.head_dim, shape.n_heads, shape.n_kv_heads,
    shape.kv_type, shape.seq_len)
end

-- Scratch regions in bytes, each starting on a cache line: `fields` lists
-- {name, floats}; returns offsets by name and the total.
local function layout(fields)
  local offsets, at = {}, 0
  for _, f in ipairs(fields) do
    offsets[f[1]] = at
    at = at + round_up(f[2] * 4, 64)
  end
  return offsets, at
end

-- Adds the derived parameters to `p` (an instance's params: layout and
-- blocking) for ISA `isa` (a table from isa.lua).
function M.derive(p, isa)
  -- templates/kernels/avx2/attention.c serves avx2 and avx512 (8 or 16
  -- lanes); every other ISA renders the scalar template.
  local simd = isa.name == "avx2" or isa.name == "avx512"
  local lanes = simd and isa.vector_bytes // 4 or 1
  local regs = lanes == 16 and 32 or 16  -- vector registers (x86: zmm / ymm)
  p.lanes = lanes
  p.group = p.n_heads // p.n_kv_heads
  p.hd_pad = round_up(p.head_dim, lanes)        -- f32 row stride in scratch
  p.hd_vecs = p.hd_pad // lanes
  p.hd_tail = p.head_dim % lanes                -- lanes of a partial last vector (0: none)
  p.q_tile = math.max(1, p.q_rows // p.group)   -- query positions per prefill tile
  p.rows = p.q_tile * p.group
  p.r_pad = round_up(p.rows, lanes)
  p.r_vecs = p.r_pad // lanes
  p.kv_tile = round_up(p.kv_tile, lanes)
  p.decode_tile = round_up(p.decode_tile, lanes)
  -- log2(e) / sqrt(head_dim): scores come out in base-2 units for exp2
  p.score_scale = 1 / math.sqrt(p.head_dim) / math.log(2)

  local key_rows = p.kv_tile  -- rows of the K tile and of the score tile
  if simd then
    -- Register blocking.  Prefill scores: score_keys cache rows x
    -- score_rvecs row vectors of accumulators, plus the row vectors and a
    -- broadcast.
    p.score_rvecs = divisor_at_most(p.r_vecs, lanes == 16 and 4 or 2)
    p.score_keys = math.max(1, math.min(8, (regs - p.score_rvecs - 2) // p.score_rvecs))
    key_rows = round_up(p.kv_tile, p.score_keys)
    -- P.V: pv_rows rows (dec_pv_rows query heads when decoding) x pv_dvecs
    -- vectors of head_dim, plus the V vectors and a broadcast.
    p.pv_dvecs = divisor_at_most(p.hd_vecs, lanes == 16 and 4 or 2)
    local acc = regs - p.pv_dvecs - 2
    p.pv_rows = divisor_at_most(p.r_pad, acc // p.pv_dvecs)
    p.dec_pv_rows = divisor_at_most(p.group, acc // p.pv_dvecs)
    -- decode scores: one accumulator per query head of a block
    p.dec_score_rows = divisor_at_most(p.group, 8)
  end

  local elem = p.kv_type == "f16" and 2 or 4
  p.cache_head_stride = round_up(p.seq_len * p.head_dim * elem, 64) // elem
  p.cache_layer_bytes = p.n_kv_heads * p.cache_head_stride * elem

  -- Per-thread scratch: one tile of everything, independent of context.
  local fields = {
    { "qt", p.head_dim * p.r_pad },       -- the query tile, scaled (SIMD: transposed)
    { "st", math.max(key_rows * p.r_pad, p.group * p.decode_tile) },  -- one tile of scores, then probabilities
    { "kt", key_rows * p.hd_pad },        -- K tile in f32
    { "vt", p.kv_tile * p.hd_pad },       -- V tile in f32
    { "o", p.r_pad * p.hd_pad },          -- output accumulators
    { "qpos", p.r_pad },                  -- last position each row sees
    { "m", p.r_pad }, { "l", p.r_pad },   -- running max and sum
  }
  if simd then
    fields[#fields + 1] = { "corr", p.r_pad }                    -- rescale factors of a tile
    fields[#fields + 1] = { "lsum", p.group * lanes }           -- decode: running sums per lane
    fields[#fields + 1] = { "qd", p.group * p.hd_pad }           -- decode: the group's queries
    fields[#fields + 1] = { "red", p.group * lanes * lanes }    -- decode: dot products to reduce
  end
  p.scratch, p.scratch_thread_bytes = layout(fields)
  -- Shared: flash-decoding partial results; a KV head split over tasks
  -- leaves one part per task, at most n_kv_heads + max_tasks - 1 in all.
  local parts = (p.n_kv_heads + p.max_tasks - 1) * p.group
  p.partials, p.scratch_shared_bytes = layout({
    { "o", parts * p.hd_pad }, { "m", parts }, { "l", parts },
  })
  return p
end

-- Plan of attention instances alone (for the attention test matrix and
-- benchmark drivers), in the form templates/kernels.{h,c} and
-- templates/kernel_tests.c render: { isa, kernels, build_key }.
local function standalone_plan(root, isa_name, shapes)
  local isa = require("isa").get(isa_name)
  local signature = require("plan").signatures.attention
  local plan = { isa = isa, kernels = {}, features = {} }
  for _, shape in ipairs(shapes) do
    local params = {}
    for key, v in pairs(isa.defaults.attention) do params[key] = v end
    for key, v in pairs(shape) do params[key] = v end
    params.name = M.name(shape)
    M.derive(params, isa)
    plan.kernels[#plan.kernels + 1] = {
      kind = "attention", name = params.name, shape = shape, source = "default", params = params,
      signature = string.format(signature, params.name),
    }
  end
  plan.build_key = require("buildkey").compute(root, { name = "attention" }, plan)
  return plan
end

-- Render the attention kernels of `shapes` for ISA `isa_name` into `out`
-- (kernels.h, kernels.c) plus `files`: { [output name] = template path
-- under root }.  The templates see plan, m (a pseudo model naming `title`),
-- isa, prefill_chunk, render_kernel and render_test.  A file whose content
-- did not change is left untouched.
function M.render_standalone(root, isa_name, title, shapes, out, files)
  local render = require("render")  -- here: render requires plan, which requires this module
  local plan = standalone_plan(root, isa_name, shapes)
  local all = { "kernels.h", "kernels.c" }
  for name, path in pairs(files) do all[#all + 1] = { name, path } end
  render.files(root, render.params(root, plan, { name = title }), out, all)
  return plan
end

return M
