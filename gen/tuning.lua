-- The tuning database: measured blocking parameters of kernel instances,
-- and measured choices of variant (gen/isa.lua `choices`, e.g. LUT or MAD
-- for a low-bit layer), one Lua table file per CPU model and ISA,
-- tuning/<cpu-slug>-<isa>.lua (see tuning/README.md).  gen/tune.lua measures
-- and writes it; the generator (gen/main.lua --tuning tuning) reads it
-- through plan.lua's blocking().
--
-- An entry is found by key(): an XXH3 hash of the kernel's kind, shape, ISA
-- and CPU features together with the text of the kernel's template (the one
-- the ISA's template path finds), its test template and the generator files
-- that shape kernels (for a choice: the templates of every kind it can
-- select).  Editing a template invalidates the entries of that kind only; a
-- stale entry is simply never looked up again.
--
-- Entries are checked against the ISA's search space (gen/isa.lua `search`):
-- an entry with an unknown kind or parameter, a value of the wrong type or
-- outside the space is reported on stderr in one line naming the file and
-- the key, and ignored, so the kernel keeps its defaults.

local xxh3 = require("xxh3")
local buildkey = require("buildkey")
local isa_mod = require("isa")
local plan_mod = require("plan")

local M = {}

-- The folder holding gen/ and templates/: where this file lives.
M.root = debug.getinfo(1, "S").source:match("^@(.-)/?gen/tuning%.lua$")
if M.root == nil or M.root == "" then M.root = "." end

-- Files whose text goes into every key besides the kind's own templates.
M.generator_files = { "gen/plan.lua", "gen/template.lua" }

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- The CPU model as /proc/cpuinfo names it ("model name", or the ARM
-- "Hardware" line), "unknown CPU" when there is none.
function M.cpu_model(cpuinfo)
  local text = cpuinfo or read("/proc/cpuinfo") or ""
  for _, field in ipairs({ "model name", "Hardware" }) do
    local name = text:match("\n" .. field .. "%s*:%s*([^\n]-)%s*\n") or text:match("^" .. field .. "%s*:%s*([^\n]-)%s*\n")
    if name and name ~= "" then return name end
  end
  return "unknown CPU"
end

-- "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz" -> "intel-xeon-gold-6338-cpu-2-00ghz"
function M.slug(name)
  local s = name:lower():gsub("%(r%)", ""):gsub("%(tm%)", ""):gsub("[^%w]+", "-")
  return (s:gsub("^%-+", ""):gsub("%-+$", ""))
end

-- Database file for this CPU and ISA inside folder `dir`.
function M.file_for(dir, isa_name, cpu)
  return string.format("%s/%s-%s.lua", dir:gsub("/+$", ""), M.slug(cpu or M.cpu_model()), isa_name)
end

