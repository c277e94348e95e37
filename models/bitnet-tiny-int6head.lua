-- bitnet-tiny with its tied embedding / output head in int6 (Q6_K's
-- structure: an int8 scale per 16 columns, an f16 scale per 256) instead of
-- int8: the end-to-end test of the int6 head.  Reads the same synthetic GGUF
-- as bitnet-tiny.
return {
  name = "bitnet-tiny-int6head",
  description = "tiny BitNet b1.58 for tests, int6 head",
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
  weights = { linear = "ternary", embedding = "int6", output = "int6", kv_cache = "f16" },
  files = { weights = "bitnet-tiny.gguf" },
}
