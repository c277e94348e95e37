-- Loads a model description (models/NAME.lua) and validates every field, so
-- the rest of the generator can trust it.  A bad or missing field is a
-- one-line error naming the file and the field.

local M = {}

local function fail(path, msg) error(path .. ": " .. msg, 0) end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local checks = {}

function checks.positive_int(v) return math.type(v) == "integer" and v > 0, "a positive integer" end
function checks.positive_number(v) return type(v) == "number" and v > 0, "a positive number" end
function checks.boolean(v) return type(v) == "boolean", "true or false" end
function checks.name(v)
  return type(v) == "string" and v:match("^[%w][%w%._%-]*$") ~= nil, "a name of letters, digits, '.', '_' or '-'"
end
local function one_of(...)
  local set, list = {}, { ... }
  for _, s in ipairs(list) do set[s] = true end
  return function(v) return set[v] == true, "one of " .. table.concat(list, ", ") end
end

-- Field -> check.  Optional fields have defaults below.
local fields = {
  name = checks.name,
  arch = one_of("llama", "bitnet"),
  dim = checks.positive_int,
  hidden_dim = checks.positive_int,
  n_layers = checks.positive_int,
  n_heads = checks.positive_int,
  n_kv_heads = checks.positive_int,
  vocab_size = checks.positive_int,
  seq_len = checks.positive_int,
  norm_eps = checks.positive_number,
  rope_theta = checks.positive_number,
  activation = one_of("silu", "relu2"),
  -- which elements of a head RoPE rotates together: (2i, 2i+1) ("adjacent",
  -- llama, whose converters permute Q and K into that order) or (i, i +
  -- head_dim/2) ("neox", the BitNet family as llama.cpp and bitnet.cpp run it)
  rope_style = one_of("adjacent", "neox"),
  tied_embedding = checks.boolean,
}

local weight_fields = {
  linear = one_of("f32", "ternary", "int2", "int4"),
  -- int4, int6: the head's packed low-bit copy, so only for a tied embedding
  embedding = one_of("f32", "f16", "int8", "int4", "int6"),
  output = one_of("f32", "f16", "int8", "int4", "int6"),
  kv_cache = one_of("f32", "f16"),
}

-- Optional `kernels.linear`: pins the low-bit linear layers' kernel variant
-- (for quality experiments; otherwise the tuning database or the ISA's
-- defaults choose, gen/plan.lua).
local linear_kernel_fields = {
  family = one_of("mad", "lut"),
  encoding = one_of("code2", "code4", "trit5"),
  table = one_of("i16", "i8"),
  g = one_of(1, 2, 4, 8),
}

-- general.architecture names (llama.cpp's and bitnet.cpp's) of the GGUF
-- files a description reads; the first is what mkmodel writes by default.
-- In the BitNet family the name fixes the FFN activation: llama.cpp's
-- `bitnet` runs SiLU (bitnet_b1_58-large, 3B), bitnet.cpp's `bitnet-b1.58`
-- and `bitnet-25` squared ReLU (2B4T), so a file of the other name is
-- another model.
local function file_archs(m)
  if m.arch == "llama" then return { "llama" } end
  return m.activation == "relu2" and { "bitnet-b1.58", "bitnet-25" } or { "bitnet" }
end

local defaults = { norm_eps = 1e-5, rope_theta = 10000.0, activation = "silu" }
-- defaults that follow the architecture
local arch_defaults = { llama = { rope_style = "adjacent" }, bitnet = { rope_style = "neox" } }
local weight_defaults = { linear = "f32", embedding = "f32", output = "f32", kv_cache = "f32" }

