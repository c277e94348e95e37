-- Where tensor NAME of a GGUF file lies, for tests that patch files: prints
-- the byte offsets (from the file's start) of its ne[] dimensions and of
-- its data.
--   lua5.4 tests/gguf_tensor.lua FILE NAME
local path, want = arg[1], arg[2]
local f = assert(io.open(path, "rb"))
local bytes = f:read("a")
f:close()

local pos = 1  -- Lua string index of the next byte
local function read(fmt)
  local v
  v, pos = string.unpack(fmt, bytes, pos)
  return v
end
local function str() return read("<s8") end

-- bytes of a scalar of each GGUF value type (8 string, 9 array)
local scalar = { [0] = 1, 1, 2, 2, 4, 4, 4, 1, nil, nil, 8, 8, 8 }
local function skip_value(t)
  if t == 8 then
    str()
  elseif t == 9 then
    local et, n = read("<I4"), read("<I8")
    if et == 8 or et == 9 then
      for _ = 1, n do skip_value(et) end
    else
      pos = pos + n * scalar[et]
    end
  else
    pos = pos + scalar[t]
  end
end

assert(read("c4") == "GGUF", path .. ": not a GGUF file")
read("<I4")  -- version
local n_tensors, n_kv = read("<I8"), read("<I8")
local alignment = 32
for _ = 1, n_kv do
  local key, t = str(), read("<I4")
  if key == "general.alignment" then alignment = string.unpack("<I4", bytes, pos) end
  skip_value(t)
end
local found
for _ = 1, n_tensors do
  local name, n_dims = str(), read("<I4")
  local ne_at = pos - 1
  pos = pos + 8 * n_dims
  read("<I4")  -- type
  local offset = read("<I8")
  if name == want then found = { ne_at, offset } end
end
assert(found, path .. ": no tensor " .. tostring(want))
local data_start = (pos - 1 + alignment - 1) // alignment * alignment
print(found[1], data_start + found[2])
