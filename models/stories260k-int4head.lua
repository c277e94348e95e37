-- stories260k with its tied embedding / output head quantized to int4 at load
-- (the same checkpoint): measures what the low-bit head costs in quality
-- (README, "Quality of the lossy choices").
return {
  base = "stories260k",
  name = "stories260k-int4head",
  description = "TinyStories 260K, int4 head",
  weights = { embedding = "int4", output = "int4" },
}
