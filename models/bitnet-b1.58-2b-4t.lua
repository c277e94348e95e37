-- Microsoft's BitNet b1.58 2B4T: ternary linear layers, squared-ReLU gated FFN,
-- sub-layer norms, output head tied to the token embedding.
-- The GGUF (llama.cpp names, arch "bitnet-b1.58") carries its own vocabulary.
return {
  name = "bitnet-b1.58-2b-4t",
  description = "BitNet b1.58 2B4T",
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
  -- The tied head is the largest tensor read per token: one int6 copy in
  -- Q6_K's structure (6.5625 bits per weight, 269 MB instead of int8's 329
  -- MB) serves both the head and the embedding lookup.  The Q6_K head of a
  -- llama.cpp-quantized GGUF is copied exactly; other types are quantized
  -- to it (runtime/pack.h).  models/bitnet-b1.58-2b-4t-int8head.lua keeps
  -- the int8 head.
  weights = { linear = "ternary", embedding = "int6", output = "int6", kv_cache = "f16" },
  files = { weights = "bitnet-b1.58-2b-4t.gguf" },
  prompt = "Once upon a time",
}
