/* out[t] = x[t] / rms(x[t]) * weight for each of n rows of {{n}} (eps {{eps}}) */
void {{name}}(float *restrict out, const float *restrict x, const float *restrict weight, int n)
{
    for (int t = 0; t < n; t++, x += {{n}}, out += {{n}}) {
        float ss = 0.0f;
        for (int i = 0; i < {{n}}; i++)
            ss += x[i] * x[i];
        const float inv = 1.0f / sqrtf(ss / {{n}} + {{eps}}f);
        for (int i = 0; i < {{n}}; i++)
            out[i] = x[i] * inv * weight[i];
    }
}
