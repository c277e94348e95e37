-- The attention test matrix: the generated attention kernel for layouts
-- beyond any one model's (head_dim 64/128 x query heads per KV head 1/2/4 x
-- f16/f32 cache at contexts up to 4096, the BitNet b1.58 2B4T layout, and odd
-- shapes with partial vectors), each tested by templates/tests/attention.c
-- in the harness of templates/kernel_tests.c.
--
--   lua5.4 gen/attention_tests.lua --isa ISA --out DIR
--
-- writes DIR/kernels.h, DIR/kernels.c and DIR/attention_tests.c.

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local opts = {}
for i = 1, #arg, 2 do
  local key = arg[i]:match("^%-%-(%w+)$")
  if not (key == "isa" or key == "out") or arg[i + 1] == nil then
    io.stderr:write("usage: lua5.4 gen/attention_tests.lua --isa ISA --out DIR\n")
    os.exit(2)
  end
  opts[key] = arg[i + 1]
end
if not (opts.isa and opts.out) then
  io.stderr:write("usage: lua5.4 gen/attention_tests.lua --isa ISA --out DIR\n")
  os.exit(2)
end

local shapes = {}
for _, head_dim in ipairs({ 64, 128 }) do
  for _, group in ipairs({ 1, 2, 4 }) do
    for _, kv_type in ipairs({ "f16", "f32" }) do
      shapes[#shapes + 1] = { head_dim = head_dim, n_heads = 2 * group, n_kv_heads = 2, seq_len = 4096, kv_type = kv_type }
    end
  end
end
-- BitNet b1.58 2B4T, the benchmark's layout
shapes[#shapes + 1] = { head_dim = 128, n_heads = 20, n_kv_heads = 5, seq_len = 4096, kv_type = "f16" }
-- partial vectors, a group of 3 or 5, a head stride that is not whole cache lines
shapes[#shapes + 1] = { head_dim = 20, n_heads = 6, n_kv_heads = 2, seq_len = 300, kv_type = "f16" }
shapes[#shapes + 1] = { head_dim = 6, n_heads = 5, n_kv_heads = 1, seq_len = 100, kv_type = "f32" }
shapes[#shapes + 1] = { head_dim = 8, n_heads = 8, n_kv_heads = 4, seq_len = 512, kv_type = "f32" }

local ok, err = pcall(require("attention").render_standalone, root, opts.isa, "the attention test matrix", shapes,
  opts.out, { ["attention_tests.c"] = "templates/kernel_tests.c" })
if not ok then
  io.stderr:write("gen/attention_tests.lua: " .. tostring(err) .. "\n")
  os.exit(1)
end
