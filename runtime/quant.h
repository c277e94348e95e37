/* Block-quantized tensor formats (GGUF's Q8_0, Q4_0, Q4_K, Q6_K, TQ1_0,
 * TQ2_0, bitnet.cpp's I2_S): conversion to f32.  Implemented in
 * runtime/quant.c. */
#ifndef RYOT_QUANT_H
#define RYOT_QUANT_H

#include <stdint.h>

#include "tensor.h"

/* Dequantize `n` elements (a multiple of dtype_block_elems(t)) stored as
 * whole blocks of type `t` at `src` into dst.  Returns 0, or -1 with a
 * message when `t` is not a block-quantized type, n is not a whole number
 * of blocks or a block holds no values (an I2_S code 3).  I2_S gives
 * code - 1: its scale is the tensor's. */
int dequantize_row(enum dtype t, const void *src, float *dst, int64_t n);

/* The stored codes of `nblocks` whole TQ1_0, TQ2_0 or I2_S blocks at
 * `src`, without floats: with B = dtype_block_elems(t) (256, or 128 for
 * I2_S), codes[B * i + k] in 0..3 (element k of block i is d[i] * (code - 1)
 * times the tensor's scale), each block's scale d[i] (its f16 as f32; 1
 * for I2_S) and, unless `present` is NULL, the codes that occur in it (bit
 * c of present[i] for code c).  Lets the packer re-encode ternary weights
 * without a float pass.  -1 with a message for any other type. */
int ternary_codes(enum dtype t, const void *src, int64_t nblocks, uint8_t *codes, float *d, uint8_t *present);

/* The stored values of `nblocks` whole Q6_K blocks at `src`: codes
 * u[256 * i + k] in 0..63, sub-scales sc[16 * i + j] (one per 16 elements)
 * and each block's f16 scale d[i] as its bits; element k of block i is
 * d[i] * sc[16 * i + k / 16] * (u - 32), as dequantize_row computes it. */
void q6_k_codes(const void *src, int64_t nblocks, uint8_t *u, int8_t *sc, uint16_t *d);

/* Quantize `n` f32 values (a multiple of dtype_block_elems(t)) into whole
 * blocks of type `t` at `dst`, the way ggml's reference quantizers do: F32,
 * F16, BF16 (round to nearest even), Q8_0 (scale absmax/127), TQ1_0 and
 * TQ2_0 (scale = block absmax, so ternary values times one f16 scale
 * re-encode exactly), I2_S (the codes only, each block rounded at its
 * absmax; the tensor's trailer is the caller's).  -1 with a message for
 * other types or a partial block. */
int quantize_row(enum dtype t, const float *src, void *dst, int64_t n);

#endif
