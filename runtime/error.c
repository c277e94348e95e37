#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_error[512];
static const char *program_name = "ryot";

int ryot_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return -1;
}

const char *ryot_last_error(void) { return last_error; }

void ryot_set_program_name(const char *name) { program_name = name; }

void ryot_die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", program_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}
