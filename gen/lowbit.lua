-- Low-bit linear layers: the packed weight layout a kernel instance reads,
-- derived from its parameters, and the layout key that names it.
--
-- Weights w (ternary {-1,0,1}, signed int2 [-2,1], int4 [-8,7] or int6
-- [-32,31]) are stored as unsigned codes u = w + offset.  Activations are
-- int8 per token; a kernel computes sum(u*x) and subtracts offset * sum(x).
--
-- Two families, both reading rows in groups of `rg` (the rows one vector
-- holds) and columns in slabs:
--   mad  a slab is rg rows x 4 byte columns, byte (r, q) holds P codes of
--        row r for columns 4j + q (j < P): code2 (P = 4, 2-bit fields
--        u << 2j), code4 (P = 2, nibbles) or trit5 (ternary, P = 5, 1.6
--        bits per weight: c = sum u_j 3^j in base 3; the tuples pair up as
--        t and -t, c and 242 - c, so the byte is c when c <= 121 and else
--        128 + (242 - c): 7 bits index a 122-entry digit table, the top bit
--        says "negate", u_j -> 2 - u_j).  Unpacked plane j of a slab is
--        rg rows x 4 consecutive columns: what one dot-product-of-4
--        instruction (vpdpbusd / pmaddubsw) reads.
--        code6 (int6 only, Q6_K's precision) stores 4 planes (16 columns)
--        in 3 such rg x 4-byte parts: part 0 holds the low nibbles of
--        planes 0 (low nibble of the byte) and 1 (high nibble), part 1 those
--        of planes 2 and 3, part 2 the high 2 bits of plane j in bits 2j,
--        2j+1: u = (nibble) | (2 bits) << 4, a shift and a mask or two per
--        plane.  One slab (16 columns, 3 rg x 4 bytes) is one sub-block.
--   lut  bit-planes of u (T-MAC): for each plane p a slab is rg x q bytes
--        covering 8q columns in groups of g (g divides 8); byte column i
--        holds 8/g fields of g bits, field k (bits kg .. kg+g-1) bit p of u
--        for the g columns of group kq + i (g = 4: the low nibble group i,
--        the high nibble group q + i).  A kernel looks each field up in a
--        table of the 2^g subset sums of that group's activations.
--        `order` is "rq" (byte r*q + i) or "qr" (byte i*rg + r).
--        `table` is the precision of those tables, which the packed bytes
--        do not depend on but the kernel's results do:
--          i16  exact int16 subset sums;
--          i8   T-MAC-style lossy tables, one scale per token: M = the
--               largest |subset sum| of the token's groups, entry
--               e = sign(s) * floor((254|s| + M) / 2M), i.e. s*127/M rounded
--               half away from zero (0 when M = 0).  Lookups add up exactly
--               in int32; the offset correction uses the sum of the groups'
--               all-ones entries (the quantized sum of x), so a code u =
--               offset (w = 0) contributes exactly 0, and the result is
--               scaled by M/127: x_scale * ((float)M / 127.0f) replaces the
--               token's x_scale.  Every ISA computes exactly these entries
--               (the SIMD ones in float, shown exact in their templates).
--        (In templates, `table` and `g` are these parameters: Lua's table
--        library is not reachable by that name there.)
-- After the codes, 64-byte aligned: the scale, one f32 for a per-tensor
-- scale (sb = 0), else one f16 per row and block of sb columns stored
-- [row group][block][rg].
-- int6 has Q6_K's two levels of scales: between the codes and the f16
-- scales (sb = 256 columns, a super-block), 64-byte aligned, an int8 scale
-- sc per row and sub-block of `sub` = 16 columns (a slab), stored
-- [row group][sub-block][rg]; w = d * sc * (u - 32).  Codes, sub-scales and
-- super-block scales take 6 + 8/16 + 16/256 = 6.5625 bits per weight, as
-- Q6_K.  The kernel contract, per row and super-block: the integer
-- isum = sum over its sub-blocks of sc * (sum(u*x) - 32 * sum(x)), exact in
-- int32 (|sc| <= 128, |u - 32| <= 32, |x| <= 128: at most 16 * 2^23 =
-- 2^27), then out = fmaf(d, (float)isum, out) in super-block order, and
-- finally out * x_scale.  Q6_K blocks re-encode losslessly (runtime/pack.c).
--
-- Every derived size goes into the layout key, so runtime/pack.c packs
-- exactly what the kernel reads, and a blob records what it was packed for.

local M = {}

M.wtypes = {
  ternary = { offset = 1, bits = 2, qmin = -1, qmax = 1 },
  int2 = { offset = 2, bits = 2, qmin = -2, qmax = 1 },
  int4 = { offset = 8, bits = 4, qmin = -8, qmax = 7 },
  int6 = { offset = 32, bits = 6, qmin = -32, qmax = 31 },
}

-- codes per byte column of a mad slab (code6: 4 planes in 3 byte columns' parts)
local codes_per_byte = { code2 = 4, code4 = 2, trit5 = 5, code6 = 4 }
-- int6's sub-block and super-block (Q6_K's)
M.int6_sub, M.int6_super = 16, 256

local function round_up(x, m) return (x + m - 1) // m * m end

local function fail(p, msg) error(string.format("%s: %s", p.name or "linear", msg), 0) end

-- Columns one slab covers.
function M.slab_cols(p)
  if p.family == "mad" then return 4 * codes_per_byte[p.encoding] end
  return 8 * p.q
end

-- Fill in the derived layout fields of a low-bit linear instance's params
-- (family, wtype, encoding, rows, cols, rg, q, order, scale_block set).
function M.derive(p)
  local wt = M.wtypes[p.wtype]
  if not wt then fail(p, "unknown low-bit weight type '" .. tostring(p.wtype) .. "'") end
  if p.family == "mad" then
    if not codes_per_byte[p.encoding] then fail(p, "unknown mad encoding '" .. tostring(p.encoding) .. "'") end
    if p.encoding == "trit5" and p.wtype ~= "ternary" then fail(p, "trit5 encodes ternary weights only") end
    if p.encoding == "code2" and wt.bits ~= 2 then fail(p, "code2 holds 2-bit weights only") end
    if p.encoding == "code4" and wt.bits > 4 then fail(p, "code4 holds at most 4-bit weights") end
    if (p.encoding == "code6") ~= (p.wtype == "int6") then fail(p, "int6 weights are stored as code6, and only they") end
    if p.wtype == "int6" and p.scale_block ~= M.int6_super then
      fail(p, string.format("int6 super-blocks are %d columns (Q6_K's)", M.int6_super))
    end
    p.q, p.order = 4, "rq"
  elseif p.family == "lut" then
    p.encoding = "planes"
    if math.type(p.g) ~= "integer" or p.g < 1 or 8 % p.g ~= 0 then
      fail(p, "lut group size g must divide 8 (a byte holds whole groups)")
    end
    if p.table ~= "i16" and p.table ~= "i8" then fail(p, "lut table must be i16 or i8") end
    if p.order ~= "rq" and p.order ~= "qr" then fail(p, "lut order must be rq or qr") end
    if p.wtype == "int6" then fail(p, "int6 has sub-block scales: mad code6 only") end
  else
    fail(p, "unknown low-bit family '" .. tostring(p.family) .. "'")
  end
  p.offset, p.bits, p.qmin, p.qmax = wt.offset, wt.bits, wt.qmin, wt.qmax
  p.per_tensor = p.wtype == "ternary"
  p.sb = p.per_tensor and 0 or p.scale_block
  p.slab_cols = M.slab_cols(p)
  if not p.per_tensor and (math.type(p.sb) ~= "integer" or p.sb <= 0 or p.sb % p.slab_cols ~= 0) then
    fail(p, string.format("scale_block must be a positive multiple of %d columns", p.slab_cols))
  end
  p.rows_pad = round_up(p.rows, p.rg)
  p.cols_pad = round_up(p.cols, p.per_tensor and p.slab_cols or p.sb)  -- whole slabs and scale blocks
  p.groups = p.rows_pad // p.rg
  p.slabs = p.cols_pad // p.slab_cols
  if p.encoding == "code6" then
    p.slab_bytes = p.rg * 12
  elseif p.family == "mad" then
    p.slab_bytes = p.rg * 4
  else
    p.slab_bytes = p.rg * p.q * p.bits  -- all planes of one slab
  end
  p.code_bytes = p.groups * p.slabs * p.slab_bytes
  p.scale_offset = round_up(p.code_bytes, 64)
  if p.encoding == "code6" then  -- int8 sub-block scales, then the f16 ones
    p.sub, p.subs = M.int6_sub, p.cols_pad // M.int6_sub
    p.sub_offset = p.scale_offset
    p.scale_offset = round_up(p.sub_offset + p.rows_pad * p.subs, 64)
  end
  p.blocks = p.per_tensor and 1 or p.cols_pad // p.sb
  p.packed_bytes = p.scale_offset + round_up(p.per_tensor and 4 or p.rows_pad * p.blocks * 2, 64)
  p.layout = string.format("lowbit family=%s enc=%s wtype=%s rows=%d cols=%d rows_pad=%d cols_pad=%d rg=%d q=%d order=%s sb=%d",
    p.family, p.encoding, p.wtype, p.rows, p.cols, p.rows_pad, p.cols_pad, p.rg, p.q, p.order, p.sb)
  if p.family == "lut" then p.layout = p.layout .. string.format(" g=%d table=%s", p.g, p.table) end
  if p.encoding == "code6" then p.layout = p.layout .. string.format(" sub=%d", p.sub) end
  return p
end

-- Instance name: weight type, family and shape.
function M.name(wtype, family, rows, cols)
  return string.format("linear_%s_%s_%dx%d", wtype, family, rows, cols)
end

-- Shape and layout choices of one instance before blocking parameters:
-- the variant (family, encoding, scale_block) the ISA's defaults pick for
-- this weight type, overlaid with `variant` (the tuning database's choice,
-- or nil); trit5 needs VBMI byte permutes and falls back to code2.
function M.shape(isa, features, wtype, rows, cols, variant)
  local choice = {}
  for k, v in pairs(isa.defaults.lowbit[wtype]) do choice[k] = v end
  for k, v in pairs(variant or {}) do choice[k] = v end
  local family = choice.family
  local has = {}
  for _, f in ipairs(features or {}) do has[f] = true end
  local shape = { rows = rows, cols = cols, wtype = wtype, family = family,
                  vnni = has.vnni or false, vbmi = has.vbmi or false, gfni = has.gfni or false }
  if family == "mad" then
    shape.encoding = choice.encoding
    if shape.encoding == "trit5" and isa.name == "avx512" and not shape.vbmi then shape.encoding = "code2" end
    if shape.encoding == "trit5" and isa.name == "avx2" then shape.encoding = "code2" end
  end
  shape.scale_block = choice.scale_block
  return shape
end

-- Activations of the low-bit linear layers are quantized to int8 once per
-- token (absmax, as BitNet: quantize_blocks with one block per token) and
-- shared by every layer that reads them, so their row stride is the widest
-- padding any of those layers needs.  Sets x_stride on each low-bit
-- instance and returns the quantizer instance per column count.
function M.attach_quantizers(plan, add)
  local stride = {}
  for _, k in ipairs(plan.kernels) do
    if k.kind == "linear_mad" or k.kind == "linear_lut" then
      stride[k.params.cols] = math.max(stride[k.params.cols] or 0, k.params.cols_pad)
    end
  end
  local quantizers = {}
  for _, k in ipairs(plan.kernels) do
    if k.kind == "linear_mad" or k.kind == "linear_lut" then
      local cols = k.params.cols
      k.params.x_stride = stride[cols]
      quantizers[cols] = add("quantize_blocks", string.format("quantize_act_%d", cols),
        { n = cols, block = stride[cols], stride = stride[cols] })
    end
  end
  return quantizers
end

-- A standalone instance (for the odd-shape tests and the benchmark, outside
-- a model's plan): the ISA's defaults, the given family and encoding (and
-- for lut, spec.table and spec.g if given), its own padding as activation
-- stride.  `signatures` is plan.signatures.
function M.instance(isa, features, signatures, spec)
  local p = M.shape(isa, features, spec.wtype, spec.rows, spec.cols,
    { family = spec.family, encoding = spec.encoding })
  for k, v in pairs(isa.defaults["linear_" .. spec.family]) do p[k] = v end
  if spec.family == "lut" then
    p.table, p.g = spec.table or p.table, spec.g or p.g
  end
  p.name = spec.name
  M.derive(p)
  p.x_stride = p.cols_pad
  local kind = "linear_" .. spec.family
  return { kind = kind, name = p.name, params = p, source = "default",
           signature = string.format(signatures[kind], p.name) }
end

-- Encodings each ISA's mad template implements, per weight type: trit5
-- needs byte permutes (VBMI on x86; plain C on scalar).
function M.mad_encodings(isa, features, wtype)
  if wtype == "int2" then return { "code2" } end
  if wtype == "int4" then return { "code4" } end
  if wtype == "int6" then return { "code6" } end
  local has_vbmi = false
  for _, f in ipairs(features or {}) do has_vbmi = has_vbmi or f == "vbmi" end
  if isa.name == "scalar" or (isa.name == "avx512" and has_vbmi) then return { "code2", "trit5" } end
  return { "code2" }
end

return M
