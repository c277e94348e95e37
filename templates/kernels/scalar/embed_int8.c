/* out[t] = row tokens[t] of the {{rows}} x {{cols}} int8 table (rows padded to
 * {{stride}}) times that row's scale.  When the head is tied to the embedding
 * this is the head's own packed copy, dequantized one row at a time. */
void {{name}}(float *restrict out, const int8_t *restrict table, const float *restrict row_scale,
              const int *restrict tokens, int n)
{
    for (int t = 0; t < n; t++) {
        const int8_t *row = table + (size_t)tokens[t] * {{stride}};
        const float scale = row_scale[tokens[t]];
        for (int i = 0; i < {{cols}}; i++)
            out[(size_t)t * {{cols}} + i] = row[i] * scale;
    }
}
