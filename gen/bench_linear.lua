-- Renders the low-bit linear benchmark: every family, weight type and
-- encoding the ISA has, for BitNet b1.58 2B4T's linear shapes (lut with the
-- default table and group size, and for ternary each of table i16 / i8
-- and g 4 / 2, labelled "i16g4" ... in the encoding column), plus the
-- scalar kernels of the same family and variant as reference:
--
--   lua5.4 gen/bench_linear.lua --isa avx512 [--features "vnni vbmi"] --out build/bench/linear [--ws_mib 1024]
--
-- Writes OUT/ISA/kernels.{h,c}, OUT/scalar/kernels.{h,c} and OUT/bench.c
-- (templates/bench/linear.c).  Compile each kernels.c with its ISA's flags
-- (-I its folder), bench.c with runtime/{pack,bandwidth,sched,error,...}.c,
-- and run `bench build/bench.jsonl`.

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local isa_mod = require("isa")
local plan_mod = require("plan")
local lowbit = require("lowbit")
local template = require("template")
local render = require("render")
local buildkey = require("buildkey")

local opts = { features = "", ws_mib = "1024" }
for i = 1, #arg, 2 do
  local key = arg[i]:match("^%-%-([%w_]+)$")
  if not key or arg[i + 1] == nil then
    io.stderr:write("usage: lua5.4 gen/bench_linear.lua --isa ISA [--features LIST] --out DIR [--ws_mib MIB]\n")
    os.exit(2)
  end
  opts[key] = arg[i + 1]
end

-- BitNet b1.58 2B4T: q/o, k/v, gate/up, down
local shapes = { { 2560, 2560 }, { 640, 2560 }, { 6912, 2560 }, { 2560, 6912 } }

-- kernels.h and kernels.c of one ISA's instances into dir
local function render_kernels(dir, isa, features, kernels)
  local plan = { isa = isa, kernels = kernels, features = features }
  plan.build_key = buildkey.compute(root, { name = "bench_linear" }, plan)
  render.files(root, render.params(root, plan, { name = "bench_linear" }), dir, { "kernels.h", "kernels.c" })
end

local function main()
  if not opts.isa or not opts.out then error("--isa and --out are required", 0) end
  local isa = isa_mod.get(opts.isa)
  local scalar = isa_mod.get("scalar")
  local features = {}
  for f in opts.features:gmatch("%S+") do features[#features + 1] = f end
  local kernels, refs, cases = {}, {}, {}
  for _, s in ipairs(shapes) do
    for _, wtype in ipairs({ "ternary", "int2", "int4", "int6" }) do
      local variants = {}
      for _, encoding in ipairs(lowbit.mad_encodings(isa, features, wtype)) do
        variants[#variants + 1] = { family = "mad", encoding = encoding, label = encoding }
      end
      local lut = isa.defaults.linear_lut
      -- int6 (sub-block scales) is mad only
      for _, g in ipairs(wtype == "int6" and {} or wtype == "ternary" and { 4, 2 } or { lut.g }) do
        for _, tab in ipairs(wtype == "ternary" and { "i16", "i8" } or { lut.table }) do
          variants[#variants + 1] = { family = "lut", encoding = "planes", table = tab, g = g, label = tab .. "g" .. g }
        end
      end
      for _, v in ipairs(variants) do
        local spec = { wtype = wtype, family = v.family, encoding = v.encoding, table = v.table, g = v.g,
                       rows = s[1], cols = s[2] }
        local suffix = string.format("linear_%s_%s_%s_%dx%d", wtype, v.family, v.label, s[1], s[2])
        spec.name = isa.name .. "_" .. suffix
        local k = lowbit.instance(isa, features, plan_mod.signatures, spec)
        spec.name = "scalar_" .. suffix
        local r = lowbit.instance(scalar, {}, plan_mod.signatures, spec)
        kernels[#kernels + 1], refs[#refs + 1] = k, r
        cases[#cases + 1] = {
          rows = s[1], cols = s[2], wtype = wtype, family = v.family, encoding = v.label, isa = isa.name,
          fn = k.name, layout = k.params.layout, x_stride = k.params.x_stride,
          ref_fn = r.name, ref_layout = r.params.layout, ref_x_stride = r.params.x_stride,
        }
      end
    end
  end
  render_kernels(opts.out .. "/" .. isa.name, isa, features, kernels)
  render_kernels(opts.out .. "/scalar", scalar, {}, refs)
  render.write_if_changed(opts.out .. "/bench.c", template.render(root .. "/templates/bench/linear.c",
    { cases = cases, ws_mib = math.tointeger(tonumber(opts.ws_mib)), host_isa = isa.name }))
end

local ok, err = pcall(main)
if not ok then
  io.stderr:write("bench_linear: " .. tostring(err) .. "\n")
  os.exit(1)
end
