-- bitnet-tiny with its tied embedding / output head in int4 (blocks of 64
-- columns, an f16 scale each) instead of int8: the end-to-end test of the
-- low-bit head.  Reads the same synthetic GGUF as bitnet-tiny.
return {
  base = "bitnet-tiny",
  name = "bitnet-tiny-int4head",
  description = "tiny BitNet b1.58 for tests, int4 head",
  weights = { embedding = "int4", output = "int4" },
}
