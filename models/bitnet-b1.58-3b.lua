-- 1bitLLM's bitnet_b1_58-3B, the largest reproduction of the BitNet b1.58
-- paper: bitnet_b1_58-large's layout (llama.cpp's `bitnet` architecture:
-- ternary layers, SiLU-gated FFN, sub-layer norms, untied head) at 3.3B
-- parameters.  Its widths are no multiples of 256 (3200, 8640; head
-- dimension 100): the packed layouts pad them.
return {
  name = "bitnet-b1.58-3b",
  description = "BitNet b1.58 3B",
  arch = "bitnet",
  dim = 3200,
  hidden_dim = 8640,
  n_layers = 26,
  n_heads = 32,
  n_kv_heads = 32,
  vocab_size = 32002,
  seq_len = 2048,
  norm_eps = 1e-5,
  rope_theta = 10000.0,
  activation = "silu",
  tied_embedding = false,
  -- as bitnet_b1_58-large: the untied head read as int6, the embedding f16
  weights = { linear = "ternary", embedding = "f16", output = "int6", kv_cache = "f16" },
  files = { weights = "bitnet_b1_58-3B.gguf" },
  prompt = "Once upon a time",
}
