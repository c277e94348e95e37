-- Writes build/graph.ninja: the edges of the build, from the lists below and
-- the settings ./configure detected.  Run by ./configure:
--   lua5.4 gen/buildgraph.lua build/config.ninja > build/graph.ninja

package.path = "gen/?.lua;" .. package.path
local isa_mod = require("isa")
local model_mod = require("model")

-- Hand-written runtime shared by every model binary and test.
local runtime = {
  "error", "arena", "sched", "cpu", "weights", "llama2c", "gguf", "gguf_vocab", "quant",
  "tokenizer", "tokenizer_spm", "tokenizer_bpe", "pretokenize", "unicode", "sampler", "bind", "pack",
  "bandwidth", "gguf_write", "file", "perplexity", "chat", "options",
}

-- Runtime tests (tests/runtime/NAME.c): sanitizer flavour, arguments, extra
-- inputs; `count_mallocs` links the malloc-counting wrappers.
local runtime_tests = {
  { name = "test_arena", flavor = "asan" },
  { name = "test_bind", flavor = "asan" },
  { name = "test_pack", flavor = "asan" },
  { name = "test_sched", flavor = "tsan", count_mallocs = true },
  { name = "test_deque", flavor = "tsan" },
  { name = "test_weights", flavor = "asan", args = "$data" },
  { name = "test_tokenizer", flavor = "asan", args = "$data" },
  { name = "test_sampler", flavor = "asan" },
  { name = "test_cpu", flavor = "asan" },
  { name = "test_gguf", flavor = "asan", args = "$data", count_mallocs = true },
  { name = "test_quant", flavor = "asan" },
  { name = "test_pretokenize", flavor = "asan" },
  { name = "test_gguf_vocab", flavor = "asan", args = "$data" },
  { name = "test_chat", flavor = "asan" },
  { name = "test_mkmodel", flavor = "asan", args = "build/tools/mkmodel gen", deps = "build/tools/mkmodel" },
}

-- Generator tests (Lua), run with lua5.4 from the top folder.
local lua_tests = { "test_template", "test_model", "test_plan", "test_bitnet_plan", "test_attention", "test_tuning" }

local flavors = {
  rt = "$opt",
  asan = "$asan",
  tsan = "$tsan",
}

local function read_config(path)
  local cfg = {}
  for line in io.lines(path) do
    local k, v = line:match("^([%w_]+)%s*=%s*(.-)%s*$")
    if k then cfg[k] = v end
  end
  return cfg
end

