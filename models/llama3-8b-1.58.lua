-- HF1BitLLM's Llama3-8B-1.58-100B-tokens: Llama 3 8B fine-tuned to ternary
-- weights with BitNet's per-token int8 activations (its GGUFs carry the
-- `llama` architecture, layers in TQ1_0, TQ2_0 or I2_S), no sub-layer
-- norms, Llama 3's byte-level BPE vocabulary (EOS <|eot_id|> 128009).
return {
  name = "llama3-8b-1.58",
  description = "Llama3 8B 1.58-bit (100B tokens)",
  arch = "llama",
  dim = 4096,
  hidden_dim = 14336,
  n_layers = 32,
  n_heads = 32,
  n_kv_heads = 8,
  vocab_size = 128256,
  seq_len = 4096,
  norm_eps = 1e-5,
  rope_theta = 500000.0,
  activation = "silu",
  tied_embedding = false,
  weights = { linear = "ternary", embedding = "f16", output = "int6", kv_cache = "f16" },
  files = { weights = "Llama3-8B-1.58-100B-tokens.gguf" },
  prompt = "Once upon a time",
}
