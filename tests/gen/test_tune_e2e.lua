-- End to end: tune stories260k with the tiny search space in a copy of the
-- tree where two candidates are broken on purpose (one fails its generated
-- test, one does not compile), then check that both are discarded with a
-- message and never chosen, that every tunable kernel gets a valid database
-- entry and a report line, that the generator uses the entries, and that
-- editing a kernel's template makes its entries stale.  Then the same for
-- the choice of variant of one bitnet-tiny layer, with LUT broken.
--
--   lua5.4 tests/gen/test_tune_e2e.lua [ISA] [RUNTIME_ARCHIVE]
-- (defaults: the configured ISA, build/rt/libryot.a)
package.path = "tests/gen/?.lua;" .. package.path
local t = require("check")
local tuning = require("tuning")
local model = require("model")
local plan_mod = require("plan")
local isa_mod = require("isa")

local function shell(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end
local function read(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local config = read("build/config.ninja") or ""
local isa_name = arg[1] or config:match("\nisa = (%S+)") or "scalar"
local rt = arg[2] or "build/rt/libryot.a"
local rt_abs = rt:sub(1, 1) == "/" and rt or shell("pwd"):gsub("\n", "") .. "/" .. rt
local isa = isa_mod.get(isa_name)

local tmp = os.tmpname()
os.remove(tmp)
shell(string.format("mkdir -p %s/models %s/build/tools %s/tests && cp -r gen templates runtime %s && cp tests/*.h %s/tests"
  .. " && cp models/stories260k.lua %s/models && cp build/tools/xxh3.so %s/build/tools/", tmp, tmp, tmp, tmp, tmp, tmp, tmp))

-- The tiny space's moved candidate of a kind (the defaults come first).
local function moved(kind)
  for _, c in ipairs(tuning.candidates(isa_name, kind, "tiny")) do
    if c.moved then return c.moved, c.params[c.moved] end
  end
end
local function prepend(path, text)
  local old = read(path)
  local f = assert(io.open(path, "w"))
  f:write(text, old)
  f:close()
end
local lin_param, lin_bad = moved("linear_f32")
local att_param, att_bad = moved("attention")
local lin_template = plan_mod.template_path(tmp, isa, "linear_f32")
-- a kernel that never runs its rows: its output is garbage, its test fails
prepend(lin_template, string.format("//@ if %s == %s then\n#define parallel_for(s, n, grain, fn, ctx) ((void)(s), (void)(fn), (void)(ctx))\n//@ end\n",
  lin_param, lin_bad))
prepend(plan_mod.template_path(tmp, isa, "attention"),
  string.format("//@ if %s == %s then\n#error deliberately broken candidate\n//@ end\n", att_param, att_bad))

local out, ok = shell(string.format("cd %s && lua5.4 gen/tune.lua --model models/stories260k.lua --isa %s --features '' "
  .. "--space tiny --reps 2 --min-ms 0.2 --db db --rt %s --report bench.jsonl", tmp, isa_name, rt_abs))
io.write((out:gsub("([^\n]*)\n", "  | %1\n")))
t.check("tuner exits 0", ok)

local m = model.load("models/stories260k.lua")
local plan = plan_mod.plan(m, isa_name, { features = {} })
local tunable = {}
for _, k in ipairs(plan.kernels) do
  if tuning.space(isa_name, k.kind) then tunable[#tunable + 1] = k end
end
t.check("stories260k has linear and attention kernels to tune", #tunable >= 2)

local warnings = {}
local db = tuning.load(tmp .. "/db", isa_name, { root = tmp, warn = function(msg) warnings[#warnings + 1] = msg end })
t.check("database written for this CPU and ISA", read(db.path) ~= nil, db.path)
t.check("database loads without warnings", #warnings == 0, warnings[1])
local report = read(tmp .. "/bench.jsonl") or ""
for _, k in ipairs(tunable) do
  local e = db.entries[tuning.key(k.kind, k.shape, isa_name, {}, tmp)]
  t.check(k.name .. " has an entry under its key", e ~= nil and e.kernel == k.name)
  if k.kind == "linear_f32" then
    local line = string.format("%s %s=%s: test failed, discarded", k.name, lin_param, lin_bad)
    t.check(k.name .. ": failing candidate discarded with a message", out:find(line, 1, true) ~= nil, line)
    t.check(k.name .. ": failing candidate not chosen", e and e.params[lin_param] ~= lin_bad)
  else
    local pattern = k.name .. " [^\n]*" .. att_param .. "=" .. att_bad .. "[^\n]*: does not compile, discarded"
    t.check(k.name .. ": uncompilable candidate discarded with a message", out:match(pattern) ~= nil, pattern)
    t.check(k.name .. ": uncompilable candidate not chosen", e and e.params[att_param] ~= att_bad)
  end
  local json = report:match('\n?({"bench": "tune", "model": "stories260k", "kernel": "' .. k.name .. '"[^\n]*})')
  t.check(k.name .. ": report line with metric tune_gain", json and json:find('"metric": "tune_gain"', 1, true)
    and json:find('"isa": "' .. isa_name .. '"', 1, true))
  local gain = json and tonumber(json:match('"value": ([%d%.]+)'))
  local log, modes = 0, 0
  for mode, d in (json or ""):gmatch('"default_(%a+)_us": ([%d%.]+)') do
    local b = tonumber(json:match('"best_' .. mode .. '_us": ([%d%.]+)'))
    log, modes = log + math.log(tonumber(d) / b), modes + 1
  end
  t.check(k.name .. ": gain is the geometric mean of the time ratios", gain and modes > 0
    and math.abs(gain - math.exp(log / modes)) < 0.01 * gain, json)
  local decode_only = k == plan.linear.output
  t.check(k.name .. (decode_only and ": the output head is timed decoding only" or ": timed decoding and prefilling"),
    json and (json:find('"default_prefill_us"', 1, true) == nil) == decode_only)
end

-- The generator uses the entries.
local function generate()
  local o, gen_ok = shell(string.format("cd %s && lua5.4 gen/main.lua --model models/stories260k.lua --isa %s --features '' "
    .. "--out gen_out --tuning db", tmp, isa_name))
  t.check("generator runs with the database", gen_ok, o)
  return read(tmp .. "/gen_out/kernels.c") or ""
end
local kernels_c = generate()
for _, k in ipairs(tunable) do
  t.check(k.name .. " generated with tuned blocking", kernels_c:find("---- " .. k.name .. " (tuned blocking)", 1, true) ~= nil)
end
t.check("untuned kernels keep the default blocking", kernels_c:find("---- " .. plan.rmsnorm.name .. " (default blocking)", 1, true) ~= nil)

-- Editing the linear template makes the linear entries stale, not the others.
local f = assert(io.open(lin_template, "a"))
f:write("/* edited after tuning */\n")
f:close()
kernels_c = generate()
for _, k in ipairs(tunable) do
  local want = k.kind == "linear_f32" and "default" or "tuned"
  t.check(k.name .. " is " .. want .. " after the linear template changed",
    kernels_c:find("---- " .. k.name .. " (" .. want .. " blocking)", 1, true) ~= nil)
end

-- Variants: tune one ternary layer of bitnet-tiny with the LUT variant
-- broken on purpose.  Only when the plan asks the database which variant
-- a low-bit layer uses (gen/isa.lua `choices`).
local tiny = model.load("models/bitnet-tiny.lua")
local asked
plan_mod.plan(tiny, isa_name, { features = {}, tuning = { lookup = function(_, kind, shape)
  if not asked and isa_mod.choices[kind] then asked = { kind = kind, shape = shape } end
end } })
if not asked then
  print("skip variants: gen/plan.lua does not ask the tuning database about low-bit variants")
else
  shell(string.format("cp models/bitnet-tiny.lua %s/models/", tmp))
  prepend(plan_mod.template_path(tmp, isa, "linear_lut"), "#error deliberately broken variant\n")
  local layer = plan_mod.plan(tiny, isa_name, { features = {} }).linear.wq
  local vout, vok = shell(string.format("cd %s && lua5.4 gen/tune.lua --model models/bitnet-tiny.lua --isa %s --features '' "
    .. "--space tiny --reps 2 --min-ms 0.2 --db db --rt %s --report bench.jsonl --kernel %s", tmp, isa_name, rt_abs, layer.name))
  io.write((vout:gsub("([^\n]*)\n", "  | %1\n")))
  t.check("variant tuning exits 0", vok)
  -- (without VBMI the AVX-512 LUT template refuses to render: discarded all the same)
  t.check("the broken LUT variant is discarded with a message",
    vout:match(layer.name .. " [^\n]*family=lut[^\n]*: [%a ]+, discarded") ~= nil)
  local vdb = tuning.load(tmp .. "/db", isa_name, { root = tmp, warn = function(msg) error(msg) end })
  local pick = vdb.entries[tuning.key(asked.kind, asked.shape, isa_name, {}, tmp)]
  t.check("the layer's variant is recorded under the choice's key", pick ~= nil and pick.kind == asked.kind)
  t.check("the broken variant is not chosen", pick and pick.params.family ~= "lut")
  local tuned = plan_mod.plan(tiny, isa_name, { features = {}, tuning = vdb }).linear.wq
  t.check("the chosen variant's instance has tuned blocking", tuned.source == "tuned", tuned.name)
end

shell("rm -rf " .. tmp)
t.done()
