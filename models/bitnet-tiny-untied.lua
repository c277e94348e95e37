-- bitnet-tiny with an untied head, as bitnet_b1_58-large has: an f16
-- embedding and its own output.weight, read as int6 (Q6_K's structure).
-- The end-to-end test of an untied low-bit head, on its own synthetic GGUF
-- (build/tools/mkmodel writes output.weight for an untied description).
return {
  base = "bitnet-tiny",
  name = "bitnet-tiny-untied",
  description = "tiny BitNet b1.58 for tests, untied int6 head",
  tied_embedding = false,
  weights = { embedding = "f16", output = "int6" },
  files = { weights = "bitnet-tiny-untied.gguf" },
}
