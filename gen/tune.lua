-- ryot autotuner: measures candidate variants and blocking parameters of
-- every tunable kernel instance of a model on this machine and records the
-- winners in the tuning database (gen/tuning.lua, tuning/README.md).
--
--   lua5.4 gen/tune.lua --model models/NAME.lua --isa ISA [--features "vnni vbmi"]
--       [--space tiny|full] [--reps N] [--db tuning/] [--kernel PATTERN]
--       [--jobs N] [--threads N] [--margin F] [--min-ms F] [--rt build/rt/libryot.a]
--       [--cc CC] [--work DIR] [--report build/bench.jsonl]
--
-- What is tunable comes from the plan itself: planning once with a database
-- that records the questions it is asked gives every (kind, shape) whose
-- kind has a search space on the ISA (gen/isa.lua `search`).  A question
-- about a choice (gen/isa.lua `choices`, e.g. LUT or MAD for a low-bit
-- layer) is followed by the question about the instance it decides; the two
-- form one slot.  Each slot goes through rounds:
--  1. explore: the defaults, the other variants at their default blocking,
--     and the blocking candidates of the default variant
--     (tuning.candidates: every combination of a small space, a star of
--     one-parameter moves around the defaults for a large one);
--  2. when another variant won round 1: explore its blocking the same way;
--  3. confirm: the defaults, the best so far and the star's per-parameter
--     winners combined (tuning.combine), measured afresh, since the best of
--     many noisy samples is biased low.
-- Every candidate is planned as a real build would plan it (plan.plan with a
-- database answering for that slot only, so derived parameters follow),
-- dropped when it renders to the same C as an earlier one, compiled with
-- its generated test (templates/kernel_tests.c for that one kernel) and
-- discarded with a message if it does not generate, compile or pass.
-- Compiles and tests run --jobs at a time; then each slot's candidates are
-- linked into one micro-benchmark (templates/bench/kernel_bench.c) that
-- times them interleaved, best of --reps rounds, decoding 1 token and
-- prefilling a chunk; benchmarks run one at a time.  A candidate's score is
-- the geometric mean over those modes of its time / the defaults' time; the
-- confirmed best replaces the defaults only if it beats them by more than
-- --margin.  The tuner prints a table per slot and a summary, writes the
-- database (DB/<cpu>-<isa>.lua) and appends one JSON line per slot to
-- --report.
--
-- --features defaults to the features ./configure found for this ISA
-- (build/config.ninja); pass the list the generator gets, since features
-- are part of the key.

local root = arg[0]:match("^(.*)/gen/[^/]*$") or "."
package.path = root .. "/gen/?.lua;" .. package.path
package.cpath = root .. "/build/tools/?.so;" .. package.cpath

local model_mod = require("model")
local plan_mod = require("plan")
local isa_mod = require("isa")
local template = require("template")
local render = require("render")
local buildkey = require("buildkey")
local tuning = require("tuning")
local bench = require("kernel_bench")

local started = os.time()

local function usage(msg)
  io.stderr:write("tune: " .. msg .. "\n")
  io.stderr:write("usage: lua5.4 gen/tune.lua --model models/NAME.lua --isa ISA [--features LIST] [--space tiny|full]\n"
    .. "         [--reps N] [--db DIR] [--kernel PATTERN] [--jobs N] [--threads N] [--margin F] [--min-ms F]\n"
    .. "         [--rt ARCHIVE] [--cc CC] [--work DIR] [--report FILE]\n")
  os.exit(2)
end

local function fail(msg)
  io.stderr:write("tune: " .. msg .. "\n")
  os.exit(1)
end

