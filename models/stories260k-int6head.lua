-- stories260k with its tied embedding / output head quantized to int6 at load
-- (the same checkpoint): measures what the low-bit head costs in quality
-- (README, "Quality of the lossy choices").
return {
  base = "stories260k",
  name = "stories260k-int6head",
  description = "TinyStories 260K, int6 head",
  weights = { embedding = "int6", output = "int6" },
}
