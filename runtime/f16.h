/* IEEE half (f16) and bfloat16 <-> f32 conversions in portable C.
 *
 * Bit-exact: f16 -> f32 is exact for every value (NaN payloads kept);
 * f32 -> f16 and f32 -> bf16 round to nearest, ties to even, overflow to
 * infinity, and keep NaNs NaN.  Header-only so kernels and importers can
 * inline them. */
#ifndef RYOT_F16_H
#define RYOT_F16_H

#include <stdint.h>
#include <string.h>

static inline float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in f32 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31)
        return f32_from_bits(sign | 0x7f800000u | (mant << 13));
    return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
}

static inline uint16_t f32_to_f16(float f)
{
    uint32_t bits = f32_bits(f);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t abs = bits & 0x7fffffffu;
    if (abs > 0x7f800000u)  /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00 | ((abs >> 13) & 0x3ff));
    if (abs >= 0x477ff000u)  /* >= 65520 rounds past the largest half, 65504 */
        return (uint16_t)(sign | 0x7c00);
    if (abs < 0x38800000u) {  /* below 2^-14: half subnormal (or zero) */
        uint32_t e = abs >> 23;
        uint32_t shift = 126 - e;  /* value in units of 2^-24 is m >> shift */
        if (shift > 24)
            return sign;
        uint32_t m = (abs & 0x7fffffu) | 0x800000u;
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1)))
            q++;
        return (uint16_t)(sign | q);
    }
    uint32_t h = (abs - 0x38000000u) >> 13;  /* rebias exponent 127 -> 15 */
    uint32_t rem = abs & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
        h++;  /* a carry into the exponent is the correct rounding */
    return (uint16_t)(sign | h);
}

static inline float bf16_to_f32(uint16_t b)
{
    return f32_from_bits((uint32_t)b << 16);
}

static inline uint16_t f32_to_bf16(float f)
{
    uint32_t bits = f32_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((bits >> 16) | 0x40);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
}

#endif
