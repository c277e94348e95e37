-- Microsoft's BitNet b1.58 2B4T (models/bitnet-b1.58-2b-4t.lua) with the
-- earlier int8 output head: finer logits for more bytes read per token.
-- The GGUF (llama.cpp names, arch "bitnet-b1.58") carries its own vocabulary.
return {
  name = "bitnet-b1.58-2b-4t-int8head",
  description = "BitNet b1.58 2B4T, int8 head",
  arch = "bitnet",
  dim = 2560,
  hidden_dim = 6912,
  n_layers = 30,
  n_heads = 20,
  n_kv_heads = 5,
  vocab_size = 128256,
  seq_len = 4096,
  norm_eps = 1e-5,
  rope_theta = 500000.0,
  activation = "relu2",
  tied_embedding = true,
  -- One int8 copy of the tied head (a scale per row, 329 MB read per token)
  -- serves both the head and the embedding lookup.  The GGUF is
  -- bitnet-b1.58-2b-4t's.
  weights = { linear = "ternary", embedding = "int8", output = "int8", kv_cache = "f16" },
  files = { weights = "bitnet-b1.58-2b-4t.gguf" },
  prompt = "Once upon a time",
}
