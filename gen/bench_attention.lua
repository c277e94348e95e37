-- Renders the attention benchmark (templates/bench/attention.c) for one
-- layout, by default BitNet b1.58 2B4T's (20 query heads, 5 KV heads,
-- head_dim 128, f16 cache, 4096 positions, 30 layers):
--
--   lua5.4 gen/bench_attention.lua --isa ISA --out DIR
--       [--heads 20 --kv_heads 5 --head_dim 128 --kv_type f16 --seq_len 4096 --layers 30]
--
-- Writes DIR/kernels.h, DIR/kernels.c and DIR/bench_attention.c.  Compile
-- them with the ISA's flags and runtime/{sched,bandwidth,arena,error}.c; run
-- `bench_attention build/bench.jsonl`.

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local usage = "usage: lua5.4 gen/bench_attention.lua --isa ISA --out DIR [--heads N --kv_heads N "
  .. "--head_dim N --kv_type f16|f32 --seq_len N --layers N]\n"
local opts = { heads = "20", kv_heads = "5", head_dim = "128", kv_type = "f16", seq_len = "4096", layers = "30" }
for i = 1, #arg, 2 do
  local key = arg[i]:match("^%-%-([%w_]+)$")
  if not key or opts[key] == nil and key ~= "isa" and key ~= "out" or arg[i + 1] == nil then
    io.stderr:write(usage)
    os.exit(2)
  end
  opts[key] = arg[i + 1]
end
if not (opts.isa and opts.out) then
  io.stderr:write(usage)
  os.exit(2)
end

local function number(key)
  local v = math.tointeger(tonumber(opts[key]))
  if not v or v <= 0 then
    io.stderr:write(string.format("gen/bench_attention.lua: --%s must be a positive integer (got %s)\n", key, opts[key]))
    os.exit(2)
  end
  return v
end

local shape = {
  head_dim = number("head_dim"), n_heads = number("heads"), n_kv_heads = number("kv_heads"),
  seq_len = number("seq_len"), kv_type = opts.kv_type,
}
local layers = number("layers")
-- the issue's cases, within the context
local decode_contexts, prefill_lengths = {}, {}
for _, ctx in ipairs({ 512, 2048, 4096 }) do
  if ctx <= shape.seq_len then decode_contexts[#decode_contexts + 1] = ctx end
end
for _, len in ipairs({ 512, 2048 }) do
  if len <= shape.seq_len then prefill_lengths[#prefill_lengths + 1] = len end
end

local ok, err = pcall(function()
  if shape.kv_type ~= "f16" and shape.kv_type ~= "f32" then error("--kv_type must be f16 or f32", 0) end
  if shape.n_heads % shape.n_kv_heads ~= 0 then error("--kv_heads must divide --heads", 0) end
  if #decode_contexts == 0 then error("--seq_len must be at least 512", 0) end
  local attention = require("attention")
  local render = require("render")
  local plan = attention.render_standalone(root, opts.isa, "the attention benchmark", { shape }, opts.out, {})
  local params = render.params(root, plan, { name = "the attention benchmark" })
  params.n_layers, params.decode_contexts, params.prefill_lengths = layers, decode_contexts, prefill_lengths
  render.files(root, params, opts.out, { { "bench_attention.c", "templates/bench/attention.c" } })
end)
if not ok then
  io.stderr:write("gen/bench_attention.lua: " .. tostring(err) .. "\n")
  os.exit(1)
end
