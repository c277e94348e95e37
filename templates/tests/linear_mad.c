#include "lowbit_check.h"

static int test_{{name}}(void)
{
    int ok = lowbit_check("{{name}}", {{name}}, "{{layout}}", {{x_stride}}, {{token_tile}});
//@ if rows * cols <= (1 << 26) then
    /* the pair entry serves layers (k and v, gate and up), not output heads */
    ok &= lowbit_check_pair("{{name}}", {{name}}, {{name}}_pair, "{{layout}}", {{x_stride}});
//@ end
    return ok;
}
