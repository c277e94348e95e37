-- A llama with int4 linear weights and widths that are no multiple of any
-- slab or scale block (96, 200): the low-bit forward check's second model
-- (gen/linear_tests.lua --model).  Its weights file is never read.
return {
  name = "llama-int4-odd",
  description = "llama with int4 linear layers at odd widths, for tests",
  arch = "llama",
  dim = 96,
  hidden_dim = 200,
  n_layers = 1,
  n_heads = 4,
  n_kv_heads = 2,
  vocab_size = 64,
  seq_len = 32,
  tied_embedding = true,
  weights = { linear = "int4" },
  files = { weights = "unused.gguf" },
}
