-- bitnet_b1_58-3B's layout (models/bitnet-b1.58-3b.lua: SiLU, sub-layer
-- norms, untied int6 head, head dimension 100, widths no multiple of 256)
-- at toy shapes, for end-to-end tests on synthetic weights.
return {
  base = "bitnet-b1.58-3b",
  name = "bitnet-3b-tiny",
  description = "tiny BitNet b1.58 3B layout for tests",
  dim = 200,
  hidden_dim = 540,
  n_layers = 2,
  n_heads = 2,
  n_kv_heads = 2,
  vocab_size = 512,
  seq_len = 256,
  files = { weights = "bitnet-3b-tiny.gguf" },
}