local function sorted_features(features)
  local list, seen = {}, {}
  for _, f in ipairs(features or {}) do
    if not seen[f] then list[#list + 1] = f; seen[f] = true end
  end
  table.sort(list)
  return list
end

-- Text of the sources that shape one kind's kernels on one ISA (for a
-- choice, those of every kind it can select), cached per (root, ISA,
-- kind): the template path decides which template counts.
local source_cache = {}
local function kind_sources(root, isa, kind)
  local id = root .. "\0" .. isa.name .. "\0" .. kind
  if source_cache[id] then return source_cache[id] end
  local paths = {}
  for _, k in ipairs(isa_mod.choices[kind] or { kind }) do
    paths[#paths + 1] = plan_mod.template_path(root, isa, k):sub(#root + 2)
    paths[#paths + 1] = "templates/tests/" .. k .. ".c"
  end
  for _, p in ipairs(M.generator_files) do paths[#paths + 1] = p end
  local parts = {}
  for _, p in ipairs(paths) do
    parts[#parts + 1] = p .. "\0" .. (read(root .. "/" .. p) or "")
  end
  source_cache[id] = table.concat(parts, "\0")
  return source_cache[id]
end

-- The database key of a kernel instance.
function M.key(kind, shape, isa_name, features, root)
  root = root or M.root
  local isa = isa_mod.get(isa_name)
  local head = buildkey.serialize({ kind = kind, shape = shape, isa = isa_name, features = sorted_features(features) })
  return xxh3.hex(head .. "\0" .. kind_sources(root, isa, kind))
end

-- The search space of `kind` on an ISA as a list of families (tables of
-- parameter -> allowed values), or nil when the kind is not tunable there.
function M.space(isa_name, kind)
  local s = (isa_mod.get(isa_name).search or {})[kind]
  if s == nil then return nil end
  if s[1] == nil then return { s } end
  return s
end

-- Defaults of a kind, or of a choice named by a path ("lowbit.ternary" is
-- defaults.lowbit.ternary).
local function defaults_of(isa_name, kind)
  local t = isa_mod.get(isa_name).defaults
  for part in kind:gmatch("[^%.]+") do t = type(t) == "table" and t[part] or nil end
  return t or {}
end
M.defaults_of = defaults_of

local function copy(t)
  local r = {}
  for k, v in pairs(t) do r[k] = v end
  return r
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- "a=1 b=lut": parameters in a stable, readable form.
function M.describe(params)
  local parts = {}
  for _, k in ipairs(sorted_keys(params)) do parts[#parts + 1] = k .. "=" .. tostring(params[k]) end
  return table.concat(parts, " ")
end

local function contains(list, v)
  for _, x in ipairs(list) do
    if x == v and math.type(x) == math.type(v) then return true end
  end
  return false
end

-- Is `params` (defaults filled in) a point of one family of the space?
local function in_family(family, params, defaults)
  for k, v in pairs(params) do
    local allowed = family[k]
    if allowed then
      if not contains(allowed, v) then return false end
    elseif v ~= defaults[k] then
      return false
    end
  end
  return true
end

-- Families with at most this many combinations are searched exhaustively.
M.exhaustive_limit = 32

-- Candidates for the first round of tuning `kind` on an ISA, the defaults
-- first: { params = blocking parameters, star = the center when the
-- candidate belongs to a star, moved = the parameter it moves from it }.
--   "full": every combination of a family's values when there are at most
--           M.exhaustive_limit, else a star: the family's center (the
--           defaults, with a parameter whose default the family does not
--           list set to its first value) and the center with one parameter
--           moved to each other value;
--           M.combine() then joins the per-parameter winners;
--   "tiny": the star with only the first other value of each parameter
--           (a few candidates, for tests).
-- Parameters a family leaves out keep their default values.
function M.candidates(isa_name, kind, size)
  local space = M.space(isa_name, kind)
  if not space then return {} end
  local defaults = defaults_of(isa_name, kind)
  local list, seen = {}, {}
  local function add(c)
    local id = M.describe(c.params)
    local old = seen[id]
    if not old then
      seen[id] = c
      list[#list + 1] = c
    elseif c.star and not old.star then  -- the defaults are this star's center
      old.star, old.moved = c.star, c.moved
    end
  end
  add({ params = copy(defaults) })
  for _, family in ipairs(space) do
    local names = sorted_keys(family)
    local combinations = 1
    for _, k in ipairs(names) do combinations = combinations * #family[k] end
    if size == "full" and combinations <= M.exhaustive_limit then
      for _, p in ipairs(M.combinations(defaults, names, family)) do add({ params = p }) end
    else
      local center = copy(defaults)
      for _, k in ipairs(names) do
        if not contains(family[k], center[k]) then center[k] = family[k][1] end
      end
      add({ params = center, star = center })
      for _, k in ipairs(names) do
        for _, v in ipairs(family[k]) do
          if v ~= center[k] then
            local p = copy(center)
            p[k] = v
            add({ params = p, star = center, moved = k })
            if size == "tiny" then break end
          end
        end
      end
    end
  end
  return list
end

-- Every combination of values[name] for the listed names (in order, the
-- last varying fastest), each a copy of `base` with those set.
function M.combinations(base, names, values)
  local points = { copy(base) }
  for _, name in ipairs(names) do
    local grown = {}
    for _, p in ipairs(points) do
      for _, v in ipairs(values[name]) do
        local q = copy(p)
        q[name] = v
        grown[#grown + 1] = q
      end
    end
    points = grown
  end
  return points
end

-- Second round after a star: `scored` lists first-round candidates with a
-- `score` (lower is better).  For each star, the center with every
-- parameter set to the value whose move scored best (when it beat the
-- center); returns those points that move more than one parameter (the
-- others were measured already).
function M.combine(scored)
  local stars = {}
  for _, c in ipairs(scored) do
    if c.star then
      local id = M.describe(c.star)
      stars[id] = stars[id] or { center = c.star, best = {} }
      local s = stars[id]
      if not c.moved then
        s.center_score = c.score
      elseif not s.best[c.moved] or c.score < s.best[c.moved].score then
        s.best[c.moved] = c
      end
    end
  end
  local out = {}
  for _, id in ipairs(sorted_keys(stars)) do
    local s = stars[id]
    if s.center_score then
      local p, moves = copy(s.center), 0
      for _, k in ipairs(sorted_keys(s.best)) do
        local c = s.best[k]
        if c.score < s.center_score then
          p[k] = c.params[k]
          moves = moves + 1
        end
      end
      if moves > 1 then out[#out + 1] = { params = p } end
    end
  end
  return out
end

-- The parameters of `params` that the kind's search space covers (what a
-- database entry records; the others follow the defaults).
function M.searched(isa_name, kind, params)
  local r = {}
  for _, family in ipairs(M.space(isa_name, kind) or {}) do
    for k in pairs(family) do r[k] = params[k] end
  end
  return r
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function value_type(v) return math.type(v) or type(v) end

-- nil when `params` (an entry's) are a point of the search space, else why not.
function M.check_params(isa_name, kind, params)
  local space = M.space(isa_name, kind)
  if not space then return string.format("kind '%s' is not tunable on %s", tostring(kind), isa_name) end
  if type(params) ~= "table" then return "params must be a table" end
  local defaults = defaults_of(isa_name, kind)
  local allowed = {}  -- per parameter, the values any family lists
  for _, family in ipairs(space) do
    for k, values in pairs(family) do
      allowed[k] = allowed[k] or {}
      for _, v in ipairs(values) do
        if not contains(allowed[k], v) then allowed[k][#allowed[k] + 1] = v end
      end
    end
  end
  for _, k in ipairs(sorted_keys(params)) do
    local v = params[k]
    local values = allowed[k]
    if values == nil and defaults[k] == nil then
      return string.format("unknown parameter '%s' for %s", tostring(k), kind)
    end
    local want = value_type(values and values[1] or defaults[k])
    if value_type(v) ~= want then
      return string.format("parameter '%s' must be %s (got %s)", k, want == "integer" and "an integer" or "a " .. want, show(v))
    end
    if values and not contains(values, v) then
      local list = {}
      for _, x in ipairs(values) do list[#list + 1] = show(x) end
      return string.format("%s=%s is outside the %s search space {%s}", k, show(v), isa_name, table.concat(list, ", "))
    end
  end
  local full = copy(defaults)
  for k, v in pairs(params) do full[k] = v end
  for _, family in ipairs(space) do
    if in_family(family, full, defaults) then return nil end
  end
  return string.format("%s is not a combination the %s search space allows", M.describe(params), isa_name)
end

-- Fields an entry may carry besides kind and params (written by the tuner,
-- for the reader; only kind and params are used).
local info_fields = {
  kernel = "string", features = "string", space = "string", threads = "integer", reps = "integer",
  gain = "number", default_decode_us = "number", default_prefill_us = "number",
  best_decode_us = "number", best_prefill_us = "number",
}

local function check_entry(isa_name, key, e)
  if type(key) ~= "string" or not key:match("^%x+$") or #key ~= 16 then
    return "key must be 16 hex digits"
  end
  if type(e) ~= "table" then return "entry must be a table" end
  for k, v in pairs(e) do
    if k ~= "kind" and k ~= "params" then
      local want = info_fields[k]
      if not want then return string.format("unknown field '%s'", tostring(k)) end
      if (want == "number" and type(v) ~= "number") or (want ~= "number" and value_type(v) ~= want) then
        return string.format("field '%s' must be a %s", k, want)
      end
    end
  end
  if type(e.kind) ~= "string" then return "missing field 'kind'" end
  if e.params == nil then return "missing field 'params'" end
  return M.check_params(isa_name, e.kind, e.params)
end

local DB = {}
DB.__index = DB

-- Blocking parameters of an instance (the kind's defaults overlaid with the
-- entry's), or nil when the database has no valid entry for it.
function DB:lookup(kind, shape, features)
  local e = self.entries[M.key(kind, shape, self.isa, features, self.root)]
  if not e or e.kind ~= kind then return nil end
  local params = copy(defaults_of(self.isa, kind))
  for k, v in pairs(e.params) do params[k] = v end
  return params
end

-- Load the database at `path` for ISA `isa_name`.  `path` is a database
-- file, or a folder holding one file per CPU model and ISA (this CPU's is
-- used).  A missing file is an empty database.  Problems are reported through
-- opts.warn (default: one line on stderr) and the offending entry, or the
-- whole file when it is malformed, is ignored.
-- opts: warn(msg), cpu (model name, default this CPU's), root.
function M.load(path, isa_name, opts)
  opts = opts or {}
  isa_mod.get(isa_name)
  local warn = opts.warn or function(msg) io.stderr:write("gen: warning: " .. msg .. "\n") end
  local cpu = opts.cpu or M.cpu_model()
  local file = path
  local probe = io.open(path .. "/.", "r")
  if probe then
    probe:close()
    file = M.file_for(path, isa_name, cpu)
  end
  local db = setmetatable({ path = file, isa = isa_name, cpu = cpu, root = opts.root or M.root, entries = {} }, DB)
  local exists = io.open(file, "r")
  if not exists then return db end
  exists:close()
  local chunk, err = loadfile(file, "t", {})
  local ok, t = false, err
  if chunk then ok, t = pcall(chunk) end
  local problem
  if not chunk or not ok then
    problem = tostring(t)
  elseif type(t) ~= "table" then
    problem = "must return a table"
  elseif t.isa ~= isa_name then
    problem = string.format("holds entries for ISA %s, not %s", show(t.isa), isa_name)
  elseif type(t.entries) ~= "table" then
    problem = "field 'entries' must be a table"
  end
  if problem then
    warn(string.format("%s: %s; all its entries ignored (defaults used)", file, problem:gsub("^" .. file:gsub("%p", "%%%0") .. ":", "")))
    return db
  end
  for _, key in ipairs(sorted_keys(t.entries)) do
    local e = t.entries[key]
    local why = check_entry(isa_name, key, e)
    if why then
      local kernel = type(e) == "table" and type(e.kernel) == "string" and " (" .. e.kernel .. ")" or ""
      warn(string.format("%s: entry %s%s: %s; entry ignored (defaults used)", file, tostring(key), kernel, why))
    else
      db.entries[key] = e
    end
  end
  return db
end

-- Lua source of a value: tables with sorted keys on one line.
local function literal(v)
  if type(v) == "table" then
    local parts = {}
    for _, k in ipairs(sorted_keys(v)) do
      local name = k:match("^[%a_][%w_]*$") and k or "[" .. string.format("%q", k) .. "]"
      parts[#parts + 1] = name .. " = " .. literal(v[k])
    end
    return "{ " .. table.concat(parts, ", ") .. " }"
  elseif math.type(v) == "float" then
    return string.format("%.6g", v):find("[%.e]") and string.format("%.6g", v) or string.format("%.1f", v)
  end
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

local entry_order = { "kernel", "kind", "features", "params", "gain", "default_decode_us", "best_decode_us",
  "default_prefill_us", "best_prefill_us", "threads", "reps", "space" }

-- Write the database to db.path (via a temporary file and a rename, so a
-- reader never sees half a file and the folder's time stamp changes).
function M.save(db)
  local keys = sorted_keys(db.entries)
  table.sort(keys, function(a, b)
    local ka, kb = db.entries[a].kernel or "", db.entries[b].kernel or ""
    if ka ~= kb then return ka < kb end
    return a < b
  end)
  local out = {
    string.format("-- Tuning database for %s, ISA %s: blocking parameters measured by gen/tune.lua.", db.cpu, db.isa),
    "-- Keys are gen/tuning.lua key(): kind, shape, ISA, features and template sources.",
    "-- Regenerate with the tuner rather than editing by hand; see tuning/README.md.",
    "return {",
    "  cpu = " .. literal(db.cpu) .. ",",
    "  isa = " .. literal(db.isa) .. ",",
    "  entries = {",
  }
  for _, key in ipairs(keys) do
    local e = db.entries[key]
    out[#out + 1] = string.format("    [%q] = {", key)
    for _, field in ipairs(entry_order) do
      if e[field] ~= nil then out[#out + 1] = string.format("      %s = %s,", field, literal(e[field])) end
    end
    out[#out + 1] = "    },"
  end
  out[#out + 1] = "  },"
  out[#out + 1] = "}"
  local tmp = db.path .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
  assert(os.rename(tmp, db.path))
end

return M
