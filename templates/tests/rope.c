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
    /* reference: rotate the complex number (v[2i] + i v[2i+1]) by the angle */
    for (int h = 0; h < HEADS; h++)
        for (int i = 0; i < HD / 2; i++) {
            const double re = v[h * HD + 2 * i], im = v[h * HD + 2 * i + 1];
            ref[h * HD + 2 * i] = (float)(re * cos_pos[i] - im * sin_pos[i]);
            ref[h * HD + 2 * i + 1] = (float)(re * sin_pos[i] + im * cos_pos[i]);
        }
    {{name}}(v, HEADS, cos_pos, sin_pos);
    return check("{{name}}", "vs complex rotation", max_error(v, ref, HEADS * HD), 1e-6);
}
