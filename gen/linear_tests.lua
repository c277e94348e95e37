-- Renders every low-bit linear kernel family, weight type and encoding the
-- ISA has, for odd and edge shapes (1 row, columns not a multiple of any
-- slab or block, rows not a multiple of a row group) and BitNet 2B4T's real
-- shapes, with their generated tests, so the kernels under test are the
-- generated ones:
--
--   lua5.4 gen/linear_tests.lua --isa avx512 [--features "vnni vbmi"] --out build/linear_tests/avx512
--
-- Writes kernels.h, kernels.c and kernel_tests.c into --out (compile
-- kernel_tests.c and kernels.c with the ISA's flags, runtime/pack.c and the
-- scheduler; include paths: runtime/ and tests/).
--
-- With --model DESCRIPTION (low-bit linear weights) it renders that model's
-- kernels instead, and lowbit_forward.c: its quantizer and linear kernels
-- wired as the forward pass wires them, against f32 with the dequantized
-- weights (templates/tests/lowbit_forward.c).

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local isa_mod = require("isa")
local model_mod = require("model")
local plan_mod = require("plan")
local lowbit = require("lowbit")
local render = require("render")
local buildkey = require("buildkey")

local opts = { features = "" }
for i = 1, #arg, 2 do
  local key = arg[i]:match("^%-%-(%w+)$")
  if not key or arg[i + 1] == nil then
    io.stderr:write("usage: lua5.4 gen/linear_tests.lua --isa ISA [--features LIST] --out DIR\n")
    os.exit(2)
  end
  opts[key] = arg[i + 1]
end
if not opts.isa or not opts.out then
  io.stderr:write("linear_tests: --isa and --out are required\n")
  os.exit(2)
end

local shapes = {
  { 1, 5 }, { 3, 16 }, { 17, 100 }, { 33, 300 }, { 50, 1000 },  -- odd and edge
  { 640, 2560 }, { 2560, 6912, largest = true },                  -- BitNet b1.58 2B4T
}

-- The model's own kernels and its low-bit forward check.
local function model_check(isa, features)
  local model = model_mod.load(opts.model)
  local plan = plan_mod.plan(model, isa.name, { features = features })
  if not plan.quantize_act[model.dim] then error(opts.model .. ": linear weights are not low-bit", 0) end
  plan.features = features
  plan.build_key = buildkey.compute(root, model, plan)
  local params = render.params(root, plan, model)
  -- relative L2 error of the FFN chain: int8 activations twice over, the
  -- gated product's outliers (absmax several times its rms) coarsening the second
  params.ffn_tolerance = 0.05
  render.files(root, params, opts.out, { "kernels.h", "kernels.c", { "lowbit_forward.c", "templates/tests/lowbit_forward.c" } })
end

local function main()
  local isa = isa_mod.get(opts.isa)
  local features = {}
  for f in opts.features:gmatch("%S+") do features[#features + 1] = f end
  if opts.model then return model_check(isa, features) end
  local plan = { isa = isa, kernels = {}, features = features }
  local has_gfni, without_gfni = false, {}
  for _, f in ipairs(features) do
    if f == "gfni" then has_gfni = true else without_gfni[#without_gfni + 1] = f end
  end
  for _, wtype in ipairs({ "ternary", "int2", "int4", "int6" }) do
    -- mad: each encoding; lut: each table precision and group size (g = 2
    -- not at the largest shape, whose reference and packing take seconds);
    -- int6 (sub-block scales) is mad only
    local variants = {}
    for _, encoding in ipairs(lowbit.mad_encodings(isa, features, wtype)) do
      variants[#variants + 1] = { family = "mad", encoding = encoding, label = encoding }
      -- trit5 extracts digit fields with GFNI where the CPU has it: the
      -- shift-and-mask path stays tested for CPUs without
      if encoding == "trit5" and has_gfni then
        variants[#variants + 1] = { family = "mad", encoding = encoding, label = "trit5nogfni", features = without_gfni }
      end
    end
    for _, g in ipairs(wtype == "int6" and {} or { 4, 2 }) do
      for _, tab in ipairs({ "i16", "i8" }) do
        variants[#variants + 1] = { family = "lut", encoding = "planes", table = tab, g = g, label = tab .. "g" .. g }
      end
    end
    for _, v in ipairs(variants) do
      for i, s in ipairs(shapes) do
        if not (s.largest and v.g == 2) then
          local k = lowbit.instance(isa, v.features or features, plan_mod.signatures, {
            wtype = wtype, family = v.family, encoding = v.encoding, table = v.table, g = v.g, rows = s[1], cols = s[2],
            name = string.format("linear_%s_%s_%s_%dx%d", wtype, v.family, v.label, s[1], s[2]),
          })
          -- in a model, activations shared with a wider-padded layer have a longer stride
          if i % 2 == 0 then k.params.x_stride = k.params.cols_pad + 64 end
          plan.kernels[#plan.kernels + 1] = k
        end
      end
    end
  end
  plan.build_key = buildkey.compute(root, { name = "linear_tests" }, plan)
  render.files(root, render.params(root, plan, { name = "linear_tests" }), opts.out,
    { "kernels.h", "kernels.c", "kernel_tests.c" })
end

local ok, err = pcall(main)
if not ok then
  io.stderr:write("linear_tests: " .. tostring(err) .. "\n")
  os.exit(1)
end
