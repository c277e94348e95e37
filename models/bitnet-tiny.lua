-- A tiny BitNet b1.58 (2B4T's layout at toy shapes) for fast end-to-end
-- tests on synthetic weights: build/tools/mkmodel models/bitnet-tiny.lua.
return {
  name = "bitnet-tiny",
  description = "tiny BitNet b1.58 for tests",
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
  weights = { linear = "ternary", embedding = "int8", output = "int8", kv_cache = "f16" },
  files = { weights = "bitnet-tiny.gguf" },
}