local function shell(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read_config(path)
  local cfg = {}
  local f = io.open(path, "r")
  if not f then return cfg end
  for line in f:lines() do
    local k, v = line:match("^([%w_]+)%s*=%s*(.-)%s*$")
    if k then cfg[k] = v end
  end
  f:close()
  return cfg
end

local cpus = tonumber(shell("nproc 2>/dev/null")) or 1
local config = read_config(root .. "/build/config.ninja")

local opts = {
  space = "full", reps = "10", db = root .. "/tuning", jobs = tostring(cpus), threads = tostring(cpus),
  margin = "0.02", ["min-ms"] = "1", rt = root .. "/build/rt/libryot.a", cc = config.cc or "cc",
  report = root .. "/build/bench.jsonl",
}
local known = { model = 1, isa = 1, features = 1, space = 1, reps = 1, db = 1, kernel = 1, jobs = 1, threads = 1,
                margin = 1, ["min-ms"] = 1, rt = 1, cc = 1, work = 1, report = 1 }
local i = 1
while i <= #arg do
  local flag, value = arg[i], arg[i + 1]
  local key = flag:match("^%-%-([%w%-]+)$")
  if not key or not known[key] then usage("unknown option '" .. flag .. "'") end
  if value == nil then usage("option '" .. flag .. "' needs a value") end
  opts[key] = value
  i = i + 2
end
for _, k in ipairs({ "model", "isa" }) do
  if not opts[k] then usage("missing --" .. k) end
end
if opts.space ~= "tiny" and opts.space ~= "full" then usage("--space must be tiny or full") end
for _, k in ipairs({ "reps", "jobs", "threads" }) do
  local n = math.tointeger(tonumber(opts[k]))
  if not n or n <= 0 then usage("--" .. k .. " must be a positive integer") end
  opts[k] = n
end
for _, k in ipairs({ "margin", "min-ms" }) do
  if not (tonumber(opts[k]) and tonumber(opts[k]) >= 0) then usage("--" .. k .. " must be a number >= 0") end
  opts[k] = tonumber(opts[k])
end

local ok_isa, isa = pcall(isa_mod.get, opts.isa)
if not ok_isa then fail(isa) end
local features = {}
if opts.features then
  for f in opts.features:gmatch("%S+") do
    if not isa_mod.features[f] then fail("unknown feature '" .. f .. "'") end
    features[#features + 1] = f
  end
else
  for _, f in ipairs({ "vnni", "vbmi", "gfni" }) do
    if config[f] == "1" and isa_mod.features[f].isa == opts.isa then features[#features + 1] = f end
  end
end
table.sort(features)
local feature_text = table.concat(features, " ")

local ok_model, model = pcall(model_mod.load, opts.model)
if not ok_model then fail(model) end
local rt = io.open(opts.rt, "r")
if not rt then fail("runtime archive " .. opts.rt .. " is missing: build it first (ninja build/rt/libryot.a)") end
rt:close()

local work = opts.work or string.format("%s/build/tune/%s-%s", root, model.name, opts.isa)
local cflags = table.concat({ "-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror",
  "-iquote " .. q(root .. "/runtime") .. " -iquote " .. q(root .. "/tests"), isa_mod.cflags(opts.isa, features) }, " ")
local libs = q(opts.rt) .. " -lm -lpthread"

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

-- s left-aligned in `width` columns (string.format widths stop at 99, and
-- candidate labels can be longer)
local function pad(s, width) return s .. string.rep(" ", width - #s) end

local function copy(t)
  local r = {}
  for k, v in pairs(t or {}) do r[k] = v end
  return r
end

-- Render templates/<file> for a plan made of `kernels` into dir/<file>.
local function render_files(dir, kernels, files)
  local plan = { kernels = kernels, isa = isa, build_key = "tuning candidate" }
  render.files(root, render.params(root, plan, model), dir, files)
end

local function first_line(path, pattern)
  local f = io.open(path, "r")
  if not f then return "" end
  local first, last
  for line in f:lines() do
    if not first and line:match(pattern) then first = line end
    if line ~= "" then last = line end
  end
  f:close()
  return first or last or ""
end

local function same(a, b) return buildkey.serialize(a) == buildkey.serialize(b) end

-- Plan as a build whose database answers `answer(kind, shape)` would;
-- returns the plan and the questions it asked, in order.
local function plan_with(answer)
  local asked = {}
  local db = {
    lookup = function(_, kind, shape)
      asked[#asked + 1] = { kind = kind, shape = shape }
      local params = answer(kind, shape)
      return params and copy(params)
    end,
  }
  return plan_mod.plan(model, opts.isa, { tuning = db, features = features }), asked
end

local function instance(plan, kind, shape)
  for _, k in ipairs(plan.kernels) do
    if k.kind == kind and same(k.shape, shape) then return k end
  end
end

-- `k` under another name (the benchmark links all candidates together).
local function renamed(k, name)
  local params = copy(k.params)
  params.name = name
  return { kind = k.kind, name = name, shape = k.shape, source = "candidate", params = params,
           signature = string.format(plan_mod.signatures[k.kind], name) }
end

local default_plan, questions = plan_with(function() end)
local chunk = default_plan.prefill_chunk
local ctx = math.min(model.seq_len, bench.decode_context)

-- Bytes the forward pass streams between two calls of one kernel, about:
-- the cold arguments of every kernel, once per layer (capped: enough to
-- defeat any cache).
local cold_target = 0
for _, k in ipairs(default_plan.kernels) do
  cold_target = cold_target + (bench.cold_bytes(k, opts.threads, ctx) or 0) * model.n_layers
end
cold_target = math.min(cold_target, 256 << 20)

-- Slots: a tunable kernel question, or a choice question with the kernel
-- question that follows it (a repeated choice finds its instance planned
-- already and asks nothing more).
local function selects(choice, kind)
  for _, k in ipairs(isa_mod.choices[choice] or {}) do
    if k == kind then return true end
  end
  return false
end

local slots = {}
do
  local seen = {}
  local function id(question) return question.kind .. buildkey.serialize(question.shape) end
  for qi, question in ipairs(questions) do
    local next_q = questions[qi + 1]
    if tuning.space(opts.isa, question.kind) and not seen[id(question)] then
      if not isa_mod.choices[question.kind] then
        seen[id(question)] = true
        slots[#slots + 1] = { kernel = question, base = instance(default_plan, question.kind, question.shape) }
      elseif next_q and selects(question.kind, next_q.kind) then
        seen[id(question)], seen[id(next_q)] = true, true
        slots[#slots + 1] = { choice = question, kernel = next_q, base = instance(default_plan, next_q.kind, next_q.shape) }
      end
    end
  end
  local wanted = {}
  for _, s in ipairs(slots) do
    if not opts.kernel or s.base.name:find(opts.kernel, 1, true) then wanted[#wanted + 1] = s end
  end
  slots = wanted
end

print(string.format("tune: %s on %s (%s), %s space, %d threads, best of %d rounds; work in %s",
  model.name, opts.isa .. (feature_text ~= "" and "+" .. feature_text:gsub(" ", "+") or ""), tuning.cpu_model(),
  opts.space, opts.threads, opts.reps, work))
if #slots == 0 then
  print("tune: nothing to tune: no kernel of " .. model.name .. " has a search space on " .. opts.isa)
  os.exit(0)
end

-- Timings are only as good as the machine is quiet (checked before this
-- run adds its own compiles to the load average).
local load = tonumber((shell("cat /proc/loadavg 2>/dev/null"):match("^(%S+)")))
if load and load > cpus * 0.75 then
  print(string.format("tune: warning: load average %.1f on %d CPUs: other work competes with the benchmarks, "
    .. "timings will be noisy", load, cpus))
end

-- The instance a slot gets with variant `variant` (nil: no choice, or the
-- default) and blocking `blocking` (nil: that kind's defaults).
local function plan_candidate(slot, variant, blocking)
  local after_choice, decided = false, nil
  local plan = plan_with(function(kind, shape)
    if slot.choice and kind == slot.choice.kind and same(shape, slot.choice.shape) then
      after_choice = true
      return variant
    end
    -- the instance a choice decides is the next question, of a kind it
    -- selects (a repeated choice asks nothing more)
    local ours = slot.choice and after_choice and selects(slot.choice.kind, kind)
      or not slot.choice and kind == slot.kernel.kind and same(shape, slot.kernel.shape)
    after_choice = false
    if ours and not decided then
      decided = { kind = kind, shape = shape }
      return blocking
    end
  end)
  if not decided then error("the plan asked nothing about this kernel", 0) end
  return instance(plan, decided.kind, decided.shape)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Candidate records of a slot: { variant, kind, params (blocking), label,
-- short, instance, dir, index, passed, times, score }.
local function describe(slot, c)
  local parts, changes = {}, {}
  if slot.choice then
    local v = tuning.searched(opts.isa, slot.choice.kind, c.variant or slot.default_variant)
    parts[#parts + 1] = tuning.describe(v)
    for k, x in pairs(v) do
      if x ~= slot.default_variant[k] then changes[#changes + 1] = k .. "=" .. tostring(x) end
    end
  end
  local b = tuning.searched(opts.isa, c.kind, c.params)
  parts[#parts + 1] = tuning.describe(b)
  local defaults = tuning.defaults_of(opts.isa, c.kind)
  for _, k in ipairs(sorted_keys(b)) do
    if b[k] ~= defaults[k] then changes[#changes + 1] = k .. "=" .. tostring(b[k]) end
  end
  table.sort(changes)
  c.label = table.concat(parts, " | ")
  c.short = #changes > 0 and table.concat(changes, " ") or "defaults"
end

-- Plan, render and deduplicate candidates `cands` of a slot (skipping
-- those planned already); returns the compile-and-test jobs of the new ones.
local function prepare(slot, cands)
  local jobs = {}
  for _, c in ipairs(cands) do
    if c.index or c.same_as then goto next end
    local ok, inst = pcall(plan_candidate, slot, c.variant, c.params)
    local code, err = nil, inst
    if ok then
      c.kind = inst.kind
      c.params = c.params or tuning.defaults_of(opts.isa, inst.kind)
      ok, code = pcall(render.params(root, { isa = isa }, model).render_kernel, renamed(inst, "kernel"))
      err = code
    end
    if not ok then
      print(string.format("  %s %s: cannot be generated, discarded: %s", slot.base.name,
        tuning.describe(c.variant or {}) .. " " .. tuning.describe(c.params or {}), tostring(err)))
      slot.discarded = slot.discarded + 1
    else
      describe(slot, c)
      local original = slot.by_code[code]
      if original then  -- the same C as a candidate planned already
        c.same_as = original
        if c.star and not original.star then original.star, original.moved = c.star, c.moved end
      else
        slot.by_code[code] = c
        c.index = slot.count
        slot.count = slot.count + 1
        c.instance = renamed(inst, string.format("%s_t%d", slot.base.name, c.index))
        c.dir = string.format("%s/t%d", slot.dir, c.index)
        slot.candidates[#slot.candidates + 1] = c
        jobs[#jobs + 1] = { slot = slot, cand = c }
      end
    end
    ::next::
  end
  return jobs
end

-- Compile every job's candidate with its test and run the test, --jobs at a
-- time, printing a line as each finishes; sets cand.passed.
local function compile_and_test(jobs, round)
  local scripts = {}
  for n, job in ipairs(jobs) do
    local c, d = job.cand, job.cand.dir
    os.execute("mkdir -p " .. q(d))
    render_files(d, { c.instance }, { "kernels.h", "kernels.c", "kernel_tests.c" })
    local cc = string.format("%s %s -iquote %s", opts.cc, cflags, q(d))
    -- (a test file of one kernel may leave a helper of kernel_tests.c unused)
    write(d .. "/run.sh", table.concat({
      string.format("{ %s -c %s -o %s && %s -c %s -o %s && %s -O2 -o %s %s %s %s; } > %s 2>&1 || { echo '%d compile'; exit 0; }",
        cc, q(d .. "/kernels.c"), q(d .. "/kernels.o"), cc .. " -Wno-unused-function", q(d .. "/kernel_tests.c"),
        q(d .. "/kernel_tests.o"), opts.cc, q(d .. "/kernel_tests"), q(d .. "/kernel_tests.o"), q(d .. "/kernels.o"), libs,
        q(d .. "/compile.log"), n),
      string.format("timeout 900 %s > %s 2>&1 || { echo \"%d test $?\"; exit 0; }", q(d .. "/kernel_tests"),
        q(d .. "/test.log"), n),
      string.format("echo '%d ok'", n),
    }, "\n") .. "\n")
    scripts[#scripts + 1] = d .. "/run.sh"
  end
  local list = string.format("%s/round%d.txt", work, round)
  write(list, table.concat(scripts, "\n") .. "\n")
  print(string.format("tune: round %d: compiling and testing %d candidate(s), %d at a time", round, #jobs, opts.jobs))
  local runner = io.popen(string.format("xargs -d '\\n' -P %d -n 1 sh < %s", opts.jobs, q(list)))
  local done = 0
  for line in runner:lines() do
    local n, status, code = line:match("^(%d+) (%a+)%s*(%d*)")
    local job = jobs[tonumber(n)]
    if job then
      done = done + 1
      local c = job.cand
      local msg
      if status == "ok" then
        c.passed = true
        msg = "test passed"
      elseif status == "compile" then
        msg = "does not compile, discarded (" .. c.dir .. "/compile.log: " .. first_line(c.dir .. "/compile.log", "error") .. ")"
      elseif code == "124" then
        msg = "test timed out, discarded"
      else
        msg = "test failed, discarded (" .. c.dir .. "/test.log: " .. first_line(c.dir .. "/test.log", "^FAIL") .. ")"
      end
      if not c.passed then job.slot.discarded = job.slot.discarded + 1 end
      print(string.format("[%d/%d] %s %s: %s", done, #jobs, job.slot.base.name, c.label, msg))
    end
  end
  runner:close()
  if done ~= #jobs then fail(string.format("only %d of %d candidate jobs reported back (see %s)", done, #jobs, work)) end
end

local function fmt_us(ns) return string.format("%.3f", ns / 1000) end

-- Time candidates `list` of a slot (all passed; the defaults first)
-- interleaved in one benchmark; sets each one's times and score and prints
-- the table.  The forward pass runs the output head (plan.linear.output) on
-- the last token only, so that is timed decoding only.
local function measure(slot, list, label)
  local instances, objs = {}, {}
  for _, c in ipairs(list) do
    instances[#instances + 1] = c.instance
    objs[#objs + 1] = q(c.dir .. "/kernels.o")
  end
  local h = bench.harness(instances, { threads = opts.threads, chunk = chunk, ctx = ctx, cold_target = cold_target,
                                       decode_only = slot.base == default_plan.linear.output })
  local params = {
    kernel = slot.base, candidates = instances, isa = isa, threads = opts.threads,
    buffers = h.buffers, modes = h.modes, calls = h.calls,
  }
  write(slot.dir .. "/bench.c", template.render(root .. "/templates/bench/kernel_bench.c", params))
  render_files(slot.dir, instances, { "kernels.h" })
  local exe = slot.dir .. "/bench"
  local cmd = string.format("{ %s %s -iquote %s -c %s -o %s && %s -O2 -o %s %s %s %s; } > %s 2>&1",
    opts.cc, cflags, q(slot.dir), q(slot.dir .. "/bench.c"), q(slot.dir .. "/bench.o"), opts.cc, q(exe),
    q(slot.dir .. "/bench.o"), table.concat(objs, " "), libs, q(slot.dir .. "/bench.log"))
  if not os.execute(cmd) then
    fail("the benchmark of " .. slot.base.name .. " does not compile (" .. slot.dir .. "/bench.log: "
      .. first_line(slot.dir .. "/bench.log", "error") .. ")")
  end
  print(string.format("%s %s: timing %d candidate(s) x %d mode(s), best of %d rounds", label, slot.base.name, #list,
    #h.modes, opts.reps))
  local out = shell(string.format("timeout 3600 %s %d %g 2>&1", q(exe), opts.reps, opts["min-ms"]))
  local got = 0
  for c, mode, ns in out:gmatch("time (%d+) (%w+) ([%d%.]+)") do
    local cand = list[tonumber(c) + 1]
    cand.times = cand.times or {}
    cand.times[mode] = tonumber(ns)
    got = got + 1
  end
  if got ~= #list * #h.modes then
    fail("the benchmark of " .. slot.base.name .. " failed: " .. out:gsub("\n$", ""))
  end
  local default = list[1]
  for _, c in ipairs(list) do
    local log = 0
    for _, md in ipairs(h.modes) do log = log + math.log(c.times[md.name] / default.times[md.name]) end
    c.score = math.exp(log / #h.modes)
  end
  local width = #"candidate"
  for _, c in ipairs(list) do width = math.max(width, #c.short) end
  local function row(first, ...) return "  " .. pad(first, width) .. string.format(" %12s %12s %7s", ...) end
  print(string.format("  defaults: %s", default.label))
  print(row("candidate", h.modes[1].name .. " us", h.modes[2] and h.modes[2].name .. " us" or "", "score"))
  for _, c in ipairs(list) do
    print(row(c.short, fmt_us(c.times[h.modes[1].name]),
      h.modes[2] and fmt_us(c.times[h.modes[2].name]) or "", string.format("%.3f", c.score)))
  end
  slot.modes = h.modes
end

local function lowest(list)
  local best = list[1]
  for _, c in ipairs(list) do
    if c.score < best.score then best = c end
  end
  return best
end

-- Blocking candidates of `kind` for variant `variant`.
local function blocking_candidates(kind, variant)
  local list = {}
  for _, c in ipairs(tuning.candidates(opts.isa, kind, opts.space)) do
    c.variant = variant
    list[#list + 1] = c
  end
  return list
end

-- A variant's other computing choices (gen/isa.lua variant_params, e.g. a
-- LUT's table precision and group size): blocking params at the defaults
-- but for each other combination of those parameters in the search space.
local function variant_points(variant)
  local kind = "linear_" .. variant.family
  local names, space = isa_mod.variant_params[kind], tuning.space(opts.isa, kind)
  if not names or not space then return {} end
  local defaults = tuning.defaults_of(opts.isa, kind)
  local values = {}
  for _, name in ipairs(names) do values[name] = space[1][name] or { defaults[name] } end
  local others = {}
  for _, p in ipairs(tuning.combinations(defaults, names, values)) do
    if tuning.describe(p) ~= tuning.describe(defaults) then others[#others + 1] = p end
  end
  return others
end

-- Start each slot: its defaults, the other variants at their default
-- blocking (and their variant_points) and the default variant's blocking
-- candidates.
local jobs = {}
for _, slot in ipairs(slots) do
  slot.candidates, slot.by_code, slot.count, slot.discarded = {}, {}, 0, 0
  slot.dir = work .. "/" .. slot.base.name
  os.execute("rm -rf " .. q(slot.dir) .. " && mkdir -p " .. q(slot.dir))
  local cands = blocking_candidates(slot.base.kind, nil)
  if slot.choice then
    slot.default_variant = tuning.defaults_of(opts.isa, slot.choice.kind)
    for _, v in ipairs(tuning.candidates(opts.isa, slot.choice.kind, opts.space)) do
      if tuning.describe(v.params) ~= tuning.describe(slot.default_variant) then
        cands[#cands + 1] = { variant = v.params }
        for _, p in ipairs(variant_points(v.params)) do cands[#cands + 1] = { variant = v.params, params = p } end
      end
    end
  end
  slot.round = cands
  slot.stage = "explore"
  for _, job in ipairs(prepare(slot, cands)) do jobs[#jobs + 1] = job end
end

-- The passed candidates among `list`, the defaults first (nil when the
-- defaults did not pass: that kernel is broken, not tunable).
local function passed(slot, list)
  local r = { slot.candidates[1] }
  if not (r[1] and r[1].index == 0 and r[1].passed) then return nil end
  local seen = { [r[1]] = true }
  for _, c in ipairs(list) do
    c = c.same_as or c
    if c.passed and not seen[c] then
      seen[c] = true
      r[#r + 1] = c
    end
  end
  return r
end

-- Advance a measured slot; returns the candidates of its next round (nil:
-- finished).
local function advance(slot, list)
  local best = lowest(list)
  if slot.stage == "confirm" then return nil end
  if slot.stage == "explore" and slot.choice then
    local variant_best  -- the best other variant at its default blocking
    for _, c in ipairs(list) do
      if c.variant and c.score < 1 - opts.margin and (not variant_best or c.score < variant_best.score) then
        variant_best = c
      end
    end
    if variant_best then
      slot.stage, slot.leader, slot.explored = "explore_variant", best, variant_best.variant
      return blocking_candidates(variant_best.kind, variant_best.variant)
    end
  end
  local finalists = { best }
  for _, c in ipairs(tuning.combine(list)) do
    c.variant = slot.explored
    finalists[#finalists + 1] = c
  end
  if slot.leader and slot.leader ~= best then finalists[#finalists + 1] = slot.leader end
  slot.stage = "confirm"
  if best == list[1] and #finalists == 1 then return nil end
  return finalists
end

local results = {}
local function finish(slot, list)
  local default, best = list[1], lowest(list)
  if best.score > 1 - opts.margin then best = default end
  print(string.format("  -> %s: %.3fx the defaults' speed%s", best.short, 1 / best.score,
    slot.discarded > 0 and string.format(" (%d candidate(s) discarded)", slot.discarded) or ""))
  local measured = 0
  for _, c in ipairs(slot.candidates) do measured = measured + (c.times and 1 or 0) end
  results[#results + 1] = { slot = slot, default = default, best = best, gain = 1 / best.score, measured = measured }
end

-- Rounds: compile and test every slot's new candidates together, then
-- benchmark each slot on its own.
local round, active = 0, slots
while #active > 0 do
  round = round + 1
  if #jobs > 0 then compile_and_test(jobs, round) end
  jobs = {}
  local next_active = {}
  for si, slot in ipairs(active) do
    local list = passed(slot, slot.round)
    if not list then
      local t0 = slot.candidates[1]
      print(string.format("[%d/%d] %s: the default parameters %s; not tuned (see %s)", si, #active, slot.base.name,
        t0 and t0.index == 0 and "fail to compile or pass their test" or "cannot be generated",
        t0 and t0.dir or slot.dir))
    else
      measure(slot, list, string.format("[round %d, %d/%d]", round, si, #active))
      local more = advance(slot, list)
      if not more then
        finish(slot, list)
      else
        slot.round = more
        for _, job in ipairs(prepare(slot, more)) do jobs[#jobs + 1] = job end
        next_active[#next_active + 1] = slot
      end
    end
  end
  active = next_active
end

-- Record the winners: the choice (when the slot has one) and the blocking
-- of the chosen instance, each under its key.
if not opts.db:match("%.lua$") then os.execute("mkdir -p " .. q(opts.db)) end
local db = tuning.load(opts.db, opts.isa, { root = root })
local function record(kind, shape, kernel, params, r)
  local key = tuning.key(kind, shape, opts.isa, features, root)
  for old, e in pairs(db.entries) do  -- entries this one makes stale
    if old ~= key and e.kernel == kernel and e.kind == kind and (e.features or "") == feature_text then
      db.entries[old] = nil
    end
  end
  db.entries[key] = {
    kernel = kernel, kind = kind, features = feature_text, params = tuning.searched(opts.isa, kind, params),
    gain = math.floor(r.gain * 1000 + 0.5) / 1000, threads = opts.threads, reps = opts.reps, space = opts.space,
    default_decode_us = r.default.times.decode and r.default.times.decode / 1000,
    best_decode_us = r.best.times.decode and r.best.times.decode / 1000,
    default_prefill_us = r.default.times.prefill and r.default.times.prefill / 1000,
    best_prefill_us = r.best.times.prefill and r.best.times.prefill / 1000,
  }
end
for _, r in ipairs(results) do
  local slot, best = r.slot, r.best
  if slot.choice then
    record(slot.choice.kind, slot.choice.shape, slot.base.name, best.variant or slot.default_variant, r)
  end
  local inst = plan_candidate(slot, best.variant, best.params)
  record(inst.kind, inst.shape, inst.name, best.params, r)
end
tuning.save(db)

local function json_string(s)
  return '"' .. tostring(s):gsub('[%c"\\]', function(ch)
    return ({ ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t" })[ch] or string.format("\\u%04x", ch:byte())
  end) .. '"'
end

local report = io.open(opts.report, "a")
if not report then fail("cannot write " .. opts.report) end
print("")
local widths = { #"kernel", #"best (changes from the defaults)" }
for _, r in ipairs(results) do
  widths[1] = math.max(widths[1], #r.slot.base.name)
  widths[2] = math.max(widths[2], #r.best.short)
end
local function row(kernel, best, gain) return pad(kernel, widths[1]) .. "  " .. pad(best, widths[2]) .. "  " .. gain end
print(row("kernel", "best (changes from the defaults)", "   gain"))
for _, r in ipairs(results) do
  local base = r.slot.base
  print(row(base.name, r.best.short, string.format("%6.3fx", r.gain)))
  local fields = {
    '"bench": "tune"', '"model": ' .. json_string(model.name), '"kernel": ' .. json_string(base.name),
    '"kind": ' .. json_string(base.kind), '"shape": ' .. json_string(tuning.describe(base.shape)),
    '"isa": ' .. json_string(opts.isa), '"features": ' .. json_string(feature_text),
    '"cpu": ' .. json_string(tuning.cpu_model()), string.format('"threads": %d', opts.threads),
    '"default": ' .. json_string(r.default.label), '"best": ' .. json_string(r.best.label),
    string.format('"candidates": %d', r.measured), string.format('"discarded": %d', r.slot.discarded),
  }
  for _, md in ipairs(r.slot.modes) do
    fields[#fields + 1] = string.format('"default_%s_us": %s, "best_%s_us": %s', md.name, fmt_us(r.default.times[md.name]),
      md.name, fmt_us(r.best.times[md.name]))
  end
  fields[#fields + 1] = string.format('"metric": "tune_gain", "value": %.4f', r.gain)
  report:write("{" .. table.concat(fields, ", ") .. "}\n")
end
report:close()
print(string.format("tune: %d kernel(s) recorded in %s, report appended to %s; %d s in all", #results, db.path,
  opts.report, os.time() - started))
if #results < #slots then os.exit(1) end
