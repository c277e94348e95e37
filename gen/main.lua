-- ryot generator: model description -> specialized C for one ISA.
--
--   lua5.4 gen/main.lua --model models/NAME.lua --isa avx512 [--features "vnni vbmi"]
--                       --out build/NAME [--tuning tuning/]
--
-- Writes kernels.h, kernels.c, forward.c and kernel_tests.c into --out;
-- a file whose content did not change is left untouched.

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local model_mod = require("model")
local plan_mod = require("plan")
local render = require("render")
local buildkey = require("buildkey")

local function usage(msg)
  io.stderr:write("gen: " .. msg .. "\n")
  io.stderr:write("usage: lua5.4 gen/main.lua --model models/NAME.lua --isa ISA --out DIR [--features LIST] [--tuning DIR]\n")
  os.exit(2)
end

local opts = { features = "" }
local i = 1
while i <= #arg do
  local flag, value = arg[i], arg[i + 1]
  local key = flag:match("^%-%-(%w+)$")
  if not key or not ({ model = 1, isa = 1, out = 1, features = 1, tuning = 1 })[key] then
    usage("unknown option '" .. flag .. "'")
  end
  if value == nil then usage("option '" .. flag .. "' needs a value") end
  opts[key] = value
  i = i + 2
end
for _, k in ipairs({ "model", "isa", "out" }) do
  if not opts[k] then usage("missing --" .. k) end
end

-- Forward-pass template per architecture: BitNet b1.58 is a llama with
-- sub-layer norms and quantized activations, so one template serves both.
local forward_template = { llama = "llama", bitnet = "llama" }

local ok, err = pcall(function()
  local model = model_mod.load(opts.model)
  local features = {}
  for f in opts.features:gmatch("%S+") do features[#features + 1] = f end
  local tuning = opts.tuning and require("tuning").load(opts.tuning, opts.isa) or nil
  local plan = plan_mod.plan(model, opts.isa, { tuning = tuning, features = features })
  plan.features = features
  plan.build_key = buildkey.compute(root, model, plan)

  render.files(root, render.params(root, plan, model), opts.out, { "kernels.h", "kernels.c", "kernel_tests.c",
    { "forward.c", "templates/models/" .. forward_template[model.arch] .. ".c" } })
end)
if not ok then
  io.stderr:write("gen: " .. tostring(err) .. "\n")
  os.exit(1)
end
