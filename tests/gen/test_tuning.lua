-- The tuning database (gen/tuning.lua): keys change with the kernel's own
-- templates and the generator files that shape kernels but not with an
-- unrelated template; entries are validated against the search space and
-- invalid ones are reported and ignored; the plan uses valid entries.
package.path = "tests/gen/?.lua;" .. package.path
local t = require("check")
local tuning = require("tuning")
local model = require("model")
local plan_mod = require("plan")
local isa_mod = require("isa")

local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp .. " && cp -r gen templates " .. tmp)
local function append(path, text)
  local f = assert(io.open(tmp .. "/" .. path, "a"))
  f:write(text)
  f:close()
end
local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- Keys.  Each edit below happens in the copied tree; keys are computed fresh
-- there by a new module instance (the source text is cached per root).
local shape = { rows = 512, cols = 64 }
local function key(kind, s, isa, features)
  package.loaded.tuning = nil
  return require("tuning").key(kind, s or shape, isa or "avx512", features or {}, tmp)
end
local k0 = key("linear_f32")
t.check("key is 16 hex digits", k0:match("^%x+$") and #k0 == 16, k0)
t.check("key is stable", k0 == key("linear_f32"))
t.check("key changes with the shape", k0 ~= key("linear_f32", { rows = 512, cols = 128 }))
t.check("key changes with the ISA", k0 ~= key("linear_f32", nil, "avx2"))
t.check("key changes with the features", k0 ~= key("linear_f32", nil, nil, { "vnni" }))
t.check("key ignores the order of features", key("linear_f32", nil, nil, { "vnni", "vbmi" })
  == key("linear_f32", nil, nil, { "vbmi", "vnni" }))
t.check("key changes with the kind", k0 ~= key("linear_f16"))
local scalar_key = key("linear_f32", nil, "scalar")
append("templates/kernels/scalar/rmsnorm.c", "/* unrelated change */\n")
t.check("key ignores an unrelated template", k0 == key("linear_f32"))
append("templates/kernels/scalar/linear_f32.c", "/* a template the avx512 path does not reach */\n")
t.check("key ignores a template the ISA's path skips", k0 == key("linear_f32"))
t.check("key changes when the kind's template for that ISA changes", scalar_key ~= key("linear_f32", nil, "scalar"))
append("templates/kernels/avx512/linear_f32.c", "/* changed */\n")
local k1 = key("linear_f32")
t.check("key changes when the kernel template changes", k1 ~= k0)
append("templates/tests/linear_f32.c", "/* changed */\n")
local k2 = key("linear_f32")
t.check("key changes when the test template changes", k2 ~= k1)
append("gen/plan.lua", "-- changed\n")
local k3 = key("linear_f32")
t.check("key changes when plan.lua changes", k3 ~= k2)
append("gen/template.lua", "-- changed\n")
t.check("key changes when template.lua changes", key("linear_f32") ~= k3)
local choice_key, mad_key = key("lowbit.ternary", { rows = 64, cols = 64 }), key("linear_mad", { rows = 64, cols = 64 })
append(plan_mod.template_path(tmp, isa_mod.get("avx512"), "linear_lut"):sub(#tmp + 2), "/* changed */\n")
t.check("a choice's key changes with the template of any kind it selects",
  choice_key ~= key("lowbit.ternary", { rows = 64, cols = 64 }))
t.check("the key of one of those kinds ignores the others' templates", mad_key == key("linear_mad", { rows = 64, cols = 64 }))
package.loaded.tuning = tuning

-- CPU names.
t.check("slug drops marks and punctuation", tuning.slug("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz")
  == "intel-xeon-gold-6338-cpu-2-00ghz", tuning.slug("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"))
t.check("slug of an AMD name", tuning.slug("AMD EPYC 9R14 96-Core Processor") == "amd-epyc-9r14-96-core-processor")
t.check("cpu model from cpuinfo text",
  tuning.cpu_model("processor\t: 0\nvendor_id\t: x\nmodel name\t: Some CPU 9000\nflags\t: a\n") == "Some CPU 9000")
t.check("cpu model without a name", tuning.cpu_model("processor\t: 0\n") == "unknown CPU")
t.check("database file per CPU and ISA", tuning.file_for("tuning/", "avx2", "Some CPU 9000") == "tuning/some-cpu-9000-avx2.lua")

-- Candidates.
local function labels(list)
  local r = {}
  for _, c in ipairs(list) do r[#r + 1] = tuning.describe(c.params) end
  return r
end
local full = tuning.candidates("avx512", "linear_f32", "full")
local defaults = isa_mod.get("avx512").defaults
local space = isa_mod.get("avx512").search
t.check("full space lists every value once", #full == #space.linear_f32.rows_per_task, #full)
t.check("defaults come first", labels(full)[1] == tuning.describe(defaults.linear_f32))
local tiny = tuning.candidates("avx512", "linear_f32", "tiny")
t.check("tiny space: defaults and one move", #tiny == 2 and tiny[2].moved == "rows_per_task", #tiny)
t.check("no candidates for an untunable kind", #tuning.candidates("avx512", "rmsnorm", "full") == 0)
local att = tuning.candidates("avx512", "attention", "full")
local n_att = 1
for _, values in pairs(space.attention) do n_att = n_att + #values - 1 end
t.check("a large space is searched by a star around the defaults", #att == n_att and att[1].star ~= nil, #att)
local scored = {}
for _, c in ipairs(att) do
  c.score = 1
  if c.moved == "kv_tile" and c.params.kv_tile == 128 then c.score = 0.8 end
  if c.moved == "q_rows" and c.params.q_rows == 32 then c.score = 0.9 end
  if c.moved == "split_min" then c.score = 1.2 end
  scored[#scored + 1] = c
end
local combined = tuning.combine(scored)
t.check("combine joins the per-parameter winners", #combined == 1 and combined[1].params.kv_tile == 128
  and combined[1].params.q_rows == 32 and combined[1].params.split_min == defaults.attention.split_min,
  combined[1] and tuning.describe(combined[1].params))
for _, c in ipairs(scored) do c.score = c.moved == "kv_tile" and 0.5 or 1 end
t.check("nothing to combine when one parameter wins", #tuning.combine(scored) == 0)
local all_in = true
for _, c in ipairs(att) do all_in = all_in and tuning.check_params("avx512", "attention", c.params) == nil end
for _, c in ipairs(full) do all_in = all_in and tuning.check_params("avx512", "linear_f32", c.params) == nil end
t.check("every candidate is a point of the space", all_in)
t.check("a point off the space is not", tuning.check_params("avx512", "attention", { kv_tile = 48 }) ~= nil)

local variants = tuning.candidates("avx512", "lowbit.ternary", "full")
t.check("a choice's defaults are the path's table", tuning.describe(tuning.defaults_of("avx512", "lowbit.ternary"))
  == tuning.describe(defaults.lowbit.ternary))
t.check("a choice's candidates: the defaults first, then every variant", #variants >= 2
  and tuning.describe(variants[1].params) == tuning.describe(defaults.lowbit.ternary))
t.check("LUT is a variant of a ternary layer", tuning.check_params("avx512", "lowbit.ternary", { family = "lut" }) == nil)
t.check("an unknown variant is outside the space", tuning.check_params("avx512", "lowbit.ternary", { family = "foo" }) ~= nil)
t.check("a MAD encoding another weight type uses is outside the space",
  tuning.check_params("avx512", "lowbit.ternary", { family = "mad", encoding = "code4" }) ~= nil)

-- Every ISA's defaults are a point of its search space (the tuner's
-- reference, and what an entry equal to the defaults must validate as).
for _, name in ipairs({ "scalar", "avx2", "avx512", "neon" }) do
  for kind in pairs(isa_mod.get(name).search) do
    local why = tuning.check_params(name, kind, tuning.defaults_of(name, kind))
    t.check(name .. " defaults of " .. kind .. " are in its search space", why == nil, why)
  end
end

-- Database files.
local m = model.load("models/stories260k.lua")
local p = plan_mod.plan(m, "avx512")
local lin = p.linear.output
local lin_key = tuning.key(lin.kind, lin.shape, "avx512", {})
local other = (space.linear_f32.rows_per_task[1] ~= defaults.linear_f32.rows_per_task) and space.linear_f32.rows_per_task[1]
  or space.linear_f32.rows_per_task[2]
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)
local cpu = "Test CPU 1"
local path = tuning.file_for(dir, "avx512", cpu)

local function load(text, isa)
  write(path, text)
  local warnings = {}
  local db = tuning.load(dir, isa or "avx512", { cpu = cpu, warn = function(msg) warnings[#warnings + 1] = msg end })
  return db, warnings
end
local function entries(body)
  return 'return { cpu = "Test CPU 1", isa = "avx512", entries = {\n' .. body .. "\n} }\n"
end
local function entry(k, params, extra)
  return string.format('["%s"] = { kind = "linear_f32", kernel = "%s", params = %s %s },', k, lin.name, params, extra or "")
end

local db, w = load(entries(entry(lin_key, "{ rows_per_task = " .. other .. " }")))
t.check("a valid entry loads without warnings", #w == 0, w[1])
t.check("database found in the folder by CPU and ISA", db.path == path, db.path)
local got = db:lookup(lin.kind, lin.shape, {})
t.check("lookup returns the entry's parameters", got and got.rows_per_task == other)
t.check("lookup misses with other features", db:lookup(lin.kind, lin.shape, { "vnni" }) == nil)
local tuned = plan_mod.plan(m, "avx512", { tuning = db, features = {} })
t.check("plan uses the entry", tuned.linear.output.source == "tuned" and tuned.linear.output.params.rows_per_task == other)
t.check("plan keeps defaults for kernels without an entry", tuned.linear.wq.source == "default"
  and tuned.linear.wq.params.rows_per_task == defaults.linear_f32.rows_per_task)

local function rejected(name, params, pattern, extra, k)
  local db2, w2 = load(entries(entry(k or lin_key, params, extra)))
  t.check("invalid entry ignored: " .. name, next(db2.entries) == nil and db2:lookup(lin.kind, lin.shape, {}) == nil)
  t.check("invalid entry reported in one line naming file and key: " .. name, #w2 == 1 and w2[1]:find(path, 1, true)
    and w2[1]:find(k or lin_key, 1, true) and w2[1]:match(pattern) and not w2[1]:find("\n"), w2[1])
end
rejected("unknown parameter", "{ rows_per_task = 16, unroll = 4 }", "unknown parameter 'unroll'")
rejected("value outside the space", "{ rows_per_task = 3 }", "rows_per_task=3 is outside")
rejected("wrong type", '{ rows_per_task = "16" }', "must be an integer")
rejected("float for an integer", "{ rows_per_task = 16.0 }", "must be an integer")
rejected("params not a table", "7", "params must be a table")
rejected("unknown field", "{ rows_per_task = 16 }", "unknown field 'gian'", ", gian = 2")
rejected("bad key", "{ rows_per_task = 16 }", "16 hex digits", nil, "xyz")
local db3, w3 = load(entries(string.format('["%s"] = { kind = "rmsnorm", params = {} },', lin_key)))
t.check("entry of an untunable kind reported and ignored", next(db3.entries) == nil and #w3 == 1
  and w3[1]:match("not tunable"), w3[1])
local db4, w4 = load(entries(entry(lin_key, "{ rows_per_task = 3 }") .. "\n" .. entry(string.rep("a", 16), "{ rows_per_task = 32 }")))
t.check("one invalid entry does not hide the valid ones", #w4 == 1 and db4.entries[string.rep("a", 16)] ~= nil)

local function malformed(name, text, pattern)
  local db5, w5 = load(text)
  t.check("malformed file ignored: " .. name, next(db5.entries) == nil)
  t.check("malformed file reported: " .. name, #w5 == 1 and w5[1]:find(path, 1, true) and w5[1]:match(pattern), w5[1])
end
malformed("syntax error", "return {", "expected")
malformed("not a table", "return 42", "must return a table")
malformed("runtime error", "return os.exit()", "attempt to index")
malformed("other ISA", 'return { cpu = "x", isa = "avx2", entries = {} }', "for ISA \"avx2\", not avx512")
malformed("entries missing", 'return { cpu = "x", isa = "avx512" }', "'entries' must be a table")
local _, w6 = tuning.load(dir .. "/none", "avx512", { cpu = cpu, warn = function(msg) error(msg) end })
t.check("a missing database is empty and silent", w6 == nil)

-- Save and load again.
local db7 = tuning.load(dir, "avx512", { cpu = cpu, warn = function() end })
db7.entries = {
  [lin_key] = { kind = "linear_f32", kernel = lin.name, features = "", params = { rows_per_task = other }, gain = 1.25,
                threads = 2, reps = 5, space = "full", best_decode_us = 1.5, default_decode_us = 1.875 },
}
tuning.save(db7)
local db8, w8 = load(io.open(path):read("a"))
t.check("saved database loads back", #w8 == 0 and db8.entries[lin_key] and db8.entries[lin_key].gain == 1.25, w8[1])
t.check("saved entry is used", db8:lookup(lin.kind, lin.shape, {}).rows_per_task == other)

os.execute("rm -rf " .. tmp .. " " .. dir)
t.done()
