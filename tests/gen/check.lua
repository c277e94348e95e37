-- Tiny test harness for the generator tests: check(name, cond) and
-- raises(name, fn, pattern); done() prints "N passed, M failed" and exits.
package.path = "gen/?.lua;tests/gen/?.lua;" .. package.path
package.cpath = "build/tools/?.so;" .. package.cpath

local M = { passed = 0, failed = 0 }

function M.check(name, cond, detail)
  if cond then
    M.passed = M.passed + 1
    print("ok   " .. name)
  else
    M.failed = M.failed + 1
    print("FAIL " .. name .. (detail and (": " .. tostring(detail)) or ""))
  end
end

-- fn must raise an error whose message matches `pattern`.
function M.raises(name, fn, pattern)
  local ok, err = pcall(fn)
  M.check(name, not ok and tostring(err):match(pattern) ~= nil, ok and "no error" or err)
end

function M.tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

function M.done()
  print(string.format("%d passed, %d failed", M.passed, M.failed))
  os.exit(M.failed == 0 and 0 or 1)
end

return M