-- Validate a description table; `path` is used in messages.
function M.validate(t, path)
  if type(t) ~= "table" then fail(path, "must return a table") end
  for k in pairs(t) do
    if fields[k] == nil and k ~= "weights" and k ~= "files" and k ~= "description" and k ~= "prompt"
       and k ~= "kernels" then
      fail(path, "unknown field '" .. tostring(k) .. "'")
    end
  end
  local m = {}
  local arch_ok, arch_want = fields.arch(t.arch)
  if not arch_ok then fail(path, string.format("field 'arch' must be %s (got %s)", arch_want, show(t.arch))) end
  local by_arch = arch_defaults[t.arch]
  for k, check in pairs(fields) do
    local v = t[k]
    if v == nil then v = by_arch[k] end
    if v == nil then v = defaults[k] end
    if v == nil then fail(path, "missing field '" .. k .. "'") end
    local ok, want = check(v)
    if not ok then fail(path, string.format("field '%s' must be %s (got %s)", k, want, show(v))) end
    m[k] = v
  end
  local w = t.weights or {}
  if type(w) ~= "table" then fail(path, "field 'weights' must be a table") end
  m.weights = {}
  for k in pairs(w) do
    if weight_fields[k] == nil then fail(path, "unknown field 'weights." .. tostring(k) .. "'") end
  end
  for k, check in pairs(weight_fields) do
    local v = w[k]
    if v == nil then v = weight_defaults[k] end
    local ok, want = check(v)
    if not ok then fail(path, string.format("field 'weights.%s' must be %s (got %s)", k, want, show(v))) end
    m.weights[k] = v
  end
  local kernels = t.kernels or {}
  if type(kernels) ~= "table" then fail(path, "field 'kernels' must be a table") end
  for k in pairs(kernels) do
    if k ~= "linear" then fail(path, "unknown field 'kernels." .. tostring(k) .. "' (known: linear)") end
  end
  local pinned = kernels.linear or {}
  if type(pinned) ~= "table" then fail(path, "field 'kernels.linear' must be a table") end
  m.kernels = { linear = {} }
  for k, v in pairs(pinned) do
    local check = linear_kernel_fields[k]
    if not check then fail(path, "unknown field 'kernels.linear." .. tostring(k) .. "'") end
    local ok, want = check(v)
    if not ok then fail(path, string.format("field 'kernels.linear.%s' must be %s (got %s)", k, want, show(v))) end
    m.kernels.linear[k] = v
  end
  if next(m.kernels.linear) and not ({ ternary = 1, int2 = 1, int4 = 1 })[m.weights.linear] then
    fail(path, "'kernels.linear' pins a low-bit kernel: 'weights.linear' must be ternary, int2 or int4")
  end
  if (pinned.table or pinned.g) and pinned.family ~= "lut" then
    fail(path, "'kernels.linear' table and g are LUT parameters: they need family = \"lut\"")
  end
  if pinned.encoding and pinned.family ~= "mad" then
    fail(path, "'kernels.linear.encoding' is a MAD parameter: it needs family = \"mad\"")
  end
  local files = t.files or {}
  if type(files) ~= "table" then fail(path, "field 'files' must be a table") end
  for _, k in ipairs({ "weights", "tokenizer" }) do
    if files[k] ~= nil and type(files[k]) ~= "string" then
      fail(path, string.format("field 'files.%s' must be a file name (got %s)", k, show(files[k])))
    end
  end
  if files.weights == nil then fail(path, "missing field 'files.weights'") end
  m.files = { weights = files.weights, tokenizer = files.tokenizer or "" }
  m.prompt = t.prompt or ""
  m.description = t.description or ""

  -- Relations between fields.
  if m.dim % m.n_heads ~= 0 then
    fail(path, string.format("field 'n_heads' (%d) must divide 'dim' (%d)", m.n_heads, m.dim))
  end
  if m.n_heads % m.n_kv_heads ~= 0 then
    fail(path, string.format("field 'n_kv_heads' (%d) must divide 'n_heads' (%d)", m.n_kv_heads, m.n_heads))
  end
  if m.tied_embedding and m.weights.embedding ~= m.weights.output then
    fail(path, string.format("tied embedding: 'weights.embedding' (%s) and 'weights.output' (%s) are one tensor "
      .. "and must have the same type", m.weights.embedding, m.weights.output))
  end
  if (m.weights.embedding == "int4" or m.weights.embedding == "int6") and not m.tied_embedding then
    fail(path, string.format("'weights.embedding' %s reads the head's packed copy: only with 'tied_embedding'",
      m.weights.embedding))
  end
  m.file_archs = file_archs(m)
  m.head_dim = m.dim // m.n_heads
  if m.head_dim % 2 ~= 0 then fail(path, "head dimension dim/n_heads must be even for RoPE") end
  m.kv_dim = m.head_dim * m.n_kv_heads
  m.kv_group = m.n_heads // m.n_kv_heads
  return m
end

-- The table a description file returns.  With `base = "NAME"` (NAME.lua in
-- the same folder) it starts from that description: its own fields replace
-- the base's, and `weights` and `files` are merged key by key, so a variant
-- states only what differs.  Also returns the files read, base first.
local function read(path, seen)
  local chunk, err = loadfile(path, "t", {})
  if not chunk then
    if err:match("No such file") or err:match("cannot open") then fail(path, "no such model description") end
    error(err, 0)
  end
  local ok, t = pcall(chunk)
  if not ok then fail(path, tostring(t)) end
  if type(t) ~= "table" or t.base == nil then return t, { path } end
  if not checks.name(t.base) then
    fail(path, "field 'base' must name a description in the same folder (got " .. show(t.base) .. ")")
  end
  local base_path = (path:match("^(.*)/") or ".") .. "/" .. t.base .. ".lua"
  seen[path] = true
  if seen[base_path] then fail(path, "field 'base' leads back to " .. base_path) end
  local okb, base, sources = pcall(read, base_path, seen)
  if not okb then fail(path, "base '" .. t.base .. "': " .. tostring(base)) end
  if type(base) ~= "table" then fail(path, "base '" .. t.base .. "' does not return a table") end
  local merged = {}
  for k, v in pairs(base) do merged[k] = v end
  for k, v in pairs(t) do
    if (k == "weights" or k == "files") and type(v) == "table" and type(base[k]) == "table" then
      merged[k] = {}
      for kk, vv in pairs(base[k]) do merged[k][kk] = vv end
      for kk, vv in pairs(v) do merged[k][kk] = vv end
    elseif k ~= "base" then
      merged[k] = v
    end
  end
  sources[#sources + 1] = path
  return merged, sources
end

-- Load and validate models/NAME.lua (or any path).
function M.load(path)
  return M.validate((read(path, {})), path)
end

-- The description files models/NAME.lua reads: its bases, then itself.
function M.sources(path)
  local _, sources = read(path, {})
  return sources
end

return M
