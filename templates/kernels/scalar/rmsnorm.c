/* out[t] = x[t] / rms(x[t]) * weight for each of n rows of {{n}} (eps {{eps}}).
 * The sum of squares runs in 16 independent partial sums (a zmm, two ymm):
 * one running float sum has a fixed order and cannot be vectorized, and on
 * the decode path this kernel runs while the other threads wait. */
void {{name}}(float *restrict out, const float *restrict x, const float *restrict weight, int n)
{
    enum { LANES = 16 };
    for (int t = 0; t < n; t++, x += {{n}}, out += {{n}}) {
        float part[LANES] = { 0 };
        int i = 0;
        for (; i + LANES <= {{n}}; i += LANES)
            for (int j = 0; j < LANES; j++)
                part[j] += x[i + j] * x[i + j];
        for (; i < {{n}}; i++)
            part[0] += x[i] * x[i];
        for (int width = LANES / 2; width > 0; width /= 2)
            for (int j = 0; j < width; j++)
                part[j] += part[j + width];
        const float inv = 1.0f / sqrtf(part[0] / {{n}} + {{eps}}f);
        for (i = 0; i < {{n}}; i++)
            out[i] = x[i] * inv * weight[i];
    }
}
