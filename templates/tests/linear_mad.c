#include "lowbit_check.h"

static int test_{{name}}(void)
{
    return lowbit_check("{{name}}", {{name}}, "{{layout}}", {{x_stride}}, {{token_tile}});
}
