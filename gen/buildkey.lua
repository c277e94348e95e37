-- The build key: an XXH3 hash of everything a generated artifact depends on
-- (model table, kernel instances and their parameters, ISA and features, the
-- generator and template sources).  Changing any of them changes the key.

local xxh3 = require("xxh3")

local M = {}

-- Deterministic text form of a Lua value (tables with sorted keys).
local function serialize(v, out)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      local x = v[k]
      if type(x) ~= "function" then
        out[#out + 1] = tostring(k) .. "="
        serialize(x, out)
        out[#out + 1] = ","
      end
    end
    out[#out + 1] = "}"
  else
    out[#out + 1] = string.format("%q", v)
  end
  return out
end
M.serialize = function(v) return table.concat(serialize(v, {})) end

-- Contents of the generator and template sources, in a stable order.
local function sources(root)
  local list = {}
  local p = io.popen("cd '" .. root .. "' && find gen templates -type f -name '*.[ch]' -o -type f -name '*.lua' | LC_ALL=C sort")
  for path in p:lines() do list[#list + 1] = path end
  p:close()
  local parts = {}
  for _, path in ipairs(list) do
    local f = assert(io.open(root .. "/" .. path, "rb"))
    parts[#parts + 1] = path .. "\0" .. f:read("a")
    f:close()
  end
  return table.concat(parts, "\0")
end
M.sources = sources

function M.compute(root, model, plan)
  local kernels = {}
  for _, k in ipairs(plan.kernels) do kernels[#kernels + 1] = k.params end
  return xxh3.hex(table.concat({
    M.serialize(model), plan.isa.name, M.serialize(plan.features or {}), M.serialize(kernels), sources(root),
  }, "\0"))
end

return M
