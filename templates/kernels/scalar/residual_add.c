/* x += delta over n rows of {{n}} */
void {{name}}(float *restrict x, const float *restrict delta, int n)
{
    for (size_t i = 0; i < (size_t)n * {{n}}; i++)
        x[i] += delta[i];
}
