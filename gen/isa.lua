-- Instruction sets the generator targets: compiler flags, where their kernel
-- templates live, and the blocking parameters each kernel uses by default.
-- Blocking parameters are data here (as BLIS keeps them per architecture),
-- not constants buried in templates; the tuner overrides them per shape.

local M = {}

M.isas = {
  scalar = {
    cflags = "",
    vector_bytes = 0,
    -- kernels/<dir>/ searched in order: the first that has the template wins
    template_dirs = { "scalar" },
    defaults = {
      prefill_chunk = 64,
      linear_f32 = { rows_per_task = 16 },
      attention = { kv_tile = 64, q_tile = 16 },
    },
  },
  avx2 = {
    cflags = "-march=x86-64-v3",
    vector_bytes = 32,
    template_dirs = { "avx2", "scalar" },
    defaults = {
      prefill_chunk = 64,
      linear_f32 = { rows_per_task = 16 },
      attention = { kv_tile = 64, q_tile = 16 },
    },
  },
  avx512 = {
    cflags = "-march=x86-64-v4",
    vector_bytes = 64,
    template_dirs = { "avx512", "avx2", "scalar" },
    defaults = {
      prefill_chunk = 64,
      linear_f32 = { rows_per_task = 16 },
      attention = { kv_tile = 64, q_tile = 16 },
    },
  },
  neon = {
    cflags = "-march=armv8.2-a+dotprod",
    vector_bytes = 16,
    template_dirs = { "neon", "scalar" },
    defaults = {
      prefill_chunk = 64,
      linear_f32 = { rows_per_task = 16 },
      attention = { kv_tile = 64, q_tile = 16 },
    },
  },
}

-- CPU features a build may use beyond its ISA's baseline, with the extra
-- compiler flags they need (configure reports which the host has).
M.features = {
  vnni = { isa = "avx512", cflags = "-mavx512vnni" },
  vbmi = { isa = "avx512", cflags = "-mavx512vbmi" },
}

function M.get(name)
  local isa = M.isas[name]
  if not isa then error("unknown ISA '" .. tostring(name) .. "' (known: scalar, avx2, avx512, neon)", 0) end
  isa.name = name
  return isa
end

-- Compiler flags for `name` with the listed features enabled.
function M.cflags(name, features)
  local flags = { M.get(name).cflags }
  for _, f in ipairs(features or {}) do
    local feat = M.features[f]
    if feat and feat.isa == name then flags[#flags + 1] = feat.cflags end
  end
  return table.concat(flags, " ")
end

return M
