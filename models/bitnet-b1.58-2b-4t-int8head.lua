-- Microsoft's BitNet b1.58 2B4T (models/bitnet-b1.58-2b-4t.lua) with the
-- earlier int8 output head: finer logits for more bytes read per token.
-- One int8 copy of the tied head (a scale per row, 329 MB read per token)
-- serves both the head and the embedding lookup.  Reads 2B4T's GGUF.
return {
  base = "bitnet-b1.58-2b-4t",
  name = "bitnet-b1.58-2b-4t-int8head",
  description = "BitNet b1.58 2B4T, int8 head",
  weights = { embedding = "int8", output = "int8" },
}
