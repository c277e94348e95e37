/* out[t] = row tokens[t] of the {{rows}} x {{cols}} f16 embedding table, as f32 */
void {{name}}(float *restrict out, const uint16_t *restrict table, const int *restrict tokens, int n)
{
    for (int t = 0; t < n; t++) {
        const uint16_t *row = table + (size_t)tokens[t] * {{cols}};
        for (int i = 0; i < {{cols}}; i++)
            out[(size_t)t * {{cols}} + i] = f16_to_f32(row[i]);
    }
}
