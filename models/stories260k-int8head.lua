-- stories260k with its tied embedding / output head quantized to int8 at load
-- (the same checkpoint): measures what the low-bit head costs in quality
-- (README, "Quality of the lossy choices").
return {
  base = "stories260k",
  name = "stories260k-int8head",
  description = "TinyStories 260K, int8 head",
  weights = { embedding = "int8", output = "int8" },
}
