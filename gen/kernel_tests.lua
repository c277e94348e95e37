-- Renders one test program per ISA for every distinct kernel instance the
-- given models use, each tested once however many models share it (the
-- 2B4T variants share their layers, Falcon3 7B and 10B every kernel but
-- attention):
--
--   lua5.4 gen/kernel_tests.lua --isa avx512 [--features "vnni vbmi"] [--tuning DIR] --out DIR models/A.lua ...
--
-- Writes kernels.h, kernels.c and kernel_tests.c into --out, rendered as
-- each model's own build renders them (same templates, tuning database and
-- features), so the kernels under test are the models' kernels.  Two
-- instances of one name with different parameters (a model's own tuning,
-- another norm epsilon) are both tested, the later renamed NAME_2, ...

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local model_mod = require("model")
local plan_mod = require("plan")
local render = require("render")
local buildkey = require("buildkey")

local opts, models = { features = "" }, {}
local i = 1
while i <= #arg do
  local key = arg[i]:match("^%-%-(%w+)$")
  if key then
    if arg[i + 1] == nil then error("option --" .. key .. " needs a value", 0) end
    opts[key] = arg[i + 1]
    i = i + 2
  else
    models[#models + 1] = arg[i]
    i = i + 1
  end
end

local function main()
  if not opts.isa or not opts.out or #models == 0 then
    error("usage: lua5.4 gen/kernel_tests.lua --isa ISA [--features LIST] [--tuning DIR] --out DIR MODEL.lua...", 0)
  end
  local features = {}
  for f in opts.features:gmatch("%S+") do features[#features + 1] = f end
  local tuning = opts.tuning and require("tuning").load(opts.tuning, opts.isa) or nil
  local all = { kernels = {}, features = features }
  local seen, taken = {}, {}  -- instance text -> true; name -> instances so named
  for _, path in ipairs(models) do
    local plan = plan_mod.plan(model_mod.load(path), opts.isa, { tuning = tuning, features = features })
    all.isa = plan.isa
    for _, k in ipairs(plan.kernels) do
      local text = k.kind .. buildkey.serialize(k.params)
      if not seen[text] then
        seen[text] = true
        taken[k.name] = (taken[k.name] or 0) + 1
        if taken[k.name] > 1 then
          local name = k.name .. "_" .. taken[k.name]
          k.params.name, k.name = name, name
          k.signature = string.format(plan_mod.signatures[k.kind], name)
        end
        all.kernels[#all.kernels + 1] = k
      end
    end
  end
  all.build_key = buildkey.compute(root, { name = "kernel_tests", models = models }, all)
  render.files(root, render.params(root, all, { name = "every model" }), opts.out,
    { "kernels.h", "kernels.c", "kernel_tests.c" })
end

local ok, err = pcall(main)
if not ok then
  io.stderr:write("kernel_tests: " .. tostring(err) .. "\n")
  os.exit(1)
end
