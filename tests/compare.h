/* The one way test comparisons accumulate their worst error.
 *
 * `if (d > worst)` and fmax() both drop a NaN, and `if (!(d <= worst))`
 * keeps it only until the next finite error overwrites it, so a kernel
 * writing NaN into one element could pass.  worse() is sticky: once an
 * error is NaN (a NaN, or an infinity on either side of a difference, in
 * the result or the reference), the worst stays NaN, which no tolerance
 * accepts (`worst <= tol` is false). */
#ifndef RYOT_TEST_COMPARE_H
#define RYOT_TEST_COMPARE_H

#include <math.h>

static inline double worse(double worst, double err)
{
    if (isnan(worst) || isnan(err))
        return NAN;
    return err > worst ? err : worst;
}

#endif
