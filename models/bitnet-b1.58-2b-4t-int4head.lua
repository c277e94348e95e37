-- Microsoft's BitNet b1.58 2B4T (models/bitnet-b1.58-2b-4t.lua) with a
-- smaller output head: the speed/precision trade for decode.  The tied head
-- in int4 (blocks of 64 columns, an f16 scale each): 174 MB read per token
-- instead of int8's 329 MB, for coarser logits.  Reads 2B4T's GGUF.
return {
  base = "bitnet-b1.58-2b-4t",
  name = "bitnet-b1.58-2b-4t-int4head",
  description = "BitNet b1.58 2B4T, int4 head",
  weights = { embedding = "int4", output = "int4" },
}