local cfg = read_config(arg[1] or "build/config.ninja")
local runnable = {}
for isa in cfg.runnable_isas:gmatch("%S+") do runnable[#runnable + 1] = isa end
local features = {}
if cfg.vnni == "1" then features[#features + 1] = "vnni" end
if cfg.vbmi == "1" then features[#features + 1] = "vbmi" end
if cfg.gfni == "1" then features[#features + 1] = "gfni" end

local out = {}
local function emit(fmt, ...) out[#out + 1] = string.format(fmt, ...) end
local function list(t, prefix, suffix)
  local r = {}
  for _, v in ipairs(t) do r[#r + 1] = (prefix or "") .. v .. (suffix or "") end
  return table.concat(r, " ")
end

emit("# written by gen/buildgraph.lua; rerun ./configure after adding a model or source")
emit("build build/tools/xxh3.so: lua_module runtime/lua_xxh3.c")

-- The Unicode property table (runtime/unicode.h), generated from Debian's
-- unicode-data files into the build folder.
local unicode_table = "build/gen/unicode_table.c"
local unicode_inputs = string.format("%s/UnicodeData.txt %s/PropList.txt", cfg.unicode, cfg.unicode)
emit("build %s: gen_script %s | gen/unicode.lua\n  script = gen/unicode.lua\n  args = %s %s",
  unicode_table, unicode_inputs, unicode_inputs, unicode_table)

-- Runtime archive in each flavour.
for flavor, opt in pairs(flavors) do
  local objs = {}
  for _, src in ipairs(runtime) do
    local obj = string.format("build/%s/%s.o", flavor, src)
    emit("build %s: cc runtime/%s.c\n  opt = %s", obj, src, opt)
    objs[#objs + 1] = obj
  end
  local table_obj = string.format("build/%s/unicode_table.o", flavor)
  emit("build %s: cc %s\n  opt = %s", table_obj, unicode_table, opt)
  objs[#objs + 1] = table_obj
  emit("build build/%s/libryot.a: archive %s", flavor, table.concat(objs, " "))
end
emit("build build/rt/cli.o: cc runtime/cli.c\n  extra = -DRYOT_DATA_DIR='\"$data\"'")

-- Tools.
emit("build build/rt/mkmodel.o: cc runtime/mkmodel.c\n  extra = $lua_cflags")
emit("build build/tools/mkmodel: link build/rt/mkmodel.o build/rt/libryot.a\n  libs = $lua_libs -lxxhash")

-- Every model, for the configured ISA (build/NAME/) and for each other ISA
-- this machine runs (build/NAME-ISA/, used by the tests).
local function files(cmd)
  local p = io.popen(cmd)
  local r = p:read("a"):gsub("%s+", " ")
  p:close()
  return r
end
local generator_inputs = files("ls gen/*.lua") .. "build/tools/xxh3.so"
local template_inputs = files("find templates -type f | LC_ALL=C sort")
local models = {}
for path in files("ls models/*.lua"):gmatch("%S+") do models[#models + 1] = path:match("models/(.-)%.lua$") end

-- Linker flags that route allocator calls through tests/runtime/malloc_count.c.
local wrap_mallocs = "-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=aligned_alloc,--wrap=posix_memalign"

local stamps = {}
local function test_edge(name, cmd, deps)
  local stamp = "build/tests/" .. name .. ".ok"
  emit("build %s: run_test %s\n  name = %s\n  cmd = %s", stamp, deps, name, cmd)
  stamps[#stamps + 1] = stamp
end

-- The configured CPU features an ISA's build may use.
local function features_of(isa)
  local r = {}
  for _, f in ipairs(features) do
    if isa_mod.features[f].isa == isa then r[#r + 1] = f end
  end
  return r
end

-- The descriptions models/NAME.lua builds on (its `base` chain), as
-- implicit inputs: a change to a base regenerates its variants.
local function bases_of(name)
  local own, r = "models/" .. name .. ".lua", {}
  for _, path in ipairs(model_mod.sources(own)) do
    if path ~= own then r[#r + 1] = path end
  end
  return table.concat(r, " ")
end

local function model_build(name, isa, dir)
  local isa_features = features_of(isa)
  local isa_flags = isa_mod.cflags(isa, isa_features)
  local gen_files = list({ "kernels.h", "kernels.c", "forward.c", "kernel_tests.c" }, dir .. "/")
  emit("build %s: gen models/%s.lua | %s %s %s tuning", gen_files, name, bases_of(name), generator_inputs, template_inputs)
  emit("  model = models/%s.lua\n  gen_isa = %s\n  features = %s\n  outdir = %s", name, isa, table.concat(isa_features, " "), dir)
  for _, f in ipairs({ "kernels", "forward", "kernel_tests" }) do
    emit("build %s/%s.o: cc %s/%s.c || %s/kernels.h\n  extra = %s -iquote %s -iquote tests", dir, f, dir, f, dir, isa_flags, dir)
  end
  return isa_flags
end

for _, name in ipairs(models) do
  local dirs = { [cfg.isa] = "build/" .. name }
  for _, isa in ipairs(runnable) do dirs[isa] = dirs[isa] or string.format("build/%s-%s", name, isa) end
  for isa, dir in pairs(dirs) do
    model_build(name, isa, dir)
    -- each model's own kernel tests (ninja test runs every distinct kernel once, below)
    emit("build %s/kernel_tests: link %s/kernel_tests.o %s/kernels.o build/rt/libryot.a", dir, dir, dir)
  end
  emit("build tune-%s: tune models/%s.lua | build/rt/libryot.a %s %s %s\n  model = models/%s.lua\n  gen_isa = %s\n  features = %s",
    name, name, bases_of(name), generator_inputs, template_inputs, name, cfg.isa, table.concat(features_of(cfg.isa), " "))
  local dir = "build/" .. name
  emit("build %s/%s: link %s/forward.o %s/kernels.o build/rt/cli.o build/rt/libryot.a", dir, name, dir, dir)
  emit("build %s: phony %s/%s", name, dir, name)
end

-- Every distinct kernel instance of every model, tested once per ISA this
-- machine runs (gen/kernel_tests.lua).
do
  local descriptions = list(models, "models/", ".lua")
  for _, isa in ipairs(runnable) do
    local dir, feats = "build/kernel_tests/" .. isa, features_of(isa)
    emit("build %s/kernels.h %s/kernels.c %s/kernel_tests.c: gen_script gen/kernel_tests.lua | %s %s %s tuning\n  script = gen/kernel_tests.lua\n  args = --isa %s --features \"%s\" --tuning tuning --out %s %s",
      dir, dir, dir, descriptions, generator_inputs, template_inputs, isa, table.concat(feats, " "), dir, descriptions)
    for _, f in ipairs({ "kernels", "kernel_tests" }) do
      emit("build %s/%s.o: cc %s/%s.c || %s/kernels.h\n  extra = %s -iquote %s -iquote tests", dir, f, dir, f, dir,
        isa_mod.cflags(isa, feats), dir)
    end
    emit("build %s/kernel_tests: link %s/kernel_tests.o %s/kernels.o build/rt/libryot.a", dir, dir, dir)
    test_edge("kernels-" .. isa, dir .. "/kernel_tests", dir .. "/kernel_tests")
  end
end

-- End-to-end test of stories260k on every ISA this machine runs: the
-- generated forward pass against the independent reference in tests/.
for _, isa in ipairs(runnable) do
  local dir = isa == cfg.isa and "build/stories260k" or "build/stories260k-" .. isa
  local exe = "build/tests/e2e_llama_" .. isa
  emit("build build/tests/e2e_llama_%s.o: cc tests/e2e_llama.c || %s/kernels.h\n  extra = -iquote %s -iquote tests/runtime", isa, dir, dir)
  emit("build %s: link build/tests/e2e_llama_%s.o %s/forward.o %s/kernels.o build/rt/malloc_count.o build/rt/libryot.a\n  extra = %s",
    exe, isa, dir, dir, wrap_mallocs)
  test_edge("e2e-stories260k-" .. isa, exe .. " $data/stories260K.bin", exe)
end
test_edge("bad-input", "tests/bad_input.sh build/stories260k/stories260k $data",
  "build/stories260k/stories260k tests/bad_input.sh")

-- End-to-end tests of the models with int8 activations (BitNet, ternary
-- llamas) at tiny shapes on synthetic weights, against the independent
-- reference in tests/e2e_bitnet.c: each model and the file it reads, made
-- by mkmodel from the description named.  bitnet-tiny-int4head and
-- -int6head (low-bit heads) read bitnet-tiny's file.
local e2e_files = {  -- file, description, mkmodel options
  { "bitnet-tiny", "models/bitnet-tiny.lua", "" },
  { "bitnet-tiny-untied", "models/bitnet-tiny-untied.lua", "" },
  { "bitnet-3b-tiny", "models/bitnet-3b-tiny.lua", "--type f16" },  -- rows of 200: no whole TQ2_0 blocks
  { "llama3-1.58-tiny", "models/llama3-1.58-tiny.lua", "" },
  { "falcon3-1.58bit-tiny", "models/falcon3-1.58bit-tiny.lua", "" },
  -- the same models written otherwise: other ternary types, NAME.scale
  -- tensors, shuffled, bitnet.cpp's other architecture name
  { "bitnet-tiny-i2s", "models/bitnet-tiny.lua", "--type i2_s" },
  { "bitnet-tiny-scales", "models/bitnet-tiny.lua", "--scales" },
  { "bitnet-tiny-shuffle", "models/bitnet-tiny.lua", "--shuffle" },
  { "bitnet-tiny-b25", "models/bitnet-tiny.lua", "--arch bitnet-25" },
  { "llama3-1.58-tiny-tq1", "models/llama3-1.58-tiny.lua", "--type tq1_0" },
  { "llama3-1.58-tiny-i2s", "models/llama3-1.58-tiny.lua", "--type i2_s" },
}
-- model, file, and whether on every ISA this machine runs (else the configured one)
local e2e_models = {
  { "bitnet-tiny", "bitnet-tiny", true }, { "bitnet-tiny-int4head", "bitnet-tiny", true },
  { "bitnet-tiny-int6head", "bitnet-tiny", true }, { "bitnet-tiny-untied", "bitnet-tiny-untied", true },
  { "bitnet-3b-tiny", "bitnet-3b-tiny", true }, { "llama3-1.58-tiny", "llama3-1.58-tiny", true },
  { "falcon3-1.58bit-tiny", "falcon3-1.58bit-tiny", true },
  { "bitnet-tiny", "bitnet-tiny-i2s" }, { "llama3-1.58-tiny", "llama3-1.58-tiny-tq1" },
  { "llama3-1.58-tiny", "llama3-1.58-tiny-i2s" },
}
for _, f in ipairs(e2e_files) do
  local file, desc, opts = f[1], f[2], f[3]
  emit("build build/models/%s.gguf: run_bench build/tools/mkmodel %s %s\n  name = mkmodel\n  cmd = mkdir -p build/models && build/tools/mkmodel %s --seed 1%s -o build/models/%s.gguf 2> build/models/%s.log",
    file, desc, bases_of(desc:match("([^/]+)%.lua$")), desc, opts ~= "" and " " .. opts or "", file, file)
end
for _, e in ipairs(e2e_models) do
  local name, file, everywhere = e[1], e[2], e[3]
  local gguf = "build/models/" .. file .. ".gguf"
  for _, isa in ipairs(everywhere and runnable or { cfg.isa }) do
    local dir = isa == cfg.isa and "build/" .. name or "build/" .. name .. "-" .. isa
    local exe = string.format("build/tests/e2e_%s_%s", name, isa)
    if everywhere then
      emit("build %s.o: cc tests/e2e_bitnet.c || %s/kernels.h\n  extra = -iquote %s", exe, dir, dir)
      emit("build %s: link %s.o %s/forward.o %s/kernels.o build/rt/libryot.a", exe, exe, dir, dir)
    end
    test_edge(string.format("e2e-%s-%s", everywhere and name or file, isa), exe .. " " .. gguf, exe .. " " .. gguf)
  end
end
-- bitnet-tiny's model written otherwise must give its logits bit for bit
for _, isa in ipairs(runnable) do
  local dir = isa == cfg.isa and "build/bitnet-tiny" or "build/bitnet-tiny-" .. isa
  local exe = "build/tests/same_logits_" .. isa
  local files = list({ "bitnet-tiny", "bitnet-tiny-i2s", "bitnet-tiny-scales", "bitnet-tiny-shuffle", "bitnet-tiny-b25" },
    "build/models/", ".gguf")
  emit("build %s.o: cc tests/same_logits.c || %s/kernels.h\n  extra = -iquote %s", exe, dir, dir)
  emit("build %s: link %s.o %s/forward.o %s/kernels.o build/rt/libryot.a", exe, exe, dir, dir)
  test_edge("same-logits-bitnet-tiny-" .. isa, exe .. " " .. files, exe .. " " .. files)
end
test_edge("chat", "tests/chat.sh build/bitnet-tiny/bitnet-tiny build/stories260k/stories260k build/tools/mkmodel $data",
  "build/bitnet-tiny/bitnet-tiny build/stories260k/stories260k build/tools/mkmodel tests/chat.sh")
test_edge("bad-model-bitnet", "tests/bad_model_bitnet.sh build/bitnet-tiny/bitnet-tiny build/tools/mkmodel $data",
  "build/bitnet-tiny/bitnet-tiny build/tools/mkmodel tests/bad_model_bitnet.sh tests/gguf_tensor.lua")

-- Mutants (tests/mutants.lua): broken templates the tests must reject,
-- generated for the scalar ISA by tests/mutate.lua from a mutated copy.
for _, mu in ipairs(dofile("tests/mutants.lua")) do
  local dir = "build/mutants/" .. mu.name
  emit("build %s: gen_script tests/mutate.lua | tests/mutants.lua models/%s.lua %s %s %s\n  script = tests/mutate.lua\n  args = %s %s",
    list({ "kernels.h", "kernels.c", "forward.c", "kernel_tests.c" }, dir .. "/"), mu.model, bases_of(mu.model),
    generator_inputs, template_inputs, mu.name, dir)
  for _, f in ipairs({ "kernels", "forward", "kernel_tests" }) do
    emit("build %s/%s.o: cc %s/%s.c || %s/kernels.h\n  extra = -iquote %s -iquote tests", dir, f, dir, f, dir, dir)
  end
  local exe, args = dir .. "/kernel_tests", ""
  if mu.test == "kernels" then
    emit("build %s: link %s/kernel_tests.o %s/kernels.o build/rt/libryot.a", exe, dir, dir)
  else
    local e2e = mu.model == "stories260k" and "e2e_llama" or "e2e_bitnet"
    exe, args = dir .. "/" .. e2e, " " .. mu.input
    emit("build %s.o: cc tests/%s.c || %s/kernels.h\n  extra = -iquote %s -iquote tests/runtime", exe, e2e, dir, dir)
    if e2e == "e2e_llama" then
      emit("build %s: link %s.o %s/forward.o %s/kernels.o build/rt/malloc_count.o build/rt/libryot.a\n  extra = %s",
        exe, exe, dir, dir, wrap_mallocs)
    else
      emit("build %s: link %s.o %s/forward.o %s/kernels.o build/rt/libryot.a", exe, exe, dir, dir)
    end
  end
  local inputs = mu.input and mu.input:match("^build/") and " " .. mu.input or ""
  test_edge("mutant-" .. mu.name, "tests/expect-fail '" .. mu.expect:gsub("%$", "$$$$") .. "' " .. exe .. args,
    exe .. " tests/expect-fail" .. inputs)
end

-- Runtime tests.
for flavor, opt in pairs(flavors) do
  emit("build build/%s/malloc_count.o: cc tests/runtime/malloc_count.c\n  opt = %s", flavor, opt)
end
for _, t in ipairs(runtime_tests) do
  local obj = string.format("build/tests/%s.o", t.name)
  local exe = string.format("build/tests/%s", t.name)
  local counter = t.count_mallocs and string.format("build/%s/malloc_count.o", t.flavor) or ""
  emit("build %s: cc tests/runtime/%s.c\n  opt = %s", obj, t.name, flavors[t.flavor])
  emit("build %s: link %s %s build/%s/libryot.a\n  extra = %s %s", exe, obj, counter, t.flavor,
    flavors[t.flavor], t.count_mallocs and wrap_mallocs or "")
  test_edge(t.name, exe .. (t.args and " " .. t.args or ""), exe .. (t.deps and " " .. t.deps or ""))
end
for _, t in ipairs(lua_tests) do
  local src = "tests/gen/" .. t .. ".lua"
  test_edge(t, "$lua " .. src, src .. " " .. generator_inputs)
end

-- Low-bit linear kernels at odd and edge shapes and the 2B4T shapes, and the
-- forward wiring of a model's quantizer and linear kernels against f32, both
-- rendered by gen/linear_tests.lua, for every ISA this machine runs.
for _, isa in ipairs(runnable) do
  local feats = table.concat(features_of(isa), " ")
  local flags = isa_mod.cflags(isa, features_of(isa))
  local function rendered(dir, args, main)
    emit("build %s/kernels.h %s/kernels.c %s/%s.c: gen_script gen/linear_tests.lua | %s %s\n  script = gen/linear_tests.lua\n  args = --isa %s --features \"%s\" --out %s %s",
      dir, dir, dir, main, generator_inputs, template_inputs, isa, feats, dir, args)
    for _, f in ipairs({ "kernels", main }) do
      emit("build %s/%s.o: cc %s/%s.c || %s/kernels.h\n  extra = %s -iquote %s -iquote tests", dir, f, dir, f, dir, flags, dir)
    end
    emit("build %s/%s: link %s/%s.o %s/kernels.o build/rt/libryot.a", dir, main, dir, main, dir)
    return dir .. "/" .. main
  end
  local exe = rendered("build/linear_tests/" .. isa, "", "kernel_tests")
  test_edge("linear-kernels-" .. isa, exe, exe)
  for _, model in ipairs({ "models/bitnet-tiny.lua", "tests/lowbit/llama-int4-odd.lua" }) do
    local name = model:match("([^/]+)%.lua$")
    exe = rendered(string.format("build/linear_tests/%s-%s", name, isa), "--model " .. model, "lowbit_forward")
    test_edge(string.format("lowbit-forward-%s-%s", name, isa), exe, exe)
  end
end

-- The attention test matrix (head_dim x GQA ratio x cache type x contexts up
-- to 4096), rendered by gen/attention_tests.lua, for every ISA this machine runs.
for _, isa in ipairs(runnable) do
  local dir, flags = "build/attention_tests/" .. isa, isa_mod.cflags(isa, features_of(isa))
  emit("build %s/kernels.h %s/kernels.c %s/attention_tests.c: gen_script gen/attention_tests.lua | %s %s\n  script = gen/attention_tests.lua\n  args = --isa %s --out %s",
    dir, dir, dir, generator_inputs, template_inputs, isa, dir)
  for _, f in ipairs({ "kernels", "attention_tests" }) do
    emit("build %s/%s.o: cc %s/%s.c || %s/kernels.h\n  extra = %s -iquote %s -iquote tests", dir, f, dir, f, dir, flags, dir)
  end
  emit("build %s/attention_tests: link %s/attention_tests.o %s/kernels.o build/rt/libryot.a", dir, dir, dir)
  test_edge("attention-" .. isa, dir .. "/attention_tests", dir .. "/attention_tests")
end

-- Tuning a tiny model end to end with a tiny search space.
test_edge("tune-e2e", "$lua tests/gen/test_tune_e2e.lua " .. cfg.isa .. " build/rt/libryot.a",
  "tests/gen/test_tune_e2e.lua build/rt/libryot.a " .. generator_inputs .. " " .. template_inputs)

-- Benchmarks: each appends to build/bench.jsonl and prints a table.
local benches = {}
local function bench_edge(name, cmd, deps)
  local stamp = "build/bench/" .. name .. ".done"
  emit("build %s: run_bench %s | build/bench/always\n  name = %s\n  cmd = %s && mkdir -p build/bench && touch %s",
    stamp, deps, name, cmd, stamp)
  benches[#benches + 1] = stamp
end
emit("build build/bench/always: phony")
emit("build build/bench/bench_sched.o: cc tests/bench/bench_sched.c\n  opt = -O2 -march=native")
emit("build build/bench/bench_sched: link build/bench/bench_sched.o build/rt/libryot.a")
bench_edge("sched", "build/bench/bench_sched build/bench.jsonl", "build/bench/bench_sched")
-- Low-bit linear kernels at the 2B4T shapes against the scalar reference
-- and the measured read bandwidth (gen/bench_linear.lua).
do
  local dir, feats = "build/bench/linear", features_of(cfg.isa)
  emit("build %s/%s/kernels.h %s/%s/kernels.c %s/scalar/kernels.h %s/scalar/kernels.c %s/bench.c: gen_script gen/bench_linear.lua | %s %s\n  script = gen/bench_linear.lua\n  args = --isa %s --features \"%s\" --out %s",
    dir, cfg.isa, dir, cfg.isa, dir, dir, dir, generator_inputs, template_inputs, cfg.isa, table.concat(feats, " "), dir)
  emit("build %s/%s/kernels.o: cc %s/%s/kernels.c\n  extra = %s -iquote %s/%s", dir, cfg.isa, dir, cfg.isa,
    isa_mod.cflags(cfg.isa, feats), dir, cfg.isa)
  emit("build %s/scalar/kernels.o: cc %s/scalar/kernels.c\n  extra = -iquote %s/scalar", dir, dir, dir)
  emit("build %s/bench.o: cc %s/bench.c || %s/%s/kernels.h %s/scalar/kernels.h\n  extra = -iquote %s", dir, dir, dir,
    cfg.isa, dir, dir)
  emit("build %s/bench: link %s/bench.o %s/%s/kernels.o %s/scalar/kernels.o build/rt/libryot.a", dir, dir, dir, cfg.isa, dir)
  bench_edge("linear", dir .. "/bench build/bench.jsonl", dir .. "/bench")
end
-- Flash attention on the 2B4T layout against the naive reference and the
-- read bandwidth (gen/bench_attention.lua).
do
  local dir = "build/bench/attention"
  emit("build %s/kernels.h %s/kernels.c %s/bench_attention.c: gen_script gen/bench_attention.lua | %s %s\n  script = gen/bench_attention.lua\n  args = --isa %s --out %s",
    dir, dir, dir, generator_inputs, template_inputs, cfg.isa, dir)
  for _, f in ipairs({ "kernels", "bench_attention" }) do
    emit("build %s/%s.o: cc %s/%s.c || %s/kernels.h\n  extra = %s -iquote %s", dir, f, dir, f, dir,
      isa_mod.cflags(cfg.isa, features_of(cfg.isa)), dir)
  end
  emit("build %s/bench_attention: link %s/bench_attention.o %s/kernels.o build/rt/libryot.a", dir, dir, dir)
  bench_edge("attention", dir .. "/bench_attention build/bench.jsonl", dir .. "/bench_attention")
end
bench_edge("models", "tests/bench/model_bench.sh", "tests/bench/model_bench.sh build/tools/mkmodel build/bitnet-b1.58-2b-4t/bitnet-b1.58-2b-4t "
  .. "build/bitnet-b1.58-2b-4t-int8head/bitnet-b1.58-2b-4t-int8head "
  .. "build/bitnet-b1.58-2b-4t-int4head/bitnet-b1.58-2b-4t-int4head build/bitnet-b1.58-large/bitnet-b1.58-large")

-- Perplexity of stories260K's lossy variants (tests/bench/quality_bench.sh).
do
  local deps = { "tests/bench/quality_bench.sh", "tests/data/stories.txt" }
  for _, name in ipairs({ "stories260k", "stories260k-int8head", "stories260k-int6head", "stories260k-int4head",
                          "stories260k-int4-lut-i16", "stories260k-int4-lut-i8" }) do
    deps[#deps + 1] = string.format("build/%s/%s", name, name)
  end
  bench_edge("quality", "tests/bench/quality_bench.sh", table.concat(deps, " "))
end

-- The main job: the default model on its default prompt, or a synthetic
-- model at a real shape when the data folder lacks it.
emit("build run: run_bench tests/run-main.sh build/stories260k/stories260k build/bitnet-b1.58-large/bitnet-b1.58-large build/tools/mkmodel\n  name = main\n  cmd = tests/run-main.sh $data")

emit("build bench: phony %s", table.concat(benches, " "))
emit("build build/tests/always: phony")
emit("build test: summary %s | build/tests/always", table.concat(stamps, " "))

local binaries = {}
for _, name in ipairs(models) do binaries[#binaries + 1] = name end
emit("build all: phony %s build/tools/mkmodel", table.concat(binaries, " "))
emit("default all")

io.write(table.concat(out, "\n"), "\n")
