-- The template engine: interpolation, control lines, errors with template line numbers.
package.path = "tests/gen/?.lua;" .. package.path
local t = require("check")
local template = require("template")

local path = t.tmpfile([[
/* {{rows}}x{{cols}} */
//@ for i = 0, n - 1 do
x[{{i}}] = {{scale * i}};
//@ end
//@ if cols % 16 ~= 0 then
tail({{cols % 16}});
//@ end
]])
local out = template.render(path, { rows = 4, cols = 20, n = 2, scale = 0.5 })
t.check("interpolates and loops",
  out == "/* 4x20 */\nx[0] = 0.0;\nx[1] = 0.5;\ntail(4);\n", out)
out = template.render(path, { rows = 1, cols = 32, n = 0, scale = 1 })
t.check("conditional lines drop out", out == "/* 1x32 */\n", out)
t.check("floats keep precision", template.render(t.tmpfile("{{x}}"), { x = 1e-5 }) == "1e-05\n")
t.raises("nil value names template line and expression",
  function() template.render(path, { rows = 1, n = 0, scale = 1 }) end, ":1: {{cols}} is nil")
local bad = t.tmpfile("a\nb\n//@ for i = 1, do\n")
t.raises("Lua syntax error names the template", function() template.render(bad, {}) end, bad:gsub("%p", "%%%0"))
t.done()
