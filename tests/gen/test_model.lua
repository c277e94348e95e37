-- Model descriptions: every real model validates; bad fields give one-line
package.path = "tests/gen/?.lua;" .. package.path
-- errors naming the file and the field.
local t = require("check")
local model = require("model")

for path in io.popen("ls models/*.lua"):lines() do
  local ok, m = pcall(model.load, path)
  t.check("loads " .. path, ok, m)
end

local m = model.load("models/stories260k.lua")
t.check("stories260k derived head_dim", m.head_dim == 8 and m.kv_dim == 32 and m.kv_group == 2)

local function with(changes)
  local src = { 'name = "x"', 'arch = "llama"', "dim = 64", "hidden_dim = 172", "n_layers = 5", "n_heads = 8",
    "n_kv_heads = 4", "vocab_size = 512", "seq_len = 512", "tied_embedding = true", 'files = { weights = "x.bin" }' }
  local kept = {}
  for _, line in ipairs(src) do
    local key = line:match("^([%w_]+)")
    if changes[key] == nil then kept[#kept + 1] = line
    elseif changes[key] ~= false then kept[#kept + 1] = key .. " = " .. changes[key] end
  end
  for k, v in pairs(changes) do
    local present = false
    for _, line in ipairs(src) do present = present or line:match("^" .. k .. " ") end
    if not present and v then kept[#kept + 1] = k .. " = " .. v end
  end
  return t.tmpfile("return { " .. table.concat(kept, ", ") .. " }")
end

t.check("minimal description loads", pcall(model.load, with({})))
t.raises("missing field", function() model.load(with({ dim = false })) end, "missing field 'dim'")
t.raises("wrong type", function() model.load(with({ dim = '"64"' })) end, "field 'dim' must be a positive integer")
t.raises("negative", function() model.load(with({ n_layers = "-1" })) end, "field 'n_layers' must be")
t.raises("unknown arch", function() model.load(with({ arch = '"gpt"' })) end, "field 'arch' must be one of")
t.check("rope_style follows the architecture", model.load(with({})).rope_style == "adjacent"
  and model.load(with({ arch = '"bitnet"' })).rope_style == "neox"
  and model.load("models/bitnet-tiny.lua").rope_style == "neox")
t.check("rope_style may be stated", model.load(with({ rope_style = '"neox"' })).rope_style == "neox")
t.raises("bad rope_style", function() model.load(with({ rope_style = '"gptj"' })) end,
  "field 'rope_style' must be one of adjacent, neox")
t.check("kernels.linear pins a variant", model.load(with({ weights = '{ linear = "int4" }',
  kernels = '{ linear = { family = "lut", table = "i8", g = 2 } }' })).kernels.linear.table == "i8")
t.raises("kernels.linear on f32 layers", function()
  model.load(with({ kernels = '{ linear = { family = "lut" } }' }))
end, "'kernels.linear' pins a low%-bit kernel")
t.raises("bad kernels.linear value", function()
  model.load(with({ weights = '{ linear = "int4" }', kernels = '{ linear = { family = "lut", table = "i4" } }' }))
end, "field 'kernels.linear.table' must be one of i16, i8")
t.raises("LUT table without the LUT family", function()
  model.load(with({ weights = '{ linear = "int4" }', kernels = '{ linear = { table = "i8" } }' }))
end, "table and g are LUT parameters")
t.raises("unknown kernels field", function() model.load(with({ kernels = '{ attention = {} }' })) end,
  "unknown field 'kernels.attention'")
t.raises("unknown field", function() model.load(with({ dimm = "3" })) end, "unknown field 'dimm'")
t.raises("heads must divide dim", function() model.load(with({ n_heads = "7" })) end, "must divide 'dim'")
t.raises("kv heads must divide heads", function() model.load(with({ n_kv_heads = "3" })) end, "must divide 'n_heads'")
t.raises("bad weight type", function() model.load(with({ weights = '{ linear = "int3" }' })) end,
  "field 'weights.linear' must be one of")
t.raises("int4 embedding needs a tied head", function()
  model.load(with({ tied_embedding = "false", weights = '{ embedding = "int4", output = "int4" }' }))
end, "'weights.embedding' int4 reads the head's packed copy: only with 'tied_embedding'")
t.raises("int6 embedding needs a tied head", function()
  model.load(with({ tied_embedding = "false", weights = '{ embedding = "int6", output = "int6" }' }))
end, "'weights.embedding' int6 reads the head's packed copy: only with 'tied_embedding'")
t.check("int4 head and embedding load when tied",
  pcall(model.load, with({ weights = '{ linear = "ternary", embedding = "int4", output = "int4" }' })))
t.raises("missing weights file", function() model.load(with({ files = "{}" })) end, "missing field 'files.weights'")
t.raises("missing description", function() model.load("models/nope.lua") end, "models/nope.lua: no such model description")
local syntax = t.tmpfile("return { dim = }")
t.raises("syntax error names the file", function() model.load(syntax) end, syntax:gsub("%p", "%%%0"))

-- `base`: a variant starts from another description in its folder
local v = model.load("models/bitnet-tiny-int6head.lua")
t.check("variant keeps its base's shape and merges 'weights' key by key",
  v.name == "bitnet-tiny-int6head" and v.dim == 256 and v.activation == "relu2" and v.weights.linear == "ternary"
  and v.weights.kv_cache == "f16" and v.weights.output == "int6" and v.files.weights == "bitnet-tiny.gguf")
local sources = model.sources("models/bitnet-tiny-int6head.lua")
t.check("sources list the base, then the variant",
  #sources == 2 and sources[1] == "models/bitnet-tiny.lua" and sources[2] == "models/bitnet-tiny-int6head.lua")
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))
local function desc(name, text)
  local f = assert(io.open(dir .. "/" .. name .. ".lua", "w"))
  f:write(text)
  f:close()
  return dir .. "/" .. name .. ".lua"
end
local base_text = io.open(with({})):read("a")
desc("b", base_text)
t.check("a variant of a temporary description loads",
  model.load(desc("v", 'return { base = "b", name = "v", dim = 128 }')).dim == 128)
t.raises("missing base", function() model.load(desc("m", 'return { base = "nope", name = "m" }')) end,
  "base 'nope': .*nope.lua: no such model description")
t.raises("base of the wrong type", function() model.load(desc("w", "return { base = 3 }")) end,
  "field 'base' must name a description in the same folder")
desc("c1", 'return { base = "c2" }')
t.raises("cycle of bases", function() model.load(desc("c2", 'return { base = "c1" }')) end, "leads back to")
os.execute("rm -rf '" .. dir .. "'")
t.done()
