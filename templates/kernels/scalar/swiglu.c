/* gate = silu(gate) * up over n rows of {{n}} */
void {{name}}(float *restrict gate, const float *restrict up, int n)
{
    for (size_t i = 0; i < (size_t)n * {{n}}; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
