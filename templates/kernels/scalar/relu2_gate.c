/* gate = relu(gate)^2 * up over n rows of {{n}} (BitNet b1.58 2B4T's squared-ReLU gated FFN) */
void {{name}}(float *restrict gate, const float *restrict up, int n)
{
    for (size_t i = 0; i < (size_t)n * {{n}}; i++) {
        const float g = gate[i] > 0.0f ? gate[i] : 0.0f;
        gate[i] = g * g * up[i];
    }
}
