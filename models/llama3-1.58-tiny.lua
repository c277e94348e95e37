-- Llama3-8B-1.58's layout (models/llama3-8b-1.58.lua: the llama
-- architecture with ternary layers and int8 activations, no sub-layer
-- norms, grouped-query attention 4:1, untied int6 head) at toy shapes,
-- for end-to-end tests on synthetic weights.
return {
  base = "llama3-8b-1.58",
  name = "llama3-1.58-tiny",
  description = "tiny Llama3 1.58-bit layout for tests",
  dim = 256,
  hidden_dim = 1024,
  n_layers = 2,
  n_heads = 8,
  n_kv_heads = 2,
  vocab_size = 512,
  seq_len = 256,
  files = { weights = "llama3-1.58-tiny.gguf" },
}
