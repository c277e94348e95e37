-- BitNet planning: the architecture adds the sub-layer norms, the FFN
package.path = "tests/gen/?.lua;" .. package.path
-- activation comes from the description (never from the architecture), the
-- head and embedding kernels follow the description's weight types, and one
-- forward template renders both families.
local t = require("check")
local model = require("model")
local plan_mod = require("plan")

local b2 = model.load("models/bitnet-b1.58-2b-4t.lua")
local large = model.load("models/bitnet-b1.58-large.lua")
local b2_int4 = model.load("models/bitnet-b1.58-2b-4t-int4head.lua")
local b2_int8 = model.load("models/bitnet-b1.58-2b-4t-int8head.lua")
local llama = model.load("models/stories260k.lua")

for _, isa in ipairs({ "scalar", "avx2", "avx512" }) do
  local p = plan_mod.plan(b2, isa, { features = { "vnni", "vbmi" } })
  t.check(isa .. " 2B4T gate is squared ReLU", p.gate_act.kind == "relu2_gate" and p.gate_act.params.n == 6912)
  t.check(isa .. " 2B4T sub-norms at dim and hidden", p.sub_norm_attn.params.n == 2560 and p.sub_norm_ffn.params.n == 6912)
  local head6 = p.linear.output
  t.check(isa .. " 2B4T int6 head is a mad code6 kernel with 256-column super-blocks of 16-column sub-blocks",
    head6.kind == "linear_mad" and head6.params.encoding == "code6" and head6.params.sb == 256
    and head6.params.sub == 16 and head6.params.rows == 128256 and p.head_quant == nil)
  t.check(isa .. " 2B4T int6 head reads 6.5625 bits per weight",
    math.abs(head6.params.packed_bytes * 8 / (128256 * 2560) - 6.5625) < 1e-3)
  t.check(isa .. " 2B4T int6 lookup reads the head's layout",
    p.embedding.kind == "embed_lowbit" and p.embedding.params.layout == head6.params.layout)
  local p8 = plan_mod.plan(b2_int8, isa, { features = { "vnni", "vbmi" } })
  t.check(isa .. " 2B4T-int8head int8 head with a block-quantized input",
    p8.linear.output.kind == "linear_int8" and p8.linear.output.params.rows == 128256
    and p8.head_quant and p8.head_quant.params.n == 2560 and p8.head_quant.params.stride == 2560)
  t.check(isa .. " 2B4T-int8head tied lookup reads the int8 table", p8.embedding.kind == "embed_int8")
  for _, k in ipairs(p.kernels) do
    t.check(isa .. " has a template for " .. k.kind, pcall(plan_mod.template_path, ".", p.isa, k.kind))
  end
  local pl = plan_mod.plan(large, isa)
  t.check(isa .. " large gate is SiLU (its description says so)", pl.gate_act.kind == "swiglu")
  t.check(isa .. " large untied int6 head (mad code6) beside an f16 embedding lookup",
    pl.linear.output.kind == "linear_mad" and pl.linear.output.params.encoding == "code6"
    and pl.embedding.kind == "embed_f16" and pl.head_quant == nil)
  local p4 = plan_mod.plan(b2_int4, isa, { features = { "vnni", "vbmi" } })
  local head4 = p4.linear.output
  t.check(isa .. " 2B4T int4 head is a mad code4 kernel with 64-column scale blocks",
    head4.kind == "linear_mad" and head4.params.encoding == "code4" and head4.params.sb == 64
    and head4.params.rows == 128256 and p4.head_quant == nil)
  t.check(isa .. " 2B4T int4 head reads the layers' int8 input", head4.params.x_stride == p4.quantize_act[2560].params.stride)
  t.check(isa .. " 2B4T int4 lookup reads the head's layout",
    p4.embedding.kind == "embed_lowbit" and p4.embedding.params.layout == head4.params.layout)
  local pll = plan_mod.plan(llama, isa)
  t.check(isa .. " llama has no sub-norms", pll.sub_norm_attn == nil and pll.sub_norm_ffn == nil)
end
t.check("VNNI head only with the feature",
  plan_mod.plan(b2_int8, "avx512", { features = { "vnni" } }).linear.output.params.vnni == true
  and plan_mod.plan(b2_int8, "avx512", {}).linear.output.params.vnni == false)
t.check("int8 rows padded to whole 64-column blocks", plan_mod.padded_cols("int8", 3200) == 3200
  and plan_mod.padded_cols("int8", 200) == 256 and plan_mod.padded_cols("f16", 200) == 200)

local function with(text) return t.tmpfile(text) end
t.raises("tied embedding and head must share a type", function()
  model.load(with([[return { name = "x", arch = "bitnet", dim = 256, hidden_dim = 512, n_layers = 1, n_heads = 4,
    n_kv_heads = 4, vocab_size = 512, seq_len = 64, tied_embedding = true, activation = "relu2",
    weights = { linear = "ternary", embedding = "f16", output = "int8" }, files = { weights = "x.gguf" } }]]))
end, "tied embedding: 'weights.embedding' %(f16%) and 'weights.output' %(int8%) are one tensor")

-- One template for both families: the BitNet lines only in BitNet's forward pass.
local function forward(name)
  local out = os.tmpname()
  os.remove(out)
  local ok = os.execute(string.format("lua5.4 gen/main.lua --model models/%s.lua --isa avx512 --features 'vnni vbmi' --out %s", name, out))
  local f = ok and io.open(out .. "/forward.c")
  local text = f and f:read("a") or ""
  if f then f:close() end
  os.execute("rm -rf " .. out)
  return text
end
local fb, fl = forward("bitnet-tiny"), forward("stories260k")
t.check("bitnet forward normalizes before wo and w2", fb:find("attn_sub_norm", 1, true) and fb:find("ffn_sub_norm", 1, true))
t.check("bitnet forward uses the squared-ReLU gate", fb:find("relu2_gate_512(", 1, true) ~= nil)
t.check("bitnet forward checks bitnet.* keys", fb:find('"bitnet-b1.58"', 1, true) ~= nil)
t.check("llama forward has no sub-norms", fl ~= "" and not fl:find("sub_norm", 1, true))
t.check("llama forward uses SiLU", fl:find("swiglu_172(", 1, true) ~= nil)
t.done()
