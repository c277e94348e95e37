-- bitnet-tiny with an untied head, as bitnet_b1_58-large has: an f16
-- embedding and its own output.weight, read as int6 (Q6_K's structure).
-- The end-to-end test of an untied low-bit head, on its own synthetic GGUF
-- (build/tools/mkmodel writes output.weight for an untied description).
return {
  name = "bitnet-tiny-untied",
  description = "tiny BitNet b1.58 for tests, untied int6 head",
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
  tied_embedding = false,
  weights = { linear = "ternary", embedding = "f16", output = "int6", kv_cache = "f16" },
  files = { weights = "bitnet-tiny-untied.gguf" },
}
