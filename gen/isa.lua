-- Instruction sets the generator targets: compiler flags, where their kernel
-- templates live, and the blocking parameters each kernel uses by default.
-- Blocking parameters are data here (as BLIS keeps them per architecture),
-- not constants buried in templates; the tuner overrides them per shape.

local M = {}

-- Blocking defaults every ISA starts from; an ISA's own `defaults` replace
-- these kind by kind (see the merge below).
local common_defaults = {
  -- tokens per forward step when prefilling
  prefill_chunk = 64,
  linear_f32 = { rows_per_task = 16 },
  -- output head GEMV (vocab rows): 64 rows of a few KB per task
  linear_f16 = { rows_per_task = 64 },
  -- prefetch_rows: SIMD head rows prefetch the row this far ahead (0: off;
  -- 4 was ~7% faster than 8 on 2B4T's head, tuned on Zen 4)
  linear_int8 = { rows_per_task = 64, prefetch_rows = 4 },
  -- low-bit linear layers (gen/lowbit.lua): which family and encoding
  -- each weight type uses, and its scale block (columns per f16 scale)
  lowbit = {
    ternary = { family = "mad", encoding = "code2" },
    int2 = { family = "mad", encoding = "code2", scale_block = 128 },
    int4 = { family = "mad", encoding = "code4", scale_block = 64 },
    -- Q6_K's structure: 256-column super-blocks (f16 scale) of 16-column
    -- sub-blocks (int8 scale), gen/lowbit.lua
    int6 = { family = "mad", encoding = "code6", scale_block = 256 },
  },
  -- rg: rows per group (the rows one vector holds); rows_per_task: rows
  -- per parallel_for chunk; token_tile: tokens per pass over the weights
  -- in GEMM (bounds the per-token scratch: sums or tables on the stack)
  linear_mad = { rg = 4, rows_per_task = 64, token_tile = 64 },
  -- q: byte columns per slab (8q columns, 8q/g groups of g), order of a
  -- slab's bytes (rq: row-major); g: columns per table group (a plane's
  -- g-bit field indexes a table of 2^g subset sums); table: i16 keeps the
  -- sums exact, i8 quantizes them per token (gen/lowbit.lua)
  linear_lut = { rg = 4, q = 1, order = "rq", g = 4, table = "i16", rows_per_task = 64, token_tile = 4 },
  attention = { q_rows = 64, kv_tile = 64, decode_tile = 16, split_min = 256, max_tasks = 16 },  -- gen/attention.lua
}

