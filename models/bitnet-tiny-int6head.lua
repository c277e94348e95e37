-- bitnet-tiny with its tied embedding / output head in int6 (Q6_K's
-- structure: an int8 scale per 16 columns, an f16 scale per 256) instead of
-- int8: the end-to-end test of the int6 head.  Reads the same synthetic GGUF
-- as bitnet-tiny.
return {
  base = "bitnet-tiny",
  name = "bitnet-tiny-int6head",
  description = "tiny BitNet b1.58 for tests, int6 head",
  weights = { embedding = "int6", output = "int6" },
}
