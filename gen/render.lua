-- Turning a plan into C files: the one way every generator script renders
-- kernel instances (their ISA's templates) and their tests.

local template = require("template")
local plan_mod = require("plan")

local M = {}

-- Template parameters for the whole-file templates (templates/kernels.c,
-- kernels.h, kernel_tests.c, models/*.c, tests and benchmarks): the plan,
-- the model (or a table naming what the files are for), the ISA, and the
-- renderers of one instance's kernel and test.
function M.params(root, plan, model)
  local isa = plan.isa
  return {
    plan = plan, m = model, isa = isa, prefill_chunk = plan.prefill_chunk or isa.defaults.prefill_chunk,
    render_kernel = function(k)
      return (template.render(plan_mod.template_path(root, isa, k.kind), k.params):gsub("\n+$", ""))
    end,
    render_test = function(k)
      return (template.render(root .. "/templates/tests/" .. k.kind .. ".c", k.params):gsub("\n+$", ""))
    end,
  }
end

-- Write `text` to `path` unless the file already holds it, so that ninja
-- (restat) rebuilds nothing downstream of an unchanged output.
function M.write_if_changed(path, text)
  local f = io.open(path, "r")
  if f then
    local old = f:read("a")
    f:close()
    if old == text then return end
  end
  f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Render each template into `out`: `files` lists output names, each
-- rendered from templates/<name>, or pairs { output name, template path
-- under root }.
function M.files(root, params, out, files)
  os.execute("mkdir -p '" .. out .. "'")
  for _, f in ipairs(files) do
    local name, path
    if type(f) == "table" then name, path = f[1], f[2] else name, path = f, "templates/" .. f end
    M.write_if_changed(out .. "/" .. name, template.render(root .. "/" .. path, params))
  end
end

return M
