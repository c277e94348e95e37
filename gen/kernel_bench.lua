-- What the kernel micro-benchmark (templates/bench/kernel_bench.c) passes
-- to each kernel kind, as data: the tuner (gen/tune.lua) reads a kind's C
-- signature from plan.lua M.signatures and this table, so a new kind
-- becomes tunable by adding its `search` space in gen/isa.lua and its
-- arguments here.
--
-- One entry per signature parameter other than `struct sched *` and the
-- token count `n`, each a Lua expression over the instance's parameters
-- (shape, blocking and derived) plus
--   n        tokens of this call: 1 when decoding, the prefill chunk when
--            prefilling (kinds without an `int n` parameter run once)
--   ctx      cached positions attention reads when decoding
--   threads  scheduler threads of the benchmark
-- A pointer parameter's expression counts elements of its C type (bytes
-- for void *); the table form adds
--   cold = true   the argument is streamed from memory in the forward pass
--                 (weights, KV cache): the benchmark cycles through enough
--                 copies that it is not served from cache either
--   fill = TYPE   how to fill it when the C type does not say: "f32", "f16",
--                 "bytes", "zero", or the name of a parameter holding one
-- Float buffers get values in [-1, 1) (never denormals), integer buffers
-- random bytes, int buffers zeros.

local plan_mod = require("plan")

local M = {}

M.args = {
  linear_f32 = { out = "n * rows", w = { "rows * cols", cold = true }, x = "n * cols" },
  linear_f16 = { out = "n * rows", w = { "rows * cols", cold = true }, x = "n * cols" },
  linear_int8 = {
    out = "n * rows", w = { "rows * stride", cold = true }, row_scale = { "rows", cold = true },
    xq = "n * stride", x_scale = "n * stride // block",
  },
  linear_mad = { out = "n * rows", w = { "packed_bytes", cold = true }, xq = "n * x_stride", x_scale = "n" },
  linear_lut = { out = "n * rows", w = { "packed_bytes", cold = true }, xq = "n * x_stride", x_scale = "n" },
  attention = {
    out = "n * n_heads * head_dim", q = "n * n_heads * head_dim",
    k_new = "n * n_kv_heads * head_dim", v_new = "n * n_kv_heads * head_dim",
    k_cache = { "cache_layer_bytes", cold = true, fill = "kv_type" },
    v_cache = { "cache_layer_bytes", cold = true, fill = "kv_type" },
    scratch = { "scratch_shared_bytes + threads * scratch_thread_bytes", fill = "zero" },
    pos = "ctx - n",
  },
}

-- Decode context of the attention benchmark: long enough for the
-- flash-decoding splits to matter, bounded by the model's context.
M.decode_context = 1024

-- Bytes of the C types pointer parameters use.
local type_bytes = { float = 4, uint16_t = 2, int8_t = 1, uint8_t = 1, int = 4, void = 1, int32_t = 4 }

-- How each C type is filled unless the data says otherwise.
local type_fill = { float = "f32", uint16_t = "f16", int8_t = "bytes", uint8_t = "bytes", int = "zero",
                    void = "bytes", int32_t = "zero" }

-- Parameters of a C signature ("void %s(struct sched *s, float *restrict
-- out, ..., int n)") as { name, ctype, pointer, sched }.
function M.parse_signature(sig)
  local list = sig:match("%((.*)%)")
  local params = {}
  for decl in list:gmatch("[^,]+") do
    local name = decl:match("([%w_]+)%s*$")
    local base = decl:gsub("const", ""):gsub("restrict", ""):gsub("%*", " "):match("^%s*(.-)%s+[%w_]+%s*$")
    params[#params + 1] = {
      name = name,
      ctype = base,
      pointer = decl:find("*", 1, true) ~= nil,
      sched = base == "struct sched",
    }
  end
  return params
end

local function eval(expr, env, what)
  local chunk, err = load("return " .. expr, "=" .. what, "t", setmetatable({}, { __index = function(_, k)
    local v = env[k]
    if v ~= nil then return v end
    if k == "math" then return math end
    error(string.format("gen/kernel_bench.lua: %s: unknown parameter '%s'", what, k), 0)
  end }))
  if not chunk then error(what .. ": " .. err, 0) end
  return chunk()
end

