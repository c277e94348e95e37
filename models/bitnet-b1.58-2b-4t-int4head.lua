-- Microsoft's BitNet b1.58 2B4T (models/bitnet-b1.58-2b-4t.lua) with a
-- smaller output head: the speed/precision trade for decode.
-- The GGUF (llama.cpp names, arch "bitnet-b1.58") carries its own vocabulary.
return {
  name = "bitnet-b1.58-2b-4t-int4head",
  description = "BitNet b1.58 2B4T, int4 head",
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
  -- The tied head in int4 (blocks of 64 columns, an f16 scale each): 174 MB
  -- read per token instead of int8's 329 MB, for coarser logits.  The GGUF
  -- is bitnet-b1.58-2b-4t's.
  weights = { linear = "ternary", embedding = "int4", output = "int4", kv_cache = "f16" },
  files = { weights = "bitnet-b1.58-2b-4t.gguf" },
  prompt = "Once upon a time",
}
