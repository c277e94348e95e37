static int test_{{name}}(void)
{
    enum { HD = {{head_dim}}, HEADS = 3 };
    float v[HEADS * HD], ref[HEADS * HD], cos_pos[HD / 2], sin_pos[HD / 2];
    fill(v, HEADS * HD);
    const int pos = 37;
    for (int i = 0; i < HD / 2; i++) {
        const double angle = pos * pow(10000.0, -2.0 * i / HD);
        cos_pos[i] = (float)cos(angle);
        sin_pos[i] = (float)sin(angle);
    }
    /* reference: rotate the complex number (v[re] + i v[im]) by the angle,
     * where frequency i pairs elements {{style == "neox" and "i and i + HD/2" or "2i and 2i+1"}} ({{style}}) */
    for (int h = 0; h < HEADS; h++)
        for (int i = 0; i < HD / 2; i++) {
//@ if style == "neox" then
            const int re = h * HD + i, im = h * HD + i + HD / 2;
//@ else
            const int re = h * HD + 2 * i, im = h * HD + 2 * i + 1;
//@ end
            ref[re] = (float)(v[re] * (double)cos_pos[i] - v[im] * (double)sin_pos[i]);
            ref[im] = (float)(v[re] * (double)sin_pos[i] + v[im] * (double)cos_pos[i]);
        }
    {{name}}(v, HEADS, cos_pos, sin_pos);
    return check("{{name}}", "vs complex rotation ({{style}} pairs)", max_error(v, ref, HEADS * HD), 1e-6);
}
