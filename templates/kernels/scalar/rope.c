//@ local half = head_dim // 2
//@ if style == "neox" then
/* Rotate each pair (i, i + {{half}}) of every {{head_dim}}-wide head by the
 * position's angle for frequency i (tables precomputed per position): the
 * NEOX order, in which the halves of a head are the real and imaginary parts. */
//@ else
/* Rotate each adjacent pair (2i, 2i+1) of every {{head_dim}}-wide head by the
 * position's angle for frequency i (tables precomputed per position). */
//@ end
void {{name}}(float *restrict vec, int n_heads, const float *restrict cos_pos, const float *restrict sin_pos)
{
    for (int h = 0; h < n_heads; h++) {
        float *v = vec + h * {{head_dim}};
        for (int i = 0; i < {{half}}; i++) {
//@ if style == "neox" then
            const float v0 = v[i], v1 = v[i + {{half}}];
            v[i] = v0 * cos_pos[i] - v1 * sin_pos[i];
            v[i + {{half}}] = v0 * sin_pos[i] + v1 * cos_pos[i];
//@ else
            const float v0 = v[2 * i], v1 = v[2 * i + 1];
            v[2 * i] = v0 * cos_pos[i] - v1 * sin_pos[i];
            v[2 * i + 1] = v0 * sin_pos[i] + v1 * cos_pos[i];
//@ end
        }
    }
}