M.isas = {
  scalar = {
    cflags = "",
    vector_bytes = 0,
    -- kernels/<dir>/ searched in order: the first that has the template wins
    template_dirs = { "scalar" },
    defaults = {},
  },
  avx2 = {
    cflags = "-march=x86-64-v3",
    vector_bytes = 32,
    template_dirs = { "avx2", "scalar" },
    defaults = {
      -- rg: rows per group = int32 lanes of a vector; gemv_groups: row
      -- groups sharing each activation broadcast in GEMV; gemv_prefetch:
      -- GEMV prefetches the tile this many tiles ahead into L2 (0: off;
      -- 1 took 2-thread decode from ~0.85 to ~1.0 of read bandwidth on
      -- 2B4T's large ternary shapes); gemm_groups x
      -- gemm_tokens: the GEMM micro-tile of accumulators; k_chunk: columns
      -- unpacked at once in GEMM; token_tile: tokens per pass over the
      -- weights in GEMM; rows_per_task: rows per parallel_for chunk of
      -- GEMM (a one-token GEMV takes one range per thread)
      linear_mad = { rg = 8, gemv_groups = 4, gemv_prefetch = 1, gemm_groups = 2, gemm_tokens = 4, k_chunk = 512,
                     token_tile = 64, rows_per_task = 64 },
      -- 16 rows per 128-bit lane, q = 2 lanes (one group each) per slab
      linear_lut = { rg = 16, q = 2, order = "qr", g = 4, table = "i16", gemv_groups = 2, gemv_prefetch = 1,
                     token_tile = 4, rows_per_task = 64 },
    },
  },
  avx512 = {
    cflags = "-march=x86-64-v4",
    vector_bytes = 64,
    template_dirs = { "avx512", "avx2", "scalar" },
    defaults = {
      -- trit5 (1.6 bits per weight) needs VBMI, code2 is used without it
      lowbit = {
        ternary = { family = "mad", encoding = "trit5" },
        int2 = { family = "mad", encoding = "code2", scale_block = 128 },
        int4 = { family = "mad", encoding = "code4", scale_block = 64 },
        int6 = { family = "mad", encoding = "code6", scale_block = 256 },
      },
      -- see avx2; rg = 16 int32 lanes of a zmm; gemm_tokens 8 won every
      -- 2B4T shape when tuned on Zen 4 (7-15% faster prefill than 6)
      linear_mad = { rg = 16, gemv_groups = 4, gemv_prefetch = 1, gemm_groups = 2, gemm_tokens = 8, k_chunk = 512,
                     token_tile = 64, rows_per_task = 64 },
      -- 16 rows x q = 4 groups per vpermb (one 64-entry table holds 4 groups)
      linear_lut = { rg = 16, q = 4, order = "rq", g = 4, table = "i16", gemv_groups = 2, gemv_prefetch = 1,
                     token_tile = 4, rows_per_task = 64 },
    },
  },
  neon = {
    cflags = "-march=armv8.2-a+dotprod",
    vector_bytes = 16,
    template_dirs = { "neon", "scalar" },
    defaults = {},
  },
}
for _, isa in pairs(M.isas) do
  for kind, v in pairs(common_defaults) do
    if isa.defaults[kind] == nil then isa.defaults[kind] = v end
  end
end

-- Search spaces of the autotuner (gen/tune.lua, tuning/README.md): per ISA
-- and kernel kind, the values each blocking parameter may take.  Only kinds
-- listed here are tuned.  A list of such tables means alternative families
-- (e.g. variants with their own parameters); parameters a family leaves out
-- keep their defaults, and the defaults must be a point of the space.
-- Database entries outside the space are reported and ignored.
local rows_per_task = { 4, 8, 16, 32, 64 }        -- f32 layers: rows of a few hundred bytes to KB
local head_rows_per_task = { 16, 32, 64, 128, 256 } -- output head: vocab rows
local lowbit_rows_per_task = { 16, 32, 64, 128, 256 }
local attention_search = {
  q_rows = { 16, 32, 64, 128 }, kv_tile = { 32, 64, 128, 256 }, decode_tile = { 16, 32, 64 }, split_min = { 128, 256, 512 },
}
-- SIMD low-bit kernels: GEMV row groups sharing a broadcast, the GEMM
-- micro-tile (row groups x tokens, bounded by the vector registers), columns
-- unpacked at once, tokens per pass over the weights
local function simd_lowbit(gemm_groups, gemm_tokens)
  return {
    linear_mad = { gemv_groups = { 1, 2, 4, 8 }, gemv_prefetch = { 0, 1, 2 }, gemm_groups = gemm_groups, gemm_tokens = gemm_tokens,
                   k_chunk = { 256, 512, 1024 }, token_tile = { 16, 32, 64 }, rows_per_task = lowbit_rows_per_task },
    linear_lut = { table = { "i16", "i8" }, g = { 2, 4 }, gemv_groups = { 1, 2, 4 }, token_tile = { 2, 4, 8 },
                   rows_per_task = lowbit_rows_per_task },
  }
end
local plain_lowbit = {
  linear_mad = { token_tile = { 16, 32, 64 }, rows_per_task = lowbit_rows_per_task },
  linear_lut = { table = { "i16", "i8" }, g = { 2, 4 }, token_tile = { 2, 4, 8 }, rows_per_task = lowbit_rows_per_task },
}
local lowbit_search = {
  scalar = plain_lowbit,
  neon = plain_lowbit,
  avx2 = simd_lowbit({ 1, 2, 3 }, { 2, 4, 6 }),      -- 16 ymm registers
  avx512 = simd_lowbit({ 1, 2, 4 }, { 4, 6, 8 }),    -- 32 zmm registers
}
-- Choices between kernel variants that the plan asks the tuning database
-- about before it plans the instance they decide, with the kinds each can
-- select (their templates go into the choice's key).  Their defaults are
-- defaults.lowbit[wtype]; their search spaces list variants as families.
M.choices = {
  ["lowbit.ternary"] = { "linear_mad", "linear_lut" },
  ["lowbit.int2"] = { "linear_mad", "linear_lut" },
  ["lowbit.int4"] = { "linear_mad", "linear_lut" },
}
local function lowbit_variants(ternary_encodings)
  return {
    ["lowbit.ternary"] = { { family = { "mad" }, encoding = ternary_encodings }, { family = { "lut" } } },
    ["lowbit.int2"] = { { family = { "mad" }, encoding = { "code2" } }, { family = { "lut" } } },
    ["lowbit.int4"] = { { family = { "mad" }, encoding = { "code4" } }, { family = { "lut" } } },
  }
end
-- Parameters that change what a variant computes, not only how it is
-- blocked (LUT table precision and group size): when the tuner tries a
-- variant, it tries every combination of these at default blocking.
M.variant_params = { linear_lut = { "table", "g" } }
-- trit5 (1.6 bits per weight) needs VBMI byte permutes on x86
local variants = {
  scalar = lowbit_variants({ "code2", "trit5" }),
  neon = lowbit_variants({ "code2", "trit5" }),
  avx2 = lowbit_variants({ "code2" }),
  avx512 = lowbit_variants({ "trit5", "code2" }),
}
for _, name in ipairs({ "scalar", "avx2", "avx512", "neon" }) do
  M.isas[name].search = {
    ["lowbit.ternary"] = variants[name]["lowbit.ternary"],
    ["lowbit.int2"] = variants[name]["lowbit.int2"],
    ["lowbit.int4"] = variants[name]["lowbit.int4"],
    linear_f32 = { rows_per_task = rows_per_task },
    linear_f16 = { rows_per_task = head_rows_per_task },
    linear_int8 = (name == "scalar" or name == "neon") and { rows_per_task = head_rows_per_task }
      or { rows_per_task = head_rows_per_task, prefetch_rows = { 0, 4, 8, 16 } },
    linear_mad = lowbit_search[name].linear_mad,
    linear_lut = lowbit_search[name].linear_lut,
    attention = attention_search,
  }
end

-- CPU features a build may use beyond its ISA's baseline, with the extra
-- compiler flags they need (configure reports which the host has).
M.features = {
  vnni = { isa = "avx512", cflags = "-mavx512vnni" },
  vbmi = { isa = "avx512", cflags = "-mavx512vbmi" },
  gfni = { isa = "avx512", cflags = "-mgfni" },
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
