-- 1bitLLM's bitnet_b1_58-large (0.7B), the reproduction of the BitNet b1.58
-- paper: ternary linear layers, SiLU-gated FFN, sub-layer norms, untied head.
return {
  name = "bitnet-b1.58-large",
  description = "BitNet b1.58 large (0.7B)",
  arch = "bitnet",
  dim = 1536,
  hidden_dim = 4096,
  n_layers = 24,
  n_heads = 16,
  n_kv_heads = 16,
  vocab_size = 32002,
  seq_len = 2048,
  norm_eps = 1e-5,
  rope_theta = 10000.0,
  activation = "silu",
  tied_embedding = false,
  -- The untied head is read as int6 (Q6_K's structure, 6.5625 bits per
  -- weight: 40 MB instead of the f16 checkpoint's 98 MB per token); a Q6_K
  -- head, as llama.cpp's quantizer writes it, is copied exactly.  The
  -- embedding lookup reads one row per token and stays f16.
  weights = { linear = "ternary", embedding = "f16", output = "int6", kv_cache = "f16" },
  files = { weights = "bitnet-b1.58-large.gguf" },
  prompt = "Once upon a time",
}
