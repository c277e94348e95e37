-- C templates with two additions, so a template reads like the C it produces:
--
--   {{expr}}        replaced by the value of the Lua expression `expr`
--   //@ statement   a whole line of Lua (for/if/end/local ...) that decides
--                   which of the following lines are emitted, and how often
--
-- A template is compiled once into a Lua function of a parameter table; the
-- parameters are visible as globals inside the template.

local M = {}

-- Each template line becomes exactly one line of Lua, so Lua's error
-- messages carry the template's own line numbers.
local function compile(src)
  local code = {}
  local lineno = 0
  for line in (src .. (src:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do
    lineno = lineno + 1
    local stmt = line:match("^%s*//@%s?(.*)$")
    if stmt then
      code[lineno] = stmt
    else
      local parts, pos = {}, 1
      while true do
        local s, e, expr = line:find("{{(.-)}}", pos)
        if not s then break end
        parts[#parts + 1] = string.format("_out[#_out+1] = %q", line:sub(pos, s - 1))
        parts[#parts + 1] = string.format("_out[#_out+1] = _val((%s), %d, %q)", expr, lineno, expr)
        pos = e + 1
      end
      parts[#parts + 1] = string.format("_out[#_out+1] = %q", line:sub(pos) .. "\n")
      code[lineno] = table.concat(parts, " ")
    end
  end
  code[1] = "local _out, _val = ... " .. (code[1] or "")
  return table.concat(code, "\n")
end

-- Values interpolated into C: integers print without ".0", floats with
-- enough digits to round-trip and an "f" suffix is the template's business.
local function value(v, lineno, expr, name)
  if v == nil then
    error(string.format("%s:%d: {{%s}} is nil", name, lineno, expr), 0)
  end
  if math.type(v) == "float" then
    if v == math.floor(v) and math.abs(v) < 2^53 then return string.format("%.1f", v) end
    return string.format("%.9g", v)
  end
  return tostring(v)
end

local compiled = {}

-- Render the template file at `path` with parameter table `params`.
function M.render(path, params)
  local code = compiled[path]
  if not code then
    local f = assert(io.open(path, "r"), "cannot open template " .. path)
    code = compile(f:read("a"))
    f:close()
    compiled[path] = code
  end
  local env = setmetatable({}, { __index = function(_, k)
    local v = params[k]
    if v ~= nil then return v end
    return _G[k]
  end })
  local chunk, err = load(code, "@" .. path, "t", env)
  if not chunk then error("template " .. path .. ": " .. err, 0) end
  local out = {}
  chunk(out, function(v, l, x) return value(v, l, x, path) end)
  return table.concat(out)
end

return M
