-- Planning: identical shapes share one kernel; every ISA has a template for
package.path = "tests/gen/?.lua;" .. package.path
-- every kernel; the build key changes when a template changes.
local t = require("check")
local model = require("model")
local plan_mod = require("plan")
local buildkey = require("buildkey")

local m = model.load("models/stories260k.lua")
for _, isa in ipairs({ "scalar", "avx2", "avx512" }) do
  local p = plan_mod.plan(m, isa)
  local names = {}
  for _, k in ipairs(p.kernels) do
    t.check(isa .. " names kernel " .. k.name .. " once", not names[k.name])
    names[k.name] = true
    t.check(isa .. " has a template for " .. k.kind, pcall(plan_mod.template_path, ".", p.isa, k.kind))
  end
  t.check(isa .. " q and o projections share a kernel", p.linear.wq == p.linear.wo)
  t.check(isa .. " k and v projections share a kernel", p.linear.wk == p.linear.wv)
  t.check(isa .. " 64x64, 32x64, 172x64, 64x172, 512x64 linear kernels",
    names.linear_f32_64x64 and names.linear_f32_32x64 and names.linear_f32_172x64 and names.linear_f32_64x172
    and names.linear_f32_512x64)
end

-- A description's kernels.linear pins the low-bit variant over the ISA's default.
local lut_i8 = model.load("models/stories260k-int4-lut-i8.lua")
for _, isa in ipairs({ "scalar", "avx2", "avx512" }) do
  local p = plan_mod.plan(lut_i8, isa)
  t.check(isa .. " pinned LUT with i8 tables", p.linear.wq.kind == "linear_lut" and p.linear.wq.params.table == "i8"
    and p.linear.w2.params.table == "i8" and p.linear.w2.params.layout:match(" table=i8$") ~= nil)
  local d = plan_mod.plan(model.load("models/stories260k-int4-lut-i16.lua"), isa)
  t.check(isa .. " pinned LUT with i16 tables", d.linear.wq.kind == "linear_lut" and d.linear.wq.params.table == "i16")
end

-- The key covers template sources: copy the tree, change one template, compare.
local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp .. " && cp -r gen templates " .. tmp)
local p = plan_mod.plan(m, "avx512")
local before = buildkey.compute(tmp, m, p)
t.check("key is stable", before == buildkey.compute(tmp, m, p))
local f = assert(io.open(tmp .. "/templates/kernels/scalar/rmsnorm.c", "a"))
f:write("/* changed */\n")
f:close()
t.check("key changes with a template", before ~= buildkey.compute(tmp, m, p))
t.check("key changes with the ISA", buildkey.compute(tmp, m, plan_mod.plan(m, "avx2")) ~= buildkey.compute(tmp, m, p))
os.execute("rm -rf " .. tmp)
t.done()
