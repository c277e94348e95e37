-- stories260k with its linear layers quantized to int4 at load (an f16
-- scale per 64 columns) and run by the LUT kernels with i8 tables
-- (gen/lowbit.lua: i16 sums are exact, i8 ones are rounded per token):
-- measures what the lossy table costs in quality (README).
return {
  base = "stories260k",
  name = "stories260k-int4-lut-i8",
  description = "TinyStories 260K, int4 layers, LUT i8 tables",
  weights = { linear = "int4" },
  kernels = { linear = { family = "lut", table = "i8" } },
}
