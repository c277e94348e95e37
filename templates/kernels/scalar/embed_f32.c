/* out[t] = row tokens[t] of the {{rows}} x {{cols}} f32 embedding table */
void {{name}}(float *restrict out, const float *restrict table, const int *restrict tokens, int n)
{
    for (int t = 0; t < n; t++)
        memcpy(out + (size_t)t * {{cols}}, table + (size_t)tokens[t] * {{cols}}, {{cols}} * sizeof(float));
}
