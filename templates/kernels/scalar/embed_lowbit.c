//@ assert(family == "mad" and (encoding == "code2" or encoding == "code4") and not per_tensor,
//@   name .. ": the lookup reads mad code2/code4 layouts with block scales")
/* out[t] = row tokens[t] of the {{rows}} x {{cols}} {{wtype}} matrix in its packed layout
 * "{{layout}}" (gen/lowbit.lua), dequantized: a tied embedding reads the
 * output head's own packed copy, one row per token.  Byte (r, q) of a slab
 * holds row r's codes of columns 4j + q in its {{bits}}-bit field j. */
void {{name}}(float *restrict out, const uint8_t *restrict w, const int *restrict tokens, int n)
{
    for (int t = 0; t < n; t++) {
        const size_t g = (size_t)tokens[t] / {{rg}}, r = (size_t)tokens[t] % {{rg}};
        for (int b = 0; b < {{blocks}}; b++) {
            uint16_t d;
            memcpy(&d, w + {{scale_offset}} + ((g * {{blocks}} + (size_t)b) * {{rg}} + r) * 2, 2);
            const float scale = f16_to_f32(d);
            for (int c = b * {{sb}}; c < (b + 1) * {{sb}} && c < {{cols}}; c++) {
                const unsigned byte = w[(g * {{slabs}} + (size_t)(c / {{slab_cols}})) * {{slab_bytes}} + r * 4 + (size_t)(c % 4)];
                const int code = (int)(byte >> ({{bits}} * (c % {{slab_cols}} / 4)) & {{(1 << bits) - 1}}) - {{offset}};
                out[(size_t)t * {{cols}} + c] = (float)code * scale;
            }
        }
    }
}
