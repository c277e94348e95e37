-- Attention planning (gen/attention.lua): scratch is O(tile), never
-- O(context); the cache layout is cache-line aligned; register blocking stays
-- within each ISA's vector registers and divides what it blocks; the
-- forward pass of every model gets the instance its description asks for.
package.path = "tests/gen/?.lua;" .. package.path
local t = require("check")
local attention = require("attention")
local isa_mod = require("isa")
local model = require("model")
local plan_mod = require("plan")

local function instance(isa_name, shape)
  local p = {}
  for k, v in pairs(isa_mod.get(isa_name).defaults.attention) do p[k] = v end
  for k, v in pairs(shape) do p[k] = v end
  return attention.derive(p, isa_mod.get(isa_name))
end

local layouts = {
  { head_dim = 128, n_heads = 20, n_kv_heads = 5, kv_type = "f16" },   -- BitNet b1.58 2B4T
  { head_dim = 96, n_heads = 16, n_kv_heads = 16, kv_type = "f16" },   -- bitnet_b1_58-large
  { head_dim = 8, n_heads = 8, n_kv_heads = 4, kv_type = "f32" },      -- stories260K
  { head_dim = 20, n_heads = 6, n_kv_heads = 2, kv_type = "f16" },     -- partial vectors, group of 3
  { head_dim = 256, n_heads = 64, n_kv_heads = 4, kv_type = "f32" },   -- group of 16
}
for _, isa_name in ipairs({ "scalar", "avx2", "avx512", "neon" }) do
  local regs = isa_name == "avx512" and 32 or 16
  for _, shape in ipairs(layouts) do
    local what = string.format("%s hd%d g%d %s", isa_name, shape.head_dim, shape.n_heads // shape.n_kv_heads,
      shape.kv_type)
    local short, long = {}, {}
    for k, v in pairs(shape) do short[k], long[k] = v, v end
    short.seq_len, long.seq_len = 300, 131072
    local a, b = instance(isa_name, short), instance(isa_name, long)
    t.check(what .. ": scratch does not grow with the context",
      a.scratch_thread_bytes == b.scratch_thread_bytes and a.scratch_shared_bytes == b.scratch_shared_bytes)
    t.check(what .. ": scratch regions are whole cache lines",
      a.scratch_thread_bytes % 64 == 0 and a.scratch_shared_bytes % 64 == 0)
    local elem = shape.kv_type == "f16" and 2 or 4
    t.check(what .. ": each KV head's cache starts on a cache line and holds the context",
      a.cache_head_stride * elem % 64 == 0 and a.cache_head_stride >= 300 * shape.head_dim
      and a.cache_layer_bytes == shape.n_kv_heads * a.cache_head_stride * elem)
    t.check(what .. ": a prefill tile holds q_rows rows, or one position",
      a.rows <= math.max(a.q_rows, a.group) and a.r_pad % a.lanes == 0 and a.kv_tile % a.lanes == 0
      and a.decode_tile % a.lanes == 0)
    if a.lanes > 1 then
      t.check(what .. ": register blocks fit the vector registers",
        a.score_keys * a.score_rvecs + a.score_rvecs + 1 <= regs
        and a.pv_rows * a.pv_dvecs + a.pv_dvecs + 1 <= regs
        and a.dec_pv_rows * a.pv_dvecs + a.pv_dvecs + 1 <= regs and a.dec_score_rows + 2 <= regs)
      t.check(what .. ": register blocks divide what they block",
        a.r_vecs % a.score_rvecs == 0 and a.r_pad % a.pv_rows == 0 and a.hd_vecs % a.pv_dvecs == 0
        and a.group % a.dec_pv_rows == 0 and a.group % a.dec_score_rows == 0)
    else
      t.check(what .. ": the scalar template needs no vector scratch", a.scratch.qd == nil and a.scratch.red == nil)
    end
  end
end

-- every model's forward pass gets an instance of its own layout and cache type
for _, name in ipairs({ "stories260k", "bitnet-b1.58-2b-4t", "bitnet-b1.58-large" }) do
  local m = model.load("models/" .. name .. ".lua")
  local p = plan_mod.plan(m, "avx512", { features = {} })
  local a = p.attention.params
  t.check(name .. ": attention instance of the model's layout",
    a.head_dim == m.head_dim and a.n_heads == m.n_heads and a.n_kv_heads == m.n_kv_heads
    and a.seq_len == m.seq_len and a.kv_type == m.weights.kv_cache and p.attention.name == attention.name(a))
end

t.done()