-- Calls to time: decode and prefill when the signature has an `int n`
-- (decode only for a kernel the forward pass runs on one token only).
local function modes(params, chunk, decode_only)
  for _, p in ipairs(params) do
    if p.name == "n" and not p.pointer then
      if decode_only then return { { name = "decode", n = 1 } } end
      return { { name = "decode", n = 1 }, { name = "prefill", n = chunk } }
    end
  end
  return { { name = "call", n = 1 } }
end

-- Bytes of the cold (streamed) arguments of one decode call of instance k,
-- or nil when the kind has no benchmark description.
function M.cold_bytes(k, threads, ctx)
  local desc = M.args[k.kind]
  if not desc then return nil end
  local env = setmetatable({ n = 1, threads = threads, ctx = ctx }, { __index = k.params })
  local total = 0
  for _, p in ipairs(M.parse_signature(string.format(plan_mod.signatures[k.kind], k.name))) do
    local d = desc[p.name]
    if p.pointer and type(d) == "table" and d.cold then
      total = total + eval(d[1], env, k.kind .. "." .. p.name) * type_bytes[p.ctype]
    end
  end
  return total
end

-- Template parameters of the benchmark of `candidates` (instances of one
-- kind sharing a signature).  opts: threads, chunk (prefill tokens), ctx,
-- cold_target (bytes the forward pass streams between two calls of one
-- kernel: cold arguments get that many bytes of copies, within reason),
-- decode_only.
function M.harness(candidates, opts)
  local kind = candidates[1].kind
  local desc = M.args[kind]
  if not desc then
    error(string.format("no benchmark arguments for kind '%s' (add them to gen/kernel_bench.lua)", kind), 0)
  end
  local params = M.parse_signature(string.format(plan_mod.signatures[kind], "f"))
  local call_modes = modes(params, opts.chunk, opts.decode_only)
  local buffers, calls = {}, {}
  local cold_per_call = 0
  for _, p in ipairs(params) do
    if p.pointer and not p.sched then
      local d = desc[p.name]
      if d == nil then error(string.format("gen/kernel_bench.lua: no size for argument '%s' of %s", p.name, kind), 0) end
      local spec = type(d) == "table" and d or { d }
      local elem = type_bytes[p.ctype]
      if not elem then error(string.format("gen/kernel_bench.lua: unknown C type '%s' of %s.%s", p.ctype, kind, p.name), 0) end
      local bytes, fill = 0, spec.fill or type_fill[p.ctype]
      for _, c in ipairs(candidates) do
        for _, md in ipairs(call_modes) do
          local env = setmetatable({ n = md.n, threads = opts.threads, ctx = opts.ctx }, { __index = c.params })
          bytes = math.max(bytes, eval(spec[1], env, kind .. "." .. p.name) * elem)
        end
        if c.params[fill] ~= nil then fill = c.params[fill] end
      end
      if fill ~= "f32" and fill ~= "f16" and fill ~= "bytes" and fill ~= "zero" then
        error(string.format("gen/kernel_bench.lua: %s.%s: unknown fill '%s'", kind, p.name, tostring(fill)), 0)
      end
      bytes = (bytes + 63) // 64 * 64
      buffers[#buffers + 1] = { name = p.name, bytes = bytes, fill = fill, cold = spec.cold == true }
      if spec.cold then cold_per_call = cold_per_call + bytes end
    end
  end
  -- copies of the cold arguments, used in turn by successive calls
  local copies = 1
  if cold_per_call > 0 then copies = math.max(1, math.min(4096, -(-opts.cold_target // cold_per_call))) end
  for _, b in ipairs(buffers) do b.copies = b.cold and copies or 1 end
  for _, c in ipairs(candidates) do
    calls[c.name] = {}
    for mi, md in ipairs(call_modes) do
      local args = {}
      for _, p in ipairs(params) do
        if p.sched then
          args[#args + 1] = "sched"
        elseif p.pointer then
          args[#args + 1] = "a_" .. p.name
        elseif p.name == "n" then
          args[#args + 1] = tostring(md.n)
        else
          local d = desc[p.name]
          if d == nil then error(string.format("gen/kernel_bench.lua: no value for argument '%s' of %s", p.name, kind), 0) end
          local env = setmetatable({ n = md.n, threads = opts.threads, ctx = opts.ctx }, { __index = c.params })
          args[#args + 1] = string.format("%d", eval(d, env, kind .. "." .. p.name))
        end
      end
      calls[c.name][mi] = table.concat(args, ", ")
    end
  end
  return { buffers = buffers, modes = call_modes, calls = calls, copies = copies }
end

return M
