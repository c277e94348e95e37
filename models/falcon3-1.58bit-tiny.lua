-- Falcon3-1.58bit's layout (models/falcon3-1b-1.58bit.lua: the llama
-- architecture with ternary layers, head dimension 256, RoPE base 1000042,
-- norm epsilon 1e-6, untied int6 head) at toy shapes, for end-to-end tests
-- on synthetic weights.
return {
  base = "falcon3-1b-1.58bit",
  name = "falcon3-1.58bit-tiny",
  description = "tiny Falcon3 1.58-bit layout for tests",
  dim = 512,
  hidden_dim = 1024,
  n_layers = 2,
  n_heads = 2,
  n_kv_heads = 1,
  vocab_size = 512,
  seq_len = 256,
  files = { weights = "falcon3-1.58bit-tiny.gguf" },
}
