-- Builds the sources of one mutant (tests/mutants.lua): copies gen/ and
-- templates/ into OUT/src, applies the mutation there and runs that copy of
-- the generator, which writes kernels.h, kernels.c, forward.c and
-- kernel_tests.c into OUT for the scalar ISA.
--   lua5.4 tests/mutate.lua NAME OUT
local name, out = arg[1], arg[2]
local mutant
for _, m in ipairs(dofile("tests/mutants.lua")) do
  if m.name == name then mutant = m end
end
if not mutant then error("no mutant named " .. tostring(name), 0) end

local function run(cmd)
  if not os.execute(cmd) then error("mutant " .. name .. ": failed: " .. cmd, 0) end
end
local src = out .. "/src"
run(string.format("rm -rf '%s' && mkdir -p '%s/build/tools' && cp -r gen templates '%s' && cp build/tools/xxh3.so '%s/build/tools/'",
  src, src, src, src))

local path = src .. "/" .. mutant.file
local f = assert(io.open(path, "r"))
local text = f:read("a")
f:close()
local at = text:find(mutant.find, 1, true)
if not at or text:find(mutant.find, at + 1, true) then
  error(string.format("mutant %s no longer applies: %s must hold its `find` text exactly once", name, mutant.file), 0)
end
f = assert(io.open(path, "w"))
f:write(text:sub(1, at - 1), mutant.replace, text:sub(at + #mutant.find))
f:close()
run(string.format("lua5.4 '%s/gen/main.lua' --model models/%s.lua --isa scalar --out '%s'", src, mutant.model, out))
