-- TII's Falcon3-3B-Instruct-1.58bit: Falcon 3 3B fine-tuned to ternary
-- weights (BitNet's per-token int8 activations), in the `llama`
-- architecture: SiLU-gated FFN, no sub-layer norms, head dimension 256,
-- RoPE base 1000042, a 131072-token byte-level BPE vocabulary.
return {
  name = "falcon3-3b-1.58bit",
  description = "Falcon3 3B Instruct 1.58-bit",
  arch = "llama",
  dim = 3072,
  hidden_dim = 9216,
  n_layers = 22,
  n_heads = 12,
  n_kv_heads = 4,
  vocab_size = 131072,
  seq_len = 4096,  -- of 32768: the KV cache reserved, raise it for longer contexts
  norm_eps = 1e-6,
  rope_theta = 1000042.0,
  activation = "silu",
  tied_embedding = false,
  weights = { linear = "ternary", embedding = "f16", output = "int6", kv_cache = "f16" },
  files = { weights = "Falcon3-3B-Instruct-1.58bit.gguf" },
  prompt = "Once upon a time",
}
