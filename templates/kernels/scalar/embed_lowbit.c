//@ assert(family == "mad" and (encoding == "code2" or encoding == "code4" or encoding == "code6") and not per_tensor,
//@   name .. ": the lookup reads mad code2/code4/code6 layouts with block scales")
//@ local code6 = encoding == "code6"
/* out[t] = row tokens[t] of the {{rows}} x {{cols}} {{wtype}} matrix in its packed layout
 * "{{layout}}" (gen/lowbit.lua), dequantized: a tied embedding reads the
 * output head's own packed copy, one row per token.  Byte (r, q) of a slab
//@ if code6 then
 * part holds row r's codes of columns 4j + q: the low nibbles of planes j = 0, 1
 * in part 0, of 2, 3 in part 1, their high 2 bits in part 2.  Values are
 * d * sc * (u - 32) in that order, as dequant_q6_k (runtime/quant.c) forms
 * them: a Q6_K tensor's own values. */
//@ else
 * holds row r's codes of columns 4j + q in its {{bits}}-bit field j. */
//@ end
void {{name}}(float *restrict out, const uint8_t *restrict w, const int *restrict tokens, int n)
{
    for (int t = 0; t < n; t++) {
        const size_t g = (size_t)tokens[t] / {{rg}}, r = (size_t)tokens[t] % {{rg}};
        for (int b = 0; b < {{blocks}}; b++) {
            uint16_t d;
            memcpy(&d, w + {{scale_offset}} + ((g * {{blocks}} + (size_t)b) * {{rg}} + r) * 2, 2);
            const float scale = f16_to_f32(d);
            for (int c = b * {{sb}}; c < (b + 1) * {{sb}} && c < {{cols}}; c++) {
//@ if code6 then
                const uint8_t *slab = w + (g * {{slabs}} + (size_t)(c / {{slab_cols}})) * {{slab_bytes}} + r * 4 + (size_t)(c % 4);
                const int j = c % {{slab_cols}} / 4;
                const int u = (slab[j / 2 * {{rg * 4}}] >> (4 * (j % 2)) & 15) | (slab[{{2 * rg * 4}}] >> (2 * j) & 3) << 4;
                const int8_t sc = (int8_t)w[{{sub_offset}} + (g * {{subs}} + (size_t)(c / {{sub}})) * {{rg}} + r];
                out[(size_t)t * {{cols}} + c] = scale * (float)sc * (float)(u - {{offset}});
//@ else
                const unsigned byte = w[(g * {{slabs}} + (size_t)(c / {{slab_cols}})) * {{slab_bytes}} + r * 4 + (size_t)(c % 4)];
                const int code = (int)(byte >> ({{bits}} * (c % {{slab_cols}} / 4)) & {{(1 << bits) - 1}}) - {{offset}};
                out[(size_t)t * {{cols}} + c] = (float)code * scale;
//@ end
            }
        }
    }
}
