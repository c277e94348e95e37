-- bitnet-tiny with its tied embedding / output head in int4 (blocks of 64
-- columns, an f16 scale each) instead of int8: the end-to-end test of the
-- low-bit head.  Reads the same synthetic GGUF as bitnet-tiny.
return {
  name = "bitnet-tiny-int4head",
  description = "tiny BitNet b1.58 for tests, int4 head",
  arch = "bitnet",
  dim = 256,
  hidden_dim = 512,
  n_layers = 2,
  n_heads = 4,
  n_kv_heads = 2,
  vocab_size = 512,
  seq_len = 256,
  norm_eps = 1e-5,
  rope_theta = 500000.0,
  activation = "relu2",
  tied_embedding = true,
  weights = { linear = "ternary", embedding = "int4", output = "int4", kv_cache = "f16" },
  files = { weights = "bitnet-tiny.gguf" },
}
