/* Quantize n rows of {{n}} floats to int8 in blocks of {{block}} columns for
 * the int8 output head: per block, scale = absmax / 127 and
 * q = round(x * (127 / absmax)), ties to even, so |q| <= 127.  Rows are
 * padded with zeros to {{stride}} columns ({{stride // block}} scales per row). */
void {{name}}(int8_t *restrict q, float *restrict scale, const float *restrict x, int n)
{
    for (int t = 0; t < n; t++, x += {{n}}, q += {{stride}}, scale += {{stride // block}}) {
        for (int b = 0; b < {{stride // block}}; b++) {
            const int lo = b * {{block}}, hi = lo + {{block}} < {{n}} ? lo + {{block}} : {{n}};
            /* 16 running maxima (a zmm, two ymm): a single one is a serial
             * chain the compiler keeps scalar, and on the decode path this
             * kernel runs while the other threads wait */
            float part[16] = { 0 };
            int i = lo;
            for (; i + 16 <= hi; i += 16)
                for (int j = 0; j < 16; j++)
                    part[j] = fabsf(x[i + j]) > part[j] ? fabsf(x[i + j]) : part[j];
            for (; i < hi; i++)
                part[0] = fabsf(x[i]) > part[0] ? fabsf(x[i]) : part[0];
            float absmax = 0.0f;
            for (int j = 0; j < 16; j++)
                absmax = part[j] > absmax ? part[j] : absmax;
            const float inv = absmax > 0.0f ? 127.0f / absmax : 0.0f;
            scale[b] = absmax / 127.0f;
            for (i = lo; i < hi; i++)
                q[i] = (int8_t)nearbyintf(x[i] * inv);
            for (i = hi; i < lo + {{block}}; i++)
                q[i] = 0;
        }
    }
}
